import { z } from 'zod'
import { idSchema } from '../../ingest/contract/ids.js'
import { LEVEL_NAME, LEVELS, type Level } from '../rules/levels.js'
import type { Alert } from '../book/alert.js'

/**
 * 叫应 beyond the screen (issue 15): a warning nobody has signed for calls people, one after the
 * other, until someone answers (叫应 → 回应 → 响应). This is the site file's `notify` section and the
 * pure decision of who is called when; the channels that carry the calls (group robots, e-mail)
 * are infra/notify adapters, the outbox that makes the calls durable infra/notify/outbox.ts.
 *
 * Channels name where their secrets are (an environment variable or a file), never the secrets.
 */
const secretRef = {
  env: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/)
    .optional(),
  file: z.string().min(1).optional(),
}
const secretSchema = z.strictObject(secretRef).refine((s) => (s.env === undefined) !== (s.file === undefined), { error: 'name either env (a variable) or file, not both' })

/** Every channel: its id, and how many messages a minute it takes (default 20, 企业微信's robots' limit). */
const channelBase = { id: idSchema, perMinute: z.number().int().positive().optional() }

export const channelSchema = z.discriminatedUnion('type', [
  /** 企业微信 group robot: its webhook URL holds its key, so the URL is a secret. */
  z.strictObject({ ...channelBase, type: z.literal('wecom'), url: secretSchema }),
  /** 钉钉 group robot; `secret`: the 加签 secret when the robot has one. */
  z.strictObject({ ...channelBase, type: z.literal('dingtalk'), url: secretSchema, secret: secretSchema.optional() }),
  /** 飞书 group robot; `secret`: the 签名校验 secret when the robot has one. */
  z.strictObject({ ...channelBase, type: z.literal('feishu'), url: secretSchema, secret: secretSchema.optional() }),
  /** Any system that takes a JSON POST: the warning and who is called; `token` sent as a Bearer token. */
  z.strictObject({ ...channelBase, type: z.literal('webhook'), url: z.url(), token: secretSchema.optional() }),
  /**
   * SMS through any HTTP gateway (vendor-neutral): `body` is the request's body with {{to}} and
   * {{text}} in it (escaped for JSON when `format` is json, URL-encoded when form); any 2xx is success.
   */
  z.strictObject({
    ...channelBase,
    type: z.literal('sms'),
    url: z.url(),
    format: z.enum(['json', 'form']).default('json'),
    body: z
      .string()
      .min(1)
      .refine((b) => b.includes('{{to}}') && b.includes('{{text}}'), { error: 'the body template needs {{to}} and {{text}}' }),
    /** Sent as `Authorization: Bearer <token>` when set. */
    token: secretSchema.optional(),
  }),
  /**
   * The platform's own log (记录): the message is written there and counts as delivered. For trying a
   * policy out before the robots are wired, and for the demo; no one is reached by it.
   */
  z.strictObject({ ...channelBase, type: z.literal('log') }),
  /** E-mail over SMTP. */
  z.strictObject({
    ...channelBase,
    type: z.literal('email'),
    host: z.string().min(1),
    port: z.number().int().positive().default(587),
    /** TLS from the start (port 465); otherwise STARTTLS when the server offers it. */
    secure: z.boolean().default(false),
    user: z.string().optional(),
    password: secretSchema.optional(),
    from: z.string().min(3),
  }),
])
export type ChannelConfig = z.infer<typeof channelSchema>

export const contactSchema = z.strictObject({
  id: idSchema,
  name: z.string().min(1),
  /** How this person is reached: a channel, and their address on it (e-mail; a mobile number a robot @-mentions). */
  via: z.array(z.strictObject({ channel: idSchema, to: z.string().min(1).optional() })).min(1, { error: 'expected at least one way to reach this person' }),
})
export type Contact = z.infer<typeof contactSchema>

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expected a time of day such as 08:00' })
const date = z.iso.date({ error: 'expected a date such as 2026-10-01' })
/** A shift: from, to (the next day's when not after from; the same time: 24 hours), who. */
const shiftSchema = z.strictObject({ from: clock, to: clock, contacts: z.array(idSchema).min(1) })
/**
 * 值班表: who is on duty when, on the mine's clock. A policy step that names a roster calls whoever
 * is on duty when it calls. A day is made of, in this order of precedence:
 * - `dates`: days with their own shifts (节假日值班, a swap), which replace everything else that day;
 * - `shifts`: the usual day, each shift on every day or only on its `days` (1 Monday … 7 Sunday);
 * - `rotation` (轮班), beside the shifts: crews take turns a day each, 24 hours from the hand-over `at`,
 *   `crews[0]` on the `start` date.
 * A shift that crosses midnight (20:00 → 08:00) belongs to the day it starts: at 03:00 on a holiday
 * the night shift of the day before is still on.
 */
