import type { FastifyPluginAsync } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Alert, AlertEvent } from '../../alerting/book/alert.js'
import { alertRecord, type CallTrace } from '../alert-record.js'
import type { BookResult } from '../../alerting/book/book.js'
import { LEVELS, RANK } from '../../alerting/rules/levels.js'
import { isoInZone } from '../../ingest/zone-time.js'
import type { Access } from '../access.js'
import type { Auth } from '../auth.js'
import { HttpError } from '../errors.js'
import { alertViewSchema, errorSchema } from '../schemas.js'
import { peopleOf } from '../people.js'
import { seriesOf, thin, trendOf } from '../trend.js'
import type { Rule } from '../../alerting/rules/index.js'
import type { DeviceKind } from '../../ingest/contract/kinds.js'
import type { Store } from '../../ingest/store.js'
import type { ResolvedQuery } from '../../alerting/store.js'

/**
 * The warning book over HTTP: `GET /api/alerts` (what the user may see, most severe and oldest
 * first, times in the mine's zone) and the seat's actions `POST /api/alerts/:id/acknowledge`
 * (签收), `/assign` ({"to"}) and `/resolve` ({"note"}, 处置完成), each by the signed-in person.
 * A warning of a mine the user may not see does not exist for them (404, not 403).
 */
const querySchema = z.strictObject({
  mine: z.string().min(1).optional(),
  state: z.enum(['unresolved', 'open', 'acknowledged', 'assigned', 'resolved', 'all']).default('unresolved'),
  level: z.enum(LEVELS).optional(),
  overdue: z.enum(['true', 'false']).optional(),
})

/** What people do to a warning: each answers once the action is durable (or with MW_NOT_DURABLE). */
export interface AlertActions {
  acknowledge(id: string, actor: string): Promise<BookResult>
  assign(id: string, actor: string, to: string): Promise<BookResult>
  resolve(id: string, actor: string, note: string): Promise<BookResult>
}

export interface TrendDeps {
  device(id: string): { kind: DeviceKind; rules: readonly Rule[] } | undefined
  store: Pick<Store, 'range'>
  now(): number
  /** The rule's live state (the engine's), for the forecast as it is now. */
  state?(deviceId: string, ruleId: string): Promise<unknown>
}

/**
 * The lists' answers as plain JSON: their views are made by `view` from the book's own warnings,
 * and checking each against the schema again (it stays the documented shape) copied every warning
 * of the book: 1,906 warnings took 141 ms (docs/benchmarks.md, "History").
 */
const plainJson = () => (data: unknown) => JSON.stringify(data)

const HOUR = 3_600_000
/** Raw points read for one chart, and points drawn (the mean of runs beyond that). */
const TREND_READ = 20_000
const TREND_DRAWN = 1500

