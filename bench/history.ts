import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { Alert, AlertEvent } from '../alerting/book/alert.js'
import { SqliteStore } from '../infra/sqlite-store.js'
import { alertEventLine, toLine } from '../infra/influx/line-protocol.js'
import type { Reading } from '../ingest/reading.js'
import type { TestInflux } from '../test/helpers/influxdb.js'
import { COMPILED_ENTRY, runPlatform, testEnv } from '../test/helpers/process.js'
import { writeBenchSite, type BenchDevice } from './site.js'
import { fmt, mib, percentile, progress, rssOf } from './stats.js'

/**
 * `npm run bench -- history`: what the screens' queries and a start cost once the history is
 * long (issue "Performance", item 4). A year of 10-minute prism readings (dN, dE, dH) for 500
 * devices and 100,000 resolved warnings over that year (raised, signed, resolved: three events
 * each), loaded into SQLite and into InfluxDB; then the platform is started on each (no snapshot,
 * so the book is rebuilt from the store, as after a lost data directory) and each query is asked
 * over HTTP as the screens ask it. Load times are set-up, not figures of the platform.
 */
const MIN = 60_000
const DAY = 86_400_000
const ADMIN = 'bench-admin-token-0123456789'

export interface HistoryOptions {
  readonly devices: number
  readonly days: number
  readonly alerts: number
  /** Times each query is asked (the first, cold, is reported apart). */
  readonly repeats: number
}

interface Figures {
  readonly store: string
  readonly loadSeconds: number
  readonly startSeconds: number
  readonly rssBytes: number
  readonly queries: { readonly name: string; readonly cold: number; readonly p50: number; readonly p95: number; readonly size: string }[]
}

/** Deterministic noise: the bench must load the same data each run. */
function noise(seed: number): () => number {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return ((s >>> 0) / 2 ** 32 - 0.5) * 2
  }
}

/**
 * The readings, device after device, each device's oldest first, in chunks: set-up goes fastest in
 * the order of the stores' keys (SQLite's (device, metric, ts); an InfluxDB series).
 */
function* readingsByDevice(devices: readonly BenchDevice[], from: number, to: number, step: number, chunk: number): Generator<Reading[]> {
  for (const [i, d] of devices.entries()) {
    const rnd = noise(i + 1)
    const w = [0, 0, 0]
    let out: Reading[] = []
    for (let t = from; t < to; t += step) {
      for (let k = 0; k < 3; k++) w[k]! += 0.02 * rnd()
      const v = (k: number) => Math.round((w[k]! + 0.5 * rnd()) * 100) / 100
      out.push({ deviceId: d.id, mineId: d.mineId, kind: 'prism', ts: t + (i % 60) * 1000, values: { dN: v(0), dE: v(1), dH: v(2) } })
      if (out.length === chunk) {
        yield out
        out = []
      }
    }
    if (out.length > 0) yield out
  }
}

function alertOf(i: number, d: BenchDevice, raisedAt: number): Alert {
  return {
    id: `hist-${i}`,
    mineId: d.mineId,
    subject: { type: 'device', id: d.id, name: `基准测试棱镜 ${d.id}` },
    rule: 'rate-day',
    ruleKind: 'rate',
    class: 'warning',
    level: 'yellow',
    peak: 'yellow',
    state: 'open',
    normal: false,
    raisedAt,
    updatedAt: raisedAt,
    deadline: raisedAt + DAY / 2,
    overdue: false,
    value: 11.2,
    threshold: 10,
    unit: 'mm/d',
    message: `三维位移速率 11.2 mm/d, 超过黄色阈值 10 mm/d`,
    basis: '三维位移速率 > 10 mm/d (边坡监测实践), 已扣除日周期',
    evidence: { velocity: 11.2, points: 144, spanSeconds: 86_000, dailyCycle: true },
  }
}

/** A resolved warning's three events (raised, 签收 after 20 min, 处置完成 after 3 h); the open one's first only. */
function eventsOf(a: Alert, resolved: boolean): AlertEvent[] {
  const raised: AlertEvent = { type: 'raised', alertId: a.id, mineId: a.mineId, at: a.raisedAt, actor: 'system', notify: true, from: null, to: 'yellow', alert: a }
  if (!resolved) return [raised]
  const ackAt = a.raisedAt + 20 * MIN
  const acked: Alert = { ...a, state: 'acknowledged', updatedAt: ackAt, acknowledged: { by: 'duty', at: ackAt } }
  const doneAt = a.raisedAt + 3 * 3_600_000
  const done: Alert = { ...acked, state: 'resolved', normal: true, updatedAt: doneAt, resolved: { by: 'duty', at: doneAt, note: '现场复核, 已处置' } }
  return [
    raised,
    { type: 'acknowledged', alertId: a.id, mineId: a.mineId, at: ackAt, actor: 'duty', notify: false, alert: acked },
    { type: 'resolved', alertId: a.id, mineId: a.mineId, at: doneAt, actor: 'duty', notify: false, alert: done },
  ]
}

