import { HttpError, InfluxDB, setLogger, type WriteApi } from '@influxdata/influxdb-client'
import { KINDS, type DeviceKind } from '../ingest/contract/kinds.js'
import type { Log } from '../ingest/log.js'
import type { MetricValue, Reading } from '../ingest/reading.js'
import type { Bucket, Point, RangeQuery, Store, StoreHealth, StoredReading } from '../ingest/store.js'
import { bucketize } from './influx/buckets.js'
import { bucketQuery, latestQuery, rangeQuery } from './influx/influxql.js'
import { ALERT_MEASUREMENT, SEQ_FIELD, alertEventLine, toLine } from './influx/line-protocol.js'
import { epochMs, ident, str } from './influx/influxql.js'
import type { Alert, AlertEvent } from '../alerting/book/alert.js'
import type { AlertEventStore, ResolvedQuery } from '../alerting/store.js'
import { authHeaders, explain, onThisMachine, parseVersion, writePath, type InfluxConfig, type ServerInfo } from './influx/server.js'

/**
 * The production store (README, "Storing in InfluxDB"): one code path for InfluxDB 1.x, 2.x and 3.x. Writes go
 * through the client's WriteApi with its own retries and buffering switched off: every call
 * sends one request and resolves only when the server confirmed it, so the journal's checkpoint
 * advances only on confirmed writes (the client's retry buffer lives in memory and drops lines
 * on long outages). Reads are InfluxQL on /query, which all three versions serve.
 */
const MAX_LINES_PER_REQUEST = 50_000
/** The book is rebuilt from the events a week at a time (a response stays a few megabytes). */
const REBUILD_WINDOW_MS = 7 * 86_400_000
/** Flags have no InfluxQL mean(); their buckets are computed from at most this many points. */
const MAX_FLAG_POINTS = 200_000

interface QueryAnswer {
  error?: string
  results?: { error?: string; series?: { name: string; columns: string[]; values: unknown[][] }[] }[]
}

export class InfluxStore implements Store, AlertEventStore {
  readonly kind = 'influxdb'
  private server: ServerInfo | undefined
  /** One WriteApi per time precision: readings in ms, alert events in ns (line-protocol.ts). */
  private readonly writeApis = new Map<'ms' | 'ns', WriteApi>()
  private firstEventAt: number | undefined
  private readonly influx: InfluxDB

  constructor(
    private readonly cfg: InfluxConfig,
    /** Device → kind (the measurement): from the site registry. */
    private readonly kindOf: (deviceId: string) => DeviceKind | undefined,
    private readonly log: Log,
  ) {
    this.influx = new InfluxDB({ url: cfg.url, ...(cfg.token ? { token: cfg.token } : {}), timeout: cfg.timeoutMs ?? 30_000 })
    // the client's own log lines would repeat ours, in English, on stderr
    setLogger({ error: (message) => log.debug({ source: 'influxdb-client' }, message), warn: (message) => log.debug({ source: 'influxdb-client' }, message) })
  }

  async write(readings: readonly Reading[]): Promise<void> {
    const api = await this.writer('ms')
    for (let i = 0; i < readings.length; i += MAX_LINES_PER_REQUEST) {
      const lines = readings.slice(i, i + MAX_LINES_PER_REQUEST).map(toLine)
      api.writeRecords(lines)
      try {
        await api.flush()
      } catch (err) {
        if (this.partialWrite(err)) continue
        throw new Error(explain(err, this.cfg), { cause: err })
      }
    }
  }

  async appendAlertEvents(events: readonly AlertEvent[]): Promise<void> {
    const api = await this.writer('ns')
    api.writeRecords(events.map(alertEventLine))
    try {
      await api.flush()
    } catch (err) {
      throw new Error(explain(err, this.cfg), { cause: err })
    }
  }

  async latestAlertEvents(resolvedSince = Number.MIN_SAFE_INTEGER): Promise<AlertEvent[]> {
    // every event in time order, a week at a time; the last of each alert is the alert as it stands
    const first = await this.firstAlertEventAt()
    const [last] = await this.rows(`SELECT last("type") FROM ${ident(ALERT_MEASUREMENT)}`)
    if (first === undefined || !last) return []
    const latest = new Map<string, AlertEvent>()
    const end = (last[0] as number) + 1
    for (let from = first; from < end; from += REBUILD_WINDOW_MS) {
      const rows = await this.rows(`SELECT "body" FROM ${ident(ALERT_MEASUREMENT)} WHERE time >= ${epochMs(from)} AND time < ${epochMs(Math.min(end, from + REBUILD_WINDOW_MS))} ORDER BY time ASC`)
      for (const [, body] of rows) {
        const e = JSON.parse(body as string) as AlertEvent
        // one resolved before the cutoff is let go as it is read: the map holds what the book keeps
        if (e.type === 'resolved' && e.at < resolvedSince) latest.delete(e.alertId)
        else latest.set(e.alertId, e)
      }
    }
    return [...latest.values()].sort((a, b) => a.at - b.at)
  }

