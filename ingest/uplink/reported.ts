import { z } from 'zod'
import type { AlertEvent } from '../../alerting/book/alert.js'
import { LEVELS } from '../../alerting/rules/levels.js'
import { isId } from '../contract/ids.js'
import { parseJson } from '../decode.js'
import { problem, type Problem } from '../refusals.js'

/**
 * A mine platform's warning events as they go upstream (联网上报, docs/uplink.md "Warning events"):
 * each step of a warning at the mine (raised, level, normal, 签收, 指派, 处置, overdue) with the
 * warning as it stood after it. The regulator keeps them as the mine's own record of its warnings
 * (上报预警), apart from the warnings it raises itself from the forwarded readings.
 *
 * The event is the mine's AlertEvent without the rule's evidence (a series of readings, kilobytes
 * a warning), which stays at the mine: the regulator has the readings themselves.
 *
 * Pure: the schema, the conversion, and the decoding of a message (a JSON array of events).
 */
const text = (max: number) => z.string().max(max)
const id = z.string().refine(isId, { error: 'expected an id ([A-Za-z0-9_-], 1-64)' })
const epoch = z.number().int().min(0).max(8.64e15)
const level = z.enum(LEVELS)
const who = z.string().min(1).max(100)

export const reportedAlertSchema = z.object({
  id: text(100).min(1),
  mineId: id,
  subject: z.object({ type: z.enum(['device', 'item', 'link']), id: text(100).min(1), name: text(200) }),
  rule: text(100),
  ruleKind: text(50),
  class: z.enum(['warning', 'offline', 'quality']),
  level,
  peak: level,
  state: z.enum(['open', 'acknowledged', 'assigned', 'resolved']),
  normal: z.boolean(),
  raisedAt: epoch,
  updatedAt: epoch,
  deadline: epoch,
  overdue: z.boolean(),
  value: z.number(),
  threshold: z.number().optional(),
  unit: text(20),
  message: text(2000),
  acknowledged: z.object({ by: who, at: epoch }).optional(),
  assigned: z.object({ by: who, to: who, at: epoch }).optional(),
  resolved: z.object({ by: who, at: epoch, note: text(2000) }).optional(),
})

export const reportedEventSchema = z.object({
  type: z.enum(['raised', 'level', 'normal', 'acknowledged', 'assigned', 'resolved', 'overdue']),
  alertId: text(100).min(1),
  mineId: id,
  at: epoch,
  actor: who,
  alert: reportedAlertSchema,
})

export type ReportedAlert = z.infer<typeof reportedAlertSchema>
export type ReportedEvent = z.infer<typeof reportedEventSchema>

/** Events a message may carry at most (a mine sends 20, docs/uplink.md). */
export const MAX_REPORTED_BATCH = 200

/** The event as it goes upstream. */
export function reportedOf(e: AlertEvent): ReportedEvent {
  const a = e.alert
  return {
    type: e.type,
    alertId: e.alertId,
    mineId: e.mineId,
    at: e.at,
    actor: e.actor,
    alert: {
      id: a.id,
      mineId: a.mineId,
      subject: { type: a.subject.type, id: a.subject.id, name: a.subject.name },
      rule: a.rule,
      ruleKind: a.ruleKind,
      class: a.class,
      level: a.level,
      peak: a.peak,
      state: a.state,
      normal: a.normal,
      raisedAt: a.raisedAt,
      updatedAt: a.updatedAt,
      deadline: a.deadline,
      overdue: a.overdue,
      value: a.value,
      ...(a.threshold === undefined ? {} : { threshold: a.threshold }),
      unit: a.unit,
      message: a.message,
      ...(a.acknowledged ? { acknowledged: a.acknowledged } : {}),
      ...(a.assigned ? { assigned: a.assigned } : {}),
      ...(a.resolved ? { resolved: a.resolved } : {}),
    },
  }
}

/**
 * A message on `mines/{mineId}/uplink/alerts`: a JSON array of events, every one of the topic's
 * mine. All or nothing: a message is one chunk of the mine's alert journal, and a gap in a
 * warning's steps would misstate it, so one bad event refuses the message (quarantined, told).
 */
export function decodeReported(payload: Buffer, mineId: string, maxPayloadBytes: number): { events: ReportedEvent[] } | { problem: Problem } {
  const parsed = parseJson(payload, maxPayloadBytes)
  if (!parsed.ok) return { problem: parsed.problem }
  const value = parsed.value
  if (!Array.isArray(value) || value.length === 0) return { problem: problem('BAD_ALERT_EVENT', 'expected a JSON array of warning events (docs/uplink.md, "Warning events")') }
  if (value.length > MAX_REPORTED_BATCH) return { problem: problem('BATCH_TOO_LONG', `${value.length} events in one message; at most ${MAX_REPORTED_BATCH}`) }
  const events: ReportedEvent[] = []
  for (const [index, item] of value.entries()) {
    const e = reportedEventSchema.safeParse(item)
    if (!e.success) {
      const issue = e.error.issues[0]!
      return { problem: problem('BAD_ALERT_EVENT', `event ${index}: ${issue.path.join('.') || '(event)'}: ${issue.message}`, index) }
    }
    if (e.data.mineId !== mineId || e.data.alert.mineId !== mineId || e.data.alert.id !== e.data.alertId) {
      return { problem: problem('BAD_ALERT_EVENT', `event ${index}: not of mine ${mineId} or not of the warning it names; a message carries one mine's events`, index) }
    }
    events.push(e.data)
  }
  return { events }
}