export const rosterSchema = z
  .strictObject({
    id: idSchema,
    shifts: z.array(shiftSchema.extend({ days: z.array(z.number().int().min(1).max(7)).min(1).optional() })).default([]),
    rotation: z.strictObject({ start: date, at: clock.default('08:00'), crews: z.array(z.array(idSchema).min(1)).min(2) }).optional(),
    dates: z
      .array(
        z.strictObject({ date, to: date.optional(), shifts: z.array(shiftSchema).min(1) }).refine((d) => d.to === undefined || d.to >= d.date, { error: 'to must not be before date', path: ['to'] }),
      )
      .default([]),
  })
  .refine((r) => r.shifts.length > 0 || r.rotation !== undefined, { error: 'a roster needs shifts or a rotation' })
export type Roster = z.infer<typeof rosterSchema>
type Shift = z.infer<typeof shiftSchema>

export const policySchema = z.strictObject({
  id: idSchema,
  /** The mines it covers (all when none are named). */
  mines: z.array(idSchema).default([]),
  /** The levels it covers. */
  levels: z.array(z.enum(LEVELS)).min(1),
  /** Who is called, and after how many minutes unsigned: the first step usually at 0 (the 专席 on duty). */
  steps: z
    .array(z.strictObject({ after: z.number().nonnegative(), notify: z.array(idSchema).min(1) }))
    .min(1)
    .refine((steps) => steps.every((s, i) => i === 0 || s.after >= steps[i - 1]!.after), { error: 'steps must come in order of their minutes' }),
  /** While still unsigned after the last step, its people are called again every this many minutes. */
  repeat: z.number().positive().optional(),
})
export type Policy = z.infer<typeof policySchema>

export const notifySchema = z
  .strictObject({
    /** The platform's address as people reach it, for the link in each message (https://minewatch.example.cn). */
    publicUrl: z.url().optional(),
    channels: z.array(channelSchema).default([]),
    contacts: z.array(contactSchema).default([]),
    rosters: z.array(rosterSchema).default([]),
    policies: z.array(policySchema).default([]),
  })
  .default({ channels: [], contacts: [], rosters: [], policies: [] })
export type NotifyConfig = z.infer<typeof notifySchema>

/** Contacts that name unknown channels, policies that name unknown contacts or mines: reported at their path. */
export function checkNotify(site: { notify: NotifyConfig; mines: readonly { id: string }[] }, ctx: z.RefinementCtx): void {
  const channels = new Set(site.notify.channels.map((c) => c.id))
  const contacts = new Set(site.notify.contacts.map((c) => c.id))
  const rosters = new Set(site.notify.rosters.map((r) => r.id))
  const known = (path: (string | number)[]) => (c: string, k: number) => contacts.has(c) || ctx.addIssue({ code: 'custom', path: ['notify', 'rosters', ...path, k], message: `unknown contact "${c}"` })
  site.notify.rosters.forEach((r, i) => {
    r.shifts.forEach((s, j) => s.contacts.forEach(known([i, 'shifts', j, 'contacts'])))
    r.rotation?.crews.forEach((crew, j) => crew.forEach(known([i, 'rotation', 'crews', j])))
    r.dates.forEach((d, j) => d.shifts.forEach((s, l) => s.contacts.forEach(known([i, 'dates', j, 'shifts', l, 'contacts']))))
  })
  const mines = new Set(site.mines.map((m) => m.id))
  site.notify.contacts.forEach((c, i) =>
    c.via.forEach((v, j) => channels.has(v.channel) || ctx.addIssue({ code: 'custom', path: ['notify', 'contacts', i, 'via', j, 'channel'], message: `unknown channel "${v.channel}"` })),
  )
  site.notify.policies.forEach((p, i) => {
    p.mines.forEach((m, j) => mines.has(m) || ctx.addIssue({ code: 'custom', path: ['notify', 'policies', i, 'mines', j], message: `unknown mine "${m}"` }))
    p.steps.forEach((s, j) =>
      s.notify.forEach(
        (c, k) => contacts.has(c) || rosters.has(c) || ctx.addIssue({ code: 'custom', path: ['notify', 'policies', i, 'steps', j, 'notify', k], message: `unknown contact or roster "${c}"` }),
      ),
    )
  })
}

/** One call to make: a person on one of their channels, for one step (and round) of a warning's chain. */
export interface Call {
  /** The same call decided twice (a restart, a second tick) has the same id: the outbox keeps one. */
  readonly id: string
  readonly alertId: string
  readonly level: Level
  readonly step: number
  readonly round: number
  readonly contact: string
  readonly channel: string
  readonly to?: string | undefined
}

const MINUTE = 60_000

/** A configuration's people and rosters by id, made once per configuration (not per warning per turn). */
const indexes = new WeakMap<NotifyConfig, { contacts: Map<string, Contact>; rosters: Map<string, Roster> }>()
function indexOf(config: NotifyConfig) {
  let index = indexes.get(config)
  if (!index) indexes.set(config, (index = { contacts: new Map(config.contacts.map((c) => [c.id, c])), rosters: new Map(config.rosters.map((r) => [r.id, r])) }))
  return index
}