  /**
   * When the record begins: asked until there is one, then kept. Events reach the store in the
   * alert journal's order, after what it already holds, so its beginning never moves earlier.
   */
  private async firstAlertEventAt(): Promise<number | undefined> {
    if (this.firstEventAt === undefined) {
      const [first] = await this.rows(`SELECT first("type") FROM ${ident(ALERT_MEASUREMENT)}`)
      this.firstEventAt = first?.[0] as number | undefined
    }
    return this.firstEventAt
  }

  async alertHistory(alertId: string): Promise<AlertEvent[]> {
    // the id is a field (line-protocol.ts); databases written before hold it in the tag `alert`
    const rows = await this.rows(`SELECT "body" FROM ${ident(ALERT_MEASUREMENT)} WHERE "alert_id" = ${str(alertId)} OR "alert" = ${str(alertId)} ORDER BY time ASC`)
    return rows.map(([, body]) => JSON.parse(body as string) as AlertEvent)
  }

  async resolvedAlerts(q: ResolvedQuery): Promise<Alert[]> {
    if (q.mines.length === 0 || q.limit <= 0) return []
    const mines = q.mines.map((m) => `"mine" = ${str(m)}`).join(' OR ')
    const first = await this.firstAlertEventAt()
    if (first === undefined) return []
    // back from `before` in windows four times longer each time: a query without a time range
    // opens every shard of the record (a year of weekly shards: 129 ms for the latest page,
    // docs/benchmarks.md "History"), where the latest page is nearly always in the last week
    const out: Alert[] = []
    let to = q.before ?? Date.now() + 86_400_000
    for (let span = 7 * 86_400_000; out.length < q.limit && to > first; span *= 4) {
      const from = to - span
      const rows = await this.rows(
        `SELECT "body" FROM ${ident(ALERT_MEASUREMENT)} WHERE "type" = 'resolved' AND time >= ${epochMs(from)} AND time < ${epochMs(to)} AND (${mines}) ORDER BY time DESC LIMIT ${Math.trunc(q.limit - out.length)}`,
      )
      for (const [, body] of rows) out.push((JSON.parse(body as string) as AlertEvent).alert)
      to = from
    }
    return out
  }

  async range(q: RangeQuery): Promise<Point[]> {
    const kind = this.measurement(q.deviceId, q.metric)
    if (!kind) return []
    const rows = await this.rows(rangeQuery(kind, q.metric, q.deviceId, q.from, q.to, q.limit))
    return rows.map(([time, value]) => ({ ts: time as number, value: value as MetricValue }))
  }

  async downsample(q: RangeQuery & { readonly every: number }): Promise<Bucket[]> {
    const kind = this.measurement(q.deviceId, q.metric)
    if (!kind) return []
    if ((KINDS[kind].metrics as Record<string, { type: string }>)[q.metric]?.type === 'boolean') {
      return bucketize(await this.range({ ...q, limit: MAX_FLAG_POINTS }), q.every, q.limit)
    }
    const rows = await this.rows(bucketQuery(kind, q.metric, q.deviceId, q.from, q.to, q.every, q.limit))
    return rows.map(([ts, mean, min, max, count]) => ({ ts, mean, min, max, count }) as Bucket)
  }

  async latest(deviceId: string): Promise<StoredReading | undefined> {
    const kind = this.kindOf(deviceId)
    if (!kind) return undefined
    const answer = await this.query(latestQuery(kind, deviceId))
    const series = answer.results?.[0]?.series?.[0]
    const row = series?.values[0]
    if (!series || !row) return undefined
    const values: Record<string, MetricValue> = {}
    let seq: number | undefined
    series.columns.forEach((column, i) => {
      const v = row[i]
      if (v === null || v === undefined) return
      if (column === SEQ_FIELD) seq = v as number
      else if (column in KINDS[kind].metrics) values[column] = v as MetricValue
    })
    return { ts: row[0] as number, values, ...(seq === undefined ? {} : { seq }) }
  }

