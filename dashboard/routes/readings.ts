import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { idSchema } from '../../ingest/contract/ids.js'
import { KINDS, metricNames, metricSpec } from '../../ingest/contract/kinds.js'
import type { Registry } from '../../ingest/registry.js'
import type { Store } from '../../ingest/store.js'
import { parseTimestamp } from '../../ingest/timestamp.js'
import { HttpError } from '../errors.js'
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

const querySchema = z.strictObject({
  device: idSchema,
  metric: z.string().min(1).max(64),
  from: z.string().optional(),
  to: z.string().optional(),
  every: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(MAX_POINTS).optional(),
})

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
}> = async (app, opts) => {
  const typed = app.withTypeProvider<ZodTypeProvider>()
  typed.get('/api/readings', { schema: { summary: '读数 one metric of one device, raw or in buckets', tags: ['readings'], querystring: querySchema } }, async (request) => {
    const q = { data: request.query }
    const { device: deviceId, metric } = q.data
    const device = opts.registry.device(deviceId)
    // a device of a mine the user may not see does not exist for them
    if (!(await opts.canSeeMine(request, device?.mineId ?? '')) || !device) throw new HttpError('MW_UNKNOWN_DEVICE', `no device "${deviceId}" in the site file`)
    const spec = metricSpec(device.kind, metric)
    if (!spec) {
      throw new HttpError('MW_UNKNOWN_METRIC', `a ${device.kind} device has no metric "${metric}"; it has ${metricNames(device.kind).join(', ')}`)
    }
    const to = q.data.to === undefined ? opts.now() : instant(q.data.to, 'to')
    const from = q.data.from === undefined ? to - DAY : instant(q.data.from, 'from')
    if (from >= to) throw new HttpError('MW_BAD_QUERY', 'from must be earlier than to')
    const limit = q.data.limit ?? MAX_POINTS
    const tz = opts.timeZoneOf(device.mineId)
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