/** The warnings: `count` resolved ones spread over the history, and one open on the queried device (the trend's). */
function* alertEvents(devices: readonly BenchDevice[], from: number, to: number, count: number): Generator<AlertEvent[]> {
  const chunk: AlertEvent[] = []
  for (let i = 0; i < count; i++) {
    chunk.push(...eventsOf(alertOf(i, devices[i % devices.length]!, from + Math.floor(((to - from - 4 * 3_600_000) * i) / count)), true))
    if (chunk.length >= 15_000) yield chunk.splice(0)
  }
  chunk.push(...eventsOf(alertOf(count, devices[0]!, to - 2 * 3_600_000), false))
  yield chunk
}

async function loadSqlite(file: string, devices: readonly BenchDevice[], from: number, to: number, alerts: number): Promise<void> {
  // the store makes the schema; the rows go in through one prepared statement (set-up, not the write path)
  const store = new SqliteStore(file)
  for (const events of alertEvents(devices, from, to, alerts)) await store.appendAlertEvents(events)
  await store.close()
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = OFF')
  const insert = db.prepare('INSERT INTO readings (device, metric, ts, value, is_bool, seq, mine, kind) VALUES (?, ?, ?, ?, 0, NULL, ?, ?)')
  const many = db.transaction((batch: Reading[]) => {
    for (const r of batch) for (const [m, v] of Object.entries(r.values)) insert.run(r.deviceId, m, r.ts, v as number, r.mineId, r.kind)
  })
  let done = 0
  const total = (devices.length * (to - from)) / (10 * MIN)
  const stop = progress('loading SQLite', () => `${fmt((100 * done) / total, 1)}% of the readings`)
  try {
    for (const batch of readingsByDevice(devices, from, to, 10 * MIN, 20_000)) {
      many(batch)
      done += batch.length
      // let the progress line out
      await new Promise((resolve) => setImmediate(resolve))
    }
  } finally {
    stop()
  }
  db.pragma('wal_checkpoint(TRUNCATE)')
  db.close()
}

async function loadInflux(influx: TestInflux, db: string, devices: readonly BenchDevice[], from: number, to: number, alerts: number): Promise<void> {
  await influx.query(`CREATE DATABASE "${db}"`)
  const post = async (lines: string[], precision: 'ms' | 'ns') => {
    const res = await fetch(`${influx.url}/write?db=${db}&precision=${precision}`, { method: 'POST', body: lines.join('\n') })
    if (res.status !== 204) throw new Error(`InfluxDB refused a set-up write: HTTP ${res.status} ${await res.text()}`)
  }
  // alert events carry nanoseconds (infra/influx/line-protocol.ts), readings milliseconds
  for (const events of alertEvents(devices, from, to, alerts)) await post(events.map(alertEventLine), 'ns')
  let done = 0
  const total = (devices.length * (to - from)) / (10 * MIN)
  const stop = progress('loading InfluxDB', () => `${fmt((100 * done) / total, 1)}% of the readings`)
  try {
    const inFlight: Promise<void>[] = []
    for (const batch of readingsByDevice(devices, from, to, 10 * MIN, 50_000)) {
      inFlight.push(post(batch.map(toLine), 'ms'))
      done += batch.length
      if (inFlight.length >= 2) await inFlight.shift()
    }
    await Promise.all(inFlight)
  } finally {
    stop()
  }
}