  async health(): Promise<StoreHealth> {
    try {
      const server = await this.ping()
      return { ok: true, detail: `InfluxDB ${server.version} at ${this.cfg.url}, ${this.cfg.bucket}` }
    } catch (err) {
      return { ok: false, detail: explain(err, this.cfg) }
    }
  }

  async close(): Promise<void> {
    for (const api of this.writeApis.values()) await api.close().catch(() => undefined)
  }

  private async ping(): Promise<ServerInfo> {
    const res = await fetch(`${this.cfg.url}/ping`, { signal: AbortSignal.timeout(this.cfg.timeoutMs ?? 30_000) })
    if (res.status !== 204 && res.status !== 200) throw new Error(`/ping answered HTTP ${res.status}`)
    return parseVersion(res.headers.get('x-influxdb-version'))
  }

  /** The WriteApi; an InfluxDB that cannot be reached is said so, as a write it refused would be. */
  private writer(precision: 'ms' | 'ns'): Promise<WriteApi> {
    return this.api(precision).catch((err: unknown) => {
      throw new Error(explain(err, this.cfg), { cause: err })
    })
  }

  /** The WriteApi, made once the server's version is known (it decides the write path). */
  private async api(precision: 'ms' | 'ns'): Promise<WriteApi> {
    const made = this.writeApis.get(precision)
    if (made) return made
    this.server ??= await this.ping()
    const api = this.influx.getWriteApi(this.cfg.org ?? '', this.cfg.bucket, precision, {
      batchSize: MAX_LINES_PER_REQUEST + 1,
      flushInterval: 0,
      maxRetries: 0,
      // gzip saves a network's bandwidth, but to an InfluxDB on this machine it is only CPU: a
      // batch of 5,000 readings took ~10 ms of a core to compress (docs/benchmarks.md)
      gzipThreshold: (this.cfg.gzip ?? !onThisMachine(this.cfg.url)) ? 1000 : Number.MAX_SAFE_INTEGER,
      // a token goes in the client's own header; 1.x user credentials as basic auth
      headers: this.cfg.token ? {} : authHeaders(this.cfg),
    })
    const v1 = writePath(this.cfg, this.server, precision)
    if (v1) api.path = v1
    if (this.writeApis.size === 0) this.log.info({ url: this.cfg.url, version: this.server.version, path: api.path.split('?')[0] }, 'InfluxDB store: writing line protocol')
    this.writeApis.set(precision, api)
    return api
  }

  /**
   * 1.x answers a batch with some refused lines (a field of the wrong type) with HTTP 400
   * "partial write": the other lines are stored. Retrying would refuse the same lines forever
   * and stall every reading behind them, so the batch counts as written and the refusal is logged.
   */
  private partialWrite(err: unknown): boolean {
    if (!(err instanceof HttpError) || (err.statusCode !== 400 && err.statusCode !== 422)) return false
    if (!/partial write/i.test(err.body ?? err.message)) return false
    this.log.error({ status: err.statusCode, detail: (err.body ?? err.message).slice(0, 500) }, 'InfluxDB refused some lines of a batch; the rest is stored')
    return true
  }

  private measurement(deviceId: string, metric: string): DeviceKind | undefined {
    const kind = this.kindOf(deviceId)
    return kind && metric in KINDS[kind].metrics ? kind : undefined
  }

  private async rows(q: string): Promise<unknown[][]> {
    const answer = await this.query(q)
    return answer.results?.[0]?.series?.[0]?.values ?? []
  }

  private async query(q: string): Promise<QueryAnswer> {
    const body = new URLSearchParams({ q, db: this.cfg.bucket, epoch: 'ms' })
    const res = await fetch(`${this.cfg.url}/query`, {
      method: 'POST',
      body,
      headers: authHeaders(this.cfg),
      signal: AbortSignal.timeout(this.cfg.timeoutMs ?? 30_000),
    })
    const text = await res.text()
    let answer: QueryAnswer
    try {
      answer = JSON.parse(text) as QueryAnswer
    } catch {
      throw new Error(`InfluxDB /query answered HTTP ${res.status}: ${text.slice(0, 200)}`)
    }
    const error = answer.error ?? answer.results?.find((r) => r.error)?.error
    if (error || !res.ok) throw new Error(`InfluxDB query failed (HTTP ${res.status}): ${error ?? text.slice(0, 200)}`)
    return answer
  }
}
