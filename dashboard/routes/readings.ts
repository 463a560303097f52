import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { idSchema } from '../../ingest/contract/ids.js'
import { KINDS, metricNames, metricSpec } from '../../ingest/contract/kinds.js'
import type { Registry } from '../../ingest/registry.js'
import type { Store } from '../../ingest/store.js'
import { parseTimestamp } from '../../ingest/timestamp.js'
import type { Alert } from '../../alerting/book/alert.js'
import type { Rule } from '../../alerting/rules/index.js'
import { LEVELS, type Level } from '../../alerting/rules/levels.js'
import { RESOLVED_KEPT_MS } from '../../alerting/book/book.js'
import type { ResolvedQuery } from '../../alerting/store.js'
import { exportCsv, exportXlsx, type ExportTable } from '../export.js'
import { HttpError } from '../errors.js'
import { resolvedSince } from '../record.js'
import { isoInZone } from '../../ingest/zone-time.js'

const DAY = 86_400_000
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY } as const
const MAX_POINTS = 10_000

/** `5m`, `1h`, `30s`, `1d`, or plain milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim())
  if (!m) return undefined
  const ms = Number(m[1]) * UNIT_MS[(m[2] ?? 'ms') as keyof typeof UNIT_MS]
  return ms >= 1 ? Math.round(ms) : undefined
}

/** Epoch ms (any whole number, 0 included) or ISO 8601 with offset. */
function instant(text: string, name: string): number {
  if (/^\d{1,15}$/.test(text)) return Number(text)
  const parsed = parseTimestamp(text)
  if (!parsed.ok) throw new HttpError('MW_BAD_QUERY', `${name}: ${parsed.message}`)
  return parsed.ms
}

/** Rows an export may hold: a year of 10-minute readings is 52,560. */
const EXPORT_MAX = 200_000

/** The thresholds of a device's threshold rules on one metric: lines in the metric's own unit. */
export function thresholdsOf(rules: readonly Rule[], metric: string): { rule: string; level: Level; value: number; direction: 'above' | 'below' }[] {
  const out: { rule: string; level: Level; value: number; direction: 'above' | 'below' }[] = []
  for (const r of rules) {
    if (r.kind !== 'threshold' || !('metric' in r.source) || r.source.metric !== metric) continue
    for (const level of LEVELS) {
      const value = r.thresholds[level]
      if (value !== undefined) out.push({ rule: r.id, level, value, direction: r.direction })
    }
  }
  return out
}

const querySchema = z.strictObject({
  device: idSchema,
  metric: z.string().min(1).max(64),
  from: z.string().optional(),
  to: z.string().optional(),
  every: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(MAX_POINTS).optional(),
})

/** An export asks what a readings query asks, in a format, and holds up to EXPORT_MAX rows. */
const exportSchema = querySchema.omit({ limit: true }).extend({ format: z.enum(['csv', 'xlsx']).default('csv') })

/**
 * `GET /api/readings?device=&metric=&from=&to=&every=&limit=`: one metric of one device over
 * [from, to) (default: the last 24 h), raw or downsampled into mean/min/max per `every` bucket.
 * Times are epoch ms (`ts`) and ISO 8601 in the mine's time zone (`time`).
 */