/** Starts the platform on the loaded store, asks each query `repeats` times, stops it. */
async function measure(store: string, work: string, siteFile: string, env: Record<string, string>, devices: readonly BenchDevice[], opts: HistoryOptions, loadSeconds: number): Promise<Figures> {
  const dataDir = join(work, `data-${store}`)
  mkdirSync(dataDir, { recursive: true })
  const t0 = performance.now()
  const proc = runPlatform(testEnv(dataDir, { MINEWATCH_SITE: siteFile, MINEWATCH_ADMIN_TOKEN: ADMIN, ...env }), [], COMPILED_ENTRY)
  const ports = await proc.started(600_000)
  const startSeconds = (performance.now() - t0) / 1000
  const base = `http://127.0.0.1:${ports.http}`
  const get = async (path: string): Promise<{ ms: number; body: any }> => {
    const t = performance.now()
    const res = await fetch(base + path, { headers: { authorization: `Bearer ${ADMIN}` } })
    const body = await res.json()
    const ms = performance.now() - t
    if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status} ${JSON.stringify(body)}`)
    return { ms, body }
  }
  try {
    const now = Date.now()
    const device = devices[0]!.id
    const sixMonthsAgo = now - 182 * DAY
    const queries: [string, string, (b: any) => string][] = [
      ['`/api/readings` raw, one metric, 30 days', `/api/readings?device=${device}&metric=dN&from=${now - 30 * DAY}&to=${now}`, (b) => `${fmt(b.points.length)} points`],
      ['`/api/readings` 1-hour buckets, 30 days', `/api/readings?device=${device}&metric=dN&from=${now - 30 * DAY}&to=${now}&every=1h`, (b) => `${fmt(b.buckets.length)} buckets`],
      ['`/api/readings` 1-day buckets, a year', `/api/readings?device=${device}&metric=dN&from=${now - opts.days * DAY}&to=${now}&every=1d`, (b) => `${fmt(b.buckets.length)} buckets`],
      ['`/api/readings` 1-hour buckets, a year', `/api/readings?device=${device}&metric=dN&from=${now - opts.days * DAY}&to=${now}&every=1h`, (b) => `${fmt(b.buckets.length)} buckets`],
      ['trend of a warning, 30 days (3 metrics, thinned)', `/api/alerts/hist-${opts.alerts}/trend?hours=720`, (b) => `${fmt(b.points.length)} points drawn`],
      ['`/api/alerts` (unresolved)', '/api/alerts', (b) => `${fmt(b.count)} warnings`],
      ['`/api/alerts?state=all` (the book: unresolved and 7 days resolved)', '/api/alerts?state=all', (b) => `${fmt(b.count)} warnings`],
      ['`/api/alerts/resolved`, the latest page', '/api/alerts/resolved?limit=50', (b) => `${fmt(b.count)} warnings`],
      ['`/api/alerts/resolved`, a page six months back', `/api/alerts/resolved?limit=50&before=${sixMonthsAgo}`, (b) => `${fmt(b.count)} warnings`],
    ]
    const figures: Figures['queries'][number][] = []
    for (const [name, path, size] of queries) {
      const first = await get(path)
      const times: number[] = []
      for (let i = 1; i < opts.repeats; i++) times.push((await get(path)).ms)
      times.sort((a, b) => a - b)
      figures.push({ name, cold: first.ms, p50: percentile(times, 50), p95: percentile(times, 95), size: size(first.body) })
    }
    const rss = await rssOf(proc.child.pid!)
    return { store, loadSeconds, startSeconds, rssBytes: rss.now, queries: figures }
  } finally {
    proc.child.kill('SIGTERM')
    await proc.exited
  }
}

export async function history(influx: TestInflux, work: string, say: (line?: string) => void, opts: HistoryOptions): Promise<Figures[]> {
  const { file, devices } = await writeBenchSite(work, opts.devices, undefined, 600)
  // the history ends now: the platform refuses nothing and the screens' default ranges hold it
  const to = Math.floor(Date.now() / (10 * MIN)) * 10 * MIN
  const from = to - opts.days * DAY
  const readings = (opts.devices * (to - from)) / (10 * MIN)
  say(`== history: ${fmt(opts.devices)} prisms × ${opts.days} days of 10-minute readings (${fmt(readings)} readings, ${fmt(3 * readings)} values), ${fmt(opts.alerts)} resolved warnings`)
  const out: Figures[] = []

  let t = performance.now()
  const sqliteDir = join(work, 'data-sqlite')
  mkdirSync(sqliteDir, { recursive: true })
  await loadSqlite(join(sqliteDir, 'minewatch.db'), devices, from, to, opts.alerts)
  out.push(await measure('sqlite', work, file, {}, devices, opts, (performance.now() - t) / 1000))
  // each store's figures as soon as they are in (the next store's set-up takes a while)
  table(say, out)

  t = performance.now()
  await loadInflux(influx, 'history', devices, from, to, opts.alerts)
  out.push(await measure('influxdb', work, file, { MINEWATCH_INFLUX_URL: influx.url, MINEWATCH_INFLUX_BUCKET: 'history' }, devices, opts, (performance.now() - t) / 1000))

  table(say, out)
  return out
}

function table(say: (line?: string) => void, out: readonly Figures[]): void {
  say()
  say(`| figure | ${out.map((f) => f.store).join(' | ')} |`)
  say(`|---|${out.map(() => '---:').join('|')}|`)
  say(`| loading the history (set-up) | ${out.map((f) => `${fmt(f.loadSeconds)} s`).join(' | ')} |`)
  say(`| start, no snapshot (book rebuilt from the store) to listening | ${out.map((f) => `${fmt(f.startSeconds, 1)} s`).join(' | ')} |`)
  say(`| platform RSS after the queries | ${out.map((f) => mib(f.rssBytes)).join(' | ')} |`)
  for (let q = 0; q < out[0]!.queries.length; q++) {
    say(
      `| ${out[0]!.queries[q]!.name}: first / p50 / p95 | ${out.map((f) => `${fmt(f.queries[q]!.cold, 1)} / ${fmt(f.queries[q]!.p50, 1)} / ${fmt(f.queries[q]!.p95, 1)} ms (${f.queries[q]!.size})`).join(' | ')} |`,
    )
  }
  say()
}