/**
 * Whom a warning calls by now (pure): while it is open (not signed for), each step of the policies
 * covering its mine and level once its minutes have passed since it was raised, then the last
 * step's people again every `repeat` minutes. 红色预警不等待: a red warning calls every step at once,
 * the whole chain, and is never held back. A rise in level calls again (the call's id carries the
 * level). Signing (签收) stops the chain: an acknowledged, assigned or resolved warning calls nobody.
 */
export function callsDue(alert: Pick<Alert, 'id' | 'mineId' | 'level' | 'state' | 'raisedAt' | 'class'>, config: NotifyConfig, now: number, local: LocalTime = MIDNIGHT): Call[] {
  if (alert.state !== 'open') return []
  const { contacts, rosters } = indexOf(config)
  // a roster is whoever is on duty now (an unsigned warning is handed to the next shift too)
  const people = (id: string) => (rosters.has(id) ? onDuty(rosters.get(id)!, local) : [id])
  const out: Call[] = []
  for (const policy of config.policies) {
    if (!policy.levels.includes(alert.level)) continue
    if (policy.mines.length > 0 && !policy.mines.includes(alert.mineId)) continue
    const waited = (now - alert.raisedAt) / MINUTE
    policy.steps.forEach((step, i) => {
      const last = i === policy.steps.length - 1
      const due = alert.level === 'red' || waited >= step.after
      if (!due) return
      // after the last step, a round every `repeat` minutes while still unsigned; only the round
      // of now: after a restart the rounds missed are not all sent at once
      const round = last && policy.repeat ? Math.max(0, Math.floor((waited - step.after) / policy.repeat)) : 0
      for (const id of step.notify.flatMap(people))
        for (const via of contacts.get(id)?.via ?? [])
          out.push({
            id: `${alert.id}:${alert.level}:${policy.id}:${i}:${round}:${id}:${via.channel}`,
            alertId: alert.id,
            level: alert.level,
            step: i,
            round,
            contact: id,
            channel: via.channel,
            to: via.to,
          })
    })
  }
  return out
}

/** What a call says: the level, the mine, the warning's own words, when, and where to sign. */
export function callText(alert: Pick<Alert, 'level' | 'message' | 'mineId'>, mineName: string, raisedTime: string, link: string | undefined): string {
  const level = LEVEL_NAME[alert.level]
  return `【${level}预警】${mineName}: ${alert.message}。发布于 ${raisedTime}, 尚未签收, 请立即签收处置${link ? `: ${link}` : '。'}`
}

/** A moment on the mine's clock: its local date and the minute of that day (0–1439). */
export interface LocalTime {
  readonly date: string
  readonly minute: number
}
const MIDNIGHT: LocalTime = { date: '1970-01-01', minute: 0 }
const DAY_MS = 86_400_000

/** The moment `now` on a clock `offsetMinutes` ahead of UTC (the mine's zone's offset at that moment). */
export function localTime(now: number, offsetMinutes: number): LocalTime {
  const wall = new Date(now + offsetMinutes * 60_000)
  return { date: wall.toISOString().slice(0, 10), minute: wall.getUTCHours() * 60 + wall.getUTCMinutes() }
}

const minutes = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3))
const dayNumber = (d: string) => Math.round(Date.parse(`${d}T00:00:00Z`) / DAY_MS)

/** The shifts that start on a local date: the date's own, or the usual ones of its weekday and the rotation's crew. */
export function shiftsOn(roster: Roster, day: string): Shift[] {
  const special = roster.dates.find((d) => day >= d.date && day <= (d.to ?? d.date))
  if (special) return special.shifts
  const weekday = new Date(`${day}T00:00:00Z`).getUTCDay() || 7
  const out: Shift[] = roster.shifts.filter((s) => s.days === undefined || s.days.includes(weekday))
  const r = roster.rotation
  if (r) {
    const n = r.crews.length
    out.push({ from: r.at, to: r.at, contacts: r.crews[(((dayNumber(day) - dayNumber(r.start)) % n) + n) % n]! })
  }
  return out
}

/** Who a roster has on duty at a moment on the mine's clock: the shifts of the day that cover it, and the day before's that run past midnight into it. */
export function onDuty(roster: Roster, at: LocalTime): string[] {
  const yesterday = new Date((dayNumber(at.date) - 1) * DAY_MS).toISOString().slice(0, 10)
  const on = [
    ...shiftsOn(roster, at.date).filter((s) => {
      const [from, to] = [minutes(s.from), minutes(s.to)]
      return from < to ? at.minute >= from && at.minute < to : at.minute >= from
    }),
    ...shiftsOn(roster, yesterday).filter((s) => minutes(s.from) >= minutes(s.to) && at.minute < minutes(s.to)),
  ]
  return [...new Set(on.flatMap((s) => s.contacts))]
}