export const readingsRoutes: FastifyPluginAsync<{
  store: Store
  registry: Registry
  timeZoneOf: (mineId: string) => string
  now: () => number
  /** Who asks, and whether they may see the device's mine (sessions and the admin token). */
  canSeeMine: (r: FastifyRequest, mineId: string) => Promise<boolean>
  /** A device's rules (its thresholds are drawn on its history). */
  deviceRules?: (deviceId: string) => { readonly rules: readonly Rule[] } | undefined
  /** The warning book, and the record of older resolved warnings (drawn on the history). */
  alerts?: () => readonly Alert[]
  resolved?: (q: ResolvedQuery) => Promise<Alert[]>
}> = async (app, opts) => {
  const typed = app.withTypeProvider<ZodTypeProvider>()

  /**
   * The device's warnings raised in [from, to): the book's, and older ones from the record, paged
   * back (newest resolved first) until the page reaches warnings resolved before `from`, which were
   * raised before it too; at most RECORD_SCAN of the mine's resolved warnings are read, and
   * `alertsComplete` says whether the range was covered.
   */
  async function warningsOf(deviceId: string, mineId: string, from: number, to: number, tz: string) {
    const book = opts.alerts?.() ?? []
    // the book holds every warning of its last days (RESOLVED_KEPT_MS); the record is read only for
    // a range that starts before them, not for every sparkline of a board
    const { alerts: old, complete } = opts.resolved && from < opts.now() - RESOLVED_KEPT_MS ? await resolvedSince(opts.resolved, [mineId], from) : { alerts: [], complete: true }
    const seen = new Set<string>()
    const alerts = [...book, ...old]
      .filter((a) => a.subject.id === deviceId && a.raisedAt >= from && a.raisedAt < to && !seen.has(a.id) && seen.add(a.id))
      .sort((a, b) => a.raisedAt - b.raisedAt)
      .map((a) => ({ id: a.id, rule: a.rule, level: a.peak, raisedAt: a.raisedAt, raisedTime: isoInZone(a.raisedAt, tz), state: a.state, message: a.message }))
    return { alerts, complete }
  }

  /** The device, the metric's spec, the range and the zone of a readings query; refusals worded. */
  async function resolveQuery(request: FastifyRequest, q: { device: string; metric: string; from?: string | undefined; to?: string | undefined }) {
    const device = opts.registry.device(q.device)
    // a device of a mine the user may not see does not exist for them
    if (!(await opts.canSeeMine(request, device?.mineId ?? '')) || !device) throw new HttpError('MW_UNKNOWN_DEVICE', `no device "${q.device}" in the site file`)
    const spec = metricSpec(device.kind, q.metric)
    if (!spec) throw new HttpError('MW_UNKNOWN_METRIC', `a ${device.kind} device has no metric "${q.metric}"; it has ${metricNames(device.kind).join(', ')}`)
    const to = q.to === undefined ? opts.now() : instant(q.to, 'to')
    const from = q.from === undefined ? to - DAY : instant(q.from, 'from')
    if (from >= to) throw new HttpError('MW_BAD_QUERY', 'from must be earlier than to')
    return { device, spec, from, to, tz: opts.timeZoneOf(device.mineId) }
  }

  typed.get(
    '/api/readings/export',
    { schema: { summary: '导出 one metric of one device as CSV or Excel (.xlsx), times in the mine’s zone, units in the header', tags: ['readings'], querystring: exportSchema } },
    async (request, reply) => {
      const q = request.query
      const { device, spec, from, to, tz } = await resolveQuery(request, q)
      const unit = spec.unit ? ` (${spec.unit})` : ''
      let table: ExportTable
      if (q.every !== undefined) {
        const every = parseDuration(q.every)
        if (every === undefined) throw new HttpError('MW_BAD_QUERY', `every: "${q.every}" is not a duration such as 30s, 5m, 1h or 1d`)
        const buckets = await opts.store.downsample({ deviceId: device.id, metric: q.metric, from, to, every, limit: EXPORT_MAX })
        table = {
          title: `${device.name} ${spec.label} (${q.every} 统计)`,
          timeZone: tz,
          columns: [`均值${unit}`, `最小${unit}`, `最大${unit}`, '读数个数'],
          rows: buckets.map((b) => [isoInZone(b.ts, tz), b.mean, b.min, b.max, b.count] as const),
        }
      } else {
        const points = await opts.store.range({ deviceId: device.id, metric: q.metric, from, to, limit: EXPORT_MAX })
        table = { title: `${device.name} ${spec.label}`, timeZone: tz, columns: [`${spec.label}${unit}`], rows: points.map((p) => [isoInZone(p.ts, tz), p.value] as const) }
      }
      const name = `minewatch-${device.id}-${q.metric}-${isoInZone(from, tz).slice(0, 10)}_${isoInZone(to, tz).slice(0, 10)}`
      if (q.format === 'xlsx') {
        reply.header('content-type', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet').header('content-disposition', `attachment; filename="${name}.xlsx"`)
        return reply.send(await exportXlsx(table))
      }
      reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}.csv"`)
      return exportCsv(table)
    },
  )

  typed.get('/api/readings', { schema: { summary: '读数 one metric of one device, raw or in buckets', tags: ['readings'], querystring: querySchema } }, async (request) => {
    const q = { data: request.query }
    const { device: deviceId, metric } = q.data
    const { device, spec, from, to, tz } = await resolveQuery(request, q.data)
    const limit = q.data.limit ?? MAX_POINTS
    const base = {
      device: deviceId,
      mine: device.mineId,
      kind: device.kind,
      kindLabel: KINDS[device.kind].label,
      metric,
      label: spec.label,
      unit: spec.unit,
      timeZone: tz,
      from,
      to,
      // what the history chart draws beside the series: the thresholds of the rules judging this
      // very metric, and the device's warnings raised in the range
      thresholds: thresholdsOf(opts.deviceRules?.(deviceId)?.rules ?? [], metric),
      ...(await warningsOf(deviceId, device.mineId, from, to, tz).then((w) => ({ alerts: w.alerts, alertsComplete: w.complete }))),
    }
    if (q.data.every !== undefined) {
      const every = parseDuration(q.data.every)
      if (every === undefined) throw new HttpError('MW_BAD_QUERY', `every: "${q.data.every}" is not a duration such as 30s, 5m, 1h or 1d`)
      const buckets = await opts.store.downsample({ deviceId, metric, from, to, every, limit })
      return { ...base, every, truncated: buckets.length === limit, buckets: buckets.map((b) => ({ ...b, time: isoInZone(b.ts, tz) })) }
    }
    const points = await opts.store.range({ deviceId, metric, from, to, limit })
    return { ...base, truncated: points.length === limit, points: points.map((p) => ({ ...p, time: isoInZone(p.ts, tz) })) }
  })
}
