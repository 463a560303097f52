import Database from 'better-sqlite3'
import type { Reading } from '../ingest/reading.js'
import type { Bucket, Point, RangeQuery, Store, StoreHealth, StoredReading } from '../ingest/store.js'
import type { Alert, AlertEvent } from '../alerting/book/alert.js'
import type { AlertEventStore, ResolvedQuery } from '../alerting/store.js'

/**
 * The embedded store (README, "Storing in InfluxDB"): one SQLite file through better-sqlite3, used when no InfluxDB is
 * configured. One row per (device, metric, ts), the narrow shape that makes a range query per
 * metric an index walk. WAL mode: readers never block the writer. synchronous=FULL: a write that
 * returned is on disk even after a power cut, because the journal deletes what the store has
 * confirmed (NORMAL would survive kill -9 but could roll back confirmed batches on power loss).
 * It costs one fsync per batch of up to MINEWATCH_STORE_BATCH readings.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS readings (
  device  TEXT    NOT NULL,
  metric  TEXT    NOT NULL,
  ts      INTEGER NOT NULL,
  value   REAL    NOT NULL,
  is_bool INTEGER NOT NULL DEFAULT 0,
  seq     INTEGER,
  mine    TEXT    NOT NULL,
  kind    TEXT    NOT NULL,
  PRIMARY KEY (device, metric, ts)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS readings_device_ts ON readings (device, ts);
CREATE TABLE IF NOT EXISTS alert_events (
  alert_id TEXT    NOT NULL,
  at       INTEGER NOT NULL,
  type     TEXT    NOT NULL,
  mine     TEXT    NOT NULL,
  body     TEXT    NOT NULL,
  PRIMARY KEY (alert_id, at)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS alert_events_type_at ON alert_events (type, at);
`

interface Row {
  ts: number
  metric: string
  value: number
  is_bool: number
  seq: number | null
}

export class SqliteStore implements Store, AlertEventStore {
  readonly kind = 'sqlite'
  private readonly db: Database.Database
  private readonly insert: Database.Statement
  private readonly writeMany: (readings: readonly Reading[]) => void
  private readonly selectRange: Database.Statement
  private readonly selectBuckets: Database.Statement
  private readonly selectLatest: Database.Statement

  constructor(readonly file: string) {
    this.db = new Database(file)
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = FULL')
    this.db.exec(SCHEMA)
    // idempotent on (device, ts): a resent reading replaces itself metric by metric, as InfluxDB does
    this.insert = this.db.prepare(`
      INSERT INTO readings (device, metric, ts, value, is_bool, seq, mine, kind)
      VALUES (@device, @metric, @ts, @value, @isBool, @seq, @mine, @kind)
      ON CONFLICT (device, metric, ts) DO UPDATE SET
        value = excluded.value, is_bool = excluded.is_bool, seq = excluded.seq`)
    this.writeMany = this.db.transaction((readings: readonly Reading[]) => {
      for (const r of readings) {
        for (const [metric, v] of Object.entries(r.values)) {
          this.insert.run({
            device: r.deviceId,
            metric,
            ts: r.ts,
            value: typeof v === 'boolean' ? Number(v) : v,
            isBool: typeof v === 'boolean' ? 1 : 0,
            seq: r.seq ?? null,
            mine: r.mineId,
            kind: r.kind,
          })
        }
      }
    })
    this.selectRange = this.db.prepare('SELECT ts, value, is_bool FROM readings WHERE device = ? AND metric = ? AND ts >= ? AND ts < ? ORDER BY ts LIMIT ?')
    this.selectBuckets = this.db.prepare(
      // JS numbers bind as REAL; integer division is what makes the buckets
      `SELECT (ts / CAST(@every AS INTEGER)) * CAST(@every AS INTEGER) AS ts,
              avg(value) AS mean, min(value) AS min, max(value) AS max, count(*) AS count
       FROM readings WHERE device = @device AND metric = @metric AND ts >= @from AND ts < @to
       GROUP BY 1 ORDER BY 1 LIMIT @limit`,
    )
    this.selectLatest = this.db.prepare(
      `SELECT ts, metric, value, is_bool, seq FROM readings
       WHERE device = @device AND ts = (SELECT max(ts) FROM readings WHERE device = @device)`,
    )
  }

  async write(readings: readonly Reading[]): Promise<void> {
    this.writeMany(readings)
  }

  async range(q: RangeQuery): Promise<Point[]> {
    const rows = this.selectRange.all(q.deviceId, q.metric, q.from, q.to, q.limit) as Row[]
    return rows.map((r) => ({ ts: r.ts, value: r.is_bool ? r.value !== 0 : r.value }))
  }

  async downsample(q: RangeQuery & { readonly every: number }): Promise<Bucket[]> {
    const { deviceId: device, metric, from, to, limit } = q
    return this.selectBuckets.all({ every: Math.trunc(q.every), device, metric, from, to, limit }) as Bucket[]
  }

  async latest(deviceId: string): Promise<StoredReading | undefined> {
    const rows = this.selectLatest.all({ device: deviceId }) as Row[]
    const first = rows[0]
    if (!first) return undefined
    const values = Object.fromEntries(rows.map((r) => [r.metric, r.is_bool ? r.value !== 0 : r.value]))
    return first.seq === null ? { ts: first.ts, values } : { ts: first.ts, values, seq: first.seq }
  }

  async appendAlertEvents(events: readonly AlertEvent[]): Promise<void> {
    // the journal may hand an event over twice after a crash: the first copy stands
    const insert = this.db.prepare('INSERT OR IGNORE INTO alert_events (alert_id, at, type, mine, body) VALUES (?, ?, ?, ?, ?)')
    this.db.transaction(() => {
      for (const e of events) insert.run(e.alertId, e.at, e.type, e.mineId, JSON.stringify(e))
    })()
  }

  async latestAlertEvents(resolvedSince = Number.MIN_SAFE_INTEGER): Promise<AlertEvent[]> {
    const rows = this.db
      .prepare("SELECT body FROM alert_events e WHERE at = (SELECT max(at) FROM alert_events WHERE alert_id = e.alert_id) AND NOT (type = 'resolved' AND at < ?) ORDER BY at")
      .all(resolvedSince) as { body: string }[]
    return rows.map((r) => JSON.parse(r.body) as AlertEvent)
  }

  async alertHistory(alertId: string): Promise<AlertEvent[]> {
    const rows = this.db.prepare('SELECT body FROM alert_events WHERE alert_id = ? ORDER BY at').all(alertId) as { body: string }[]
    return rows.map((r) => JSON.parse(r.body) as AlertEvent)
  }

  async resolvedAlerts(q: ResolvedQuery): Promise<Alert[]> {
    if (q.mines.length === 0 || q.limit <= 0) return []
    const rows = this.db
      .prepare(`SELECT body FROM alert_events WHERE type = 'resolved' AND at < ? AND mine IN (${q.mines.map(() => '?').join(', ')}) ORDER BY at DESC LIMIT ?`)
      .all(q.before ?? Number.MAX_SAFE_INTEGER, ...q.mines, q.limit) as { body: string }[]
    return rows.map((r) => (JSON.parse(r.body) as AlertEvent).alert)
  }

  async health(): Promise<StoreHealth> {
    try {
      this.db.prepare('SELECT 1').get()
      return { ok: true, detail: this.file }
    } catch (err) {
      return { ok: false, detail: (err as Error).message }
    }
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close()
  }
}
