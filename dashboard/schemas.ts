import { z } from 'zod'
import { LEVELS } from '../alerting/rules/levels.js'
import { ROLES } from './users.js'

/**
 * Response shapes of the API, for the OpenAPI document at /docs (and checked on the way out).
 * Warnings are documented by their main fields; they carry their full record besides.
 */
export const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) })

export const userViewSchema = z.object({ id: z.string(), name: z.string(), role: z.enum(ROLES), mines: z.array(z.string()) })

export const alertViewSchema = z.looseObject({
  id: z.string(),
  mineId: z.string(),
  subject: z.object({ type: z.enum(['device', 'item', 'link']), id: z.string(), name: z.string() }),
  rule: z.string(),
  class: z.enum(['warning', 'offline', 'quality']),
  level: z.enum(LEVELS),
  peak: z.enum(LEVELS),
  state: z.enum(['open', 'acknowledged', 'assigned', 'resolved']),
  normal: z.boolean(),
  overdue: z.boolean(),
  message: z.string(),
  raisedTime: z.string(),
  deadlineTime: z.string(),
  timeZone: z.string(),
})

export const mineViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  region: z.string(),
  regionName: z.string(),
  status: z.enum(['producing', 'suspended']),
  location: z.looseObject({ lat: z.number(), lon: z.number() }),
  timeZone: z.string(),
  plan: z
    .object({ width: z.number(), height: z.number(), image: z.string(), positions: z.record(z.string(), z.object({ x: z.number(), y: z.number() })) })
    .nullable()
    .describe('the site plan drawing’s size in pixels and the devices’ places on it as fractions from its top left; null: none uploaded'),
  alerts: z.object({
    unresolved: z.number(),
    worst: z.enum(LEVELS).nullable(),
    overdue: z.number(),
    offline: z.number(),
    secretProduction: z.number().describe('open 明停暗开 warnings: power drawn while declared suspended'),
  }),
  devices: z.object({ known: z.number(), connected: z.number() }),
  reported: z
    .object({ open: z.number(), worst: z.enum(LEVELS).nullable(), overdue: z.number() })
    .describe('上报预警: the warnings the mine’s own platform reported and has not resolved (a regulator’s; zeros where none reports)'),
})