export const alertRoutes: FastifyPluginAsync<{
  alerts: () => Alert[]
  actions: AlertActions
  /** Resolved warnings paged from the store, and the site's mines (what a user may page through). */
  resolved: (q: ResolvedQuery) => Promise<Alert[]>
  mineIds: () => readonly string[]
  timeZoneOf: (mineId: string) => string
  /** A user's name by id (the screens show people, not ids). */
  nameOf: (userId: string) => string | undefined
  auth: Auth
  access: Access
  /** The trend chart's inputs: a device's kind and rules, and the store's points. */
  trend: TrendDeps
  /** A warning's calls (叫应): to whom, on which channel, what became of each. */
  notifications: (alertId: string) => Promise<unknown[]>
  /** Every event of one warning from the record, oldest first (the alert store's). */
  history: (alertId: string) => Promise<AlertEvent[]>
}> = async (app, opts) => {
  const view = (a: Alert) => {
    const tz = opts.timeZoneOf(a.mineId)
    return { ...a, timeZone: tz, raisedTime: isoInZone(a.raisedAt, tz), updatedTime: isoInZone(a.updatedAt, tz), deadlineTime: isoInZone(a.deadline, tz), people: peopleOf(a, opts.nameOf) }
  }

  // a warning of a mine the user may not see does not exist for them (404, not 403)
  const notFound = (id: string) => new HttpError('MW_ALERT_NOT_FOUND', `没有编号为 ${id} 的预警 (no such warning)`)
  const visibleAlert = (user: Parameters<Access['canSee']>[0], id: string): Alert => {
    const alert = opts.alerts().find((a) => a.id === id)
    if (!alert || !opts.access.canSee(user, alert.mineId)) throw notFound(id)
    return alert
  }

  const typed = app.withTypeProvider<ZodTypeProvider>()
  typed.get(
    '/api/alerts',
    {
      schema: {
        summary: '预警列表 the warnings the user may see',
        tags: ['alerts'],
        querystring: querySchema,
        response: { 200: z.object({ count: z.number(), alerts: z.array(alertViewSchema) }), 401: errorSchema },
      },
      serializerCompiler: plainJson,
    },
    async (request) => {
      const user = await opts.auth.user(request)
      const { mine, state, level, overdue } = request.query
      const alerts = opts
        .alerts()
        .filter((a) => opts.access.canSee(user, a.mineId))
        .filter((a) => (mine === undefined || a.mineId === mine) && (level === undefined || a.level === level) && (overdue === undefined || String(a.overdue) === overdue))
        .filter((a) => state === 'all' || (state === 'unresolved' ? a.state !== 'resolved' : a.state === state))
        .sort((a, b) => RANK[b.level] - RANK[a.level] || a.raisedAt - b.raisedAt)
      return { count: alerts.length, alerts: alerts.map(view) }
    },
  )

  // the book keeps what is unresolved and what was resolved in the last days (RESOLVED_KEPT_MS);
  // the record of every older warning is in the store, a page at a time, the latest resolved first
  typed.get(
    '/api/alerts/resolved',
    {
      schema: {
        summary: '已处置预警 resolved warnings from the record, the latest first, a page at a time',
        tags: ['alerts'],
        querystring: z.strictObject({
          mine: z.string().min(1).optional(),
          before: z.coerce.number().int().positive().optional().describe('epoch ms: warnings resolved before this (the `next` of the page before); default now'),
          limit: z.coerce.number().int().min(1).max(200).default(50),
        }),
        response: { 200: z.object({ count: z.number(), alerts: z.array(alertViewSchema), next: z.number().nullable() }), 401: errorSchema },
      },
      serializerCompiler: plainJson,
    },
    async (request) => {
      const user = await opts.auth.user(request)
      const { mine, before, limit } = request.query
      const mines = opts.mineIds().filter((m) => opts.access.canSee(user, m) && (mine === undefined || m === mine))
      const alerts = await opts.resolved({ mines, before, limit })
      // a full page may have more behind it: the next page is what was resolved before its last
      return { count: alerts.length, alerts: alerts.map(view), next: alerts.length === limit ? alerts.at(-1)!.updatedAt : null }
    },
  )

  const act = (path: string, summary: string, body: z.ZodType, run: (id: string, actor: string, b: Record<string, string>) => Promise<BookResult>) =>
    typed.post(
      `/api/alerts/:id/${path}`,
      {
        schema: {
          summary,
          tags: ['alerts'],
          params: z.object({ id: z.string().min(1).max(100) }),
          body,
          response: { 200: alertViewSchema, 400: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema, 503: errorSchema },
        },
      },
      async (request) => {
        const user = await opts.auth.user(request)
        const alert = visibleAlert(user, request.params.id)
        if (!opts.access.canAct(user, alert.mineId)) throw new HttpError('MW_FORBIDDEN', '只有该矿山的预警专席或安全负责人可以处置预警 (only the mine’s own people act on its warnings)')
        const result = await run(alert.id, user.id, (request.body ?? {}) as Record<string, string>)
        if (!result.ok) throw new HttpError(result.error.code, result.error.message)
        return view(result.event.alert)
      },
    )

  typed.get(
    '/api/alerts/:id/notifications',
    { schema: { summary: '叫应记录 the calls a warning made: who, on which channel, when, delivered or failed', tags: ['alerts'], params: z.object({ id: z.string().min(1).max(100) }) } },
    async (request) => {
      const user = await opts.auth.user(request)
      const alert = visibleAlert(user, request.params.id)
      const tz = opts.timeZoneOf(alert.mineId)
      const at = (ms: unknown) => (typeof ms === 'number' ? isoInZone(ms, tz) : null)
      return {
        notifications: (await opts.notifications(alert.id)).map((n) => ({
          ...(n as object),
          queuedTime: at((n as { queuedAt: unknown }).queuedAt),
          deliveredTime: at((n as { deliveredAt: unknown }).deliveredAt),
        })),
      }
    },
  )

  typed.get(
    '/api/alerts/:id/record',
    {
      schema: {
        summary: '处置记录 a warning’s whole record: each event of the book and each call’s steps, oldest first, times in the mine’s zone',
        tags: ['alerts'],
        params: z.object({ id: z.string().min(1).max(100) }),
      },
    },
    async (request) => {
      const user = await opts.auth.user(request)
      // an old warning has left the book: its record is still in the store
      const events = await opts.history(request.params.id)
      const mineId = opts.alerts().find((a) => a.id === request.params.id)?.mineId ?? events[0]?.mineId
      if (mineId === undefined || !opts.access.canSee(user, mineId)) throw notFound(request.params.id)
      const tz = opts.timeZoneOf(mineId)
      const entries = alertRecord(events, (await opts.notifications(request.params.id)) as CallTrace[], tz, opts.nameOf)
      return { alertId: request.params.id, timeZone: tz, count: entries.length, entries }
    },
  )

  typed.get(
    '/api/alerts/:id/trend',
    {
      schema: {
        summary: '趋势 the series a warning’s rule judged, its thresholds and forecast',
        tags: ['alerts'],
        params: z.object({ id: z.string().min(1).max(100) }),
        querystring: z.strictObject({
          hours: z.coerce
            .number()
            .positive()
            .max(24 * 31)
            .default(72),
        }),
      },
    },
    async (request) => {
      const user = await opts.auth.user(request)
      const alert = visibleAlert(user, request.params.id)
      const device = alert.subject.type === 'device' ? opts.trend.device(alert.subject.id) : undefined
      const rule = device?.rules.find((r) => r.id === alert.rule)
      const trend = device && rule ? trendOf(rule, device.kind, alert, await opts.trend.state?.(alert.subject.id, alert.rule)) : undefined
      const to = opts.trend.now()
      const from = to - request.query.hours * HOUR
      if (!device || !rule || !trend) return { alert: view(alert), from, to, trend: null, points: [] }
      const byMetric = Object.fromEntries(
        await Promise.all(trend.metrics.map(async (m) => [m, await opts.trend.store.range({ deviceId: alert.subject.id, metric: m, from: from - trend.lookbackMs, to, limit: TREND_READ })] as const)),
      )
      const points = thin(seriesOf(rule, device.kind, byMetric, from), TREND_DRAWN)
      return { alert: view(alert), from, to, trend, points }
    },
  )

  // signing needs no body at all
  act('acknowledge', '签收 acknowledge a warning', z.strictObject({}).nullish(), (id, actor) => opts.actions.acknowledge(id, actor))
  act('assign', '指派 assign a warning to a responsible person', z.strictObject({ to: z.string().max(200) }), (id, actor, b) => opts.actions.assign(id, actor, b.to!))
  act('resolve', '处置完成 resolve a warning, saying what was done', z.strictObject({ note: z.string().max(4000) }), (id, actor, b) => opts.actions.resolve(id, actor, b.note!))
}
