import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pino } from 'pino'
import type { Reading } from '../../ingest/reading.js'
import { startPublisher } from '../../simulators/load.js'
import { eventually } from '../helpers/eventually.js'
import { INFLUX_ADMIN, startInflux, type TestInflux } from '../helpers/influxdb.js'
import { ADMIN_TOKEN, startTestPlatform, type TestPlatform } from '../helpers/platform.js'

/**
 * The store failing under the platform (README, "Durability: the journal"): InfluxDB stopped under load, refusing the
 * credentials, missing its database. Readings keep being acknowledged into the journal, live
 * consumers keep receiving them, health and the log say what is wrong, and once it is fixed the
 * backlog drains with nothing lost and nothing doubled.
 */
let influx: TestInflux
beforeAll(async () => {
  influx = await startInflux({ auth: true })
})
afterAll(async () => {
  await influx?.dispose()
})

function captureLog() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = []
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) })
  return { logger, lines }
}

async function platformOn(db: string, credentials = INFLUX_ADMIN) {
  const log = captureLog()
  const t = await startTestPlatform({
    influx: { url: influx.url, bucket: db, ...credentials, timeoutMs: 2000 },
    writer: { batchSize: 500, flushMs: 20, maxBackoffMs: 200 },
    logger: log.logger,
  })
  const live: Reading[] = []
  t.platform.intake.onReadings((readings) => live.push(...readings))
  return { t, log, live }
}

async function health(t: TestPlatform) {
  return (await t.admin('/api/health')).body
}

/** Distinct timestamps stored for a device, and how many points in all. */
async function stored(t: TestPlatform, device: string, from: number) {
  const points = await t.platform.store.range({ deviceId: device, metric: 'rainfall', from, to: from + 10_000_000, limit: 1_000_000 })
  return { distinct: new Set(points.map((p) => p.ts)).size, total: points.length, ts: new Set(points.map((p) => p.ts)) }
}

function steadyRain(t: TestPlatform, client: Awaited<ReturnType<TestPlatform['connect']>>, t0: number, acked: Set<number>) {
  return startPublisher(client, {
    topic: 'mines/mine-a/devices/a-rain/telemetry',
    window: 16,
    ratePerSec: 400,
    message: (i) => ({ ts: t0 + i, body: JSON.stringify({ ts: t0 + i, values: { rainfall: 0.5 } }) }),
    onAck: (ts) => acked.add(ts),
  })
}

describe('InfluxDB stopped under load', () => {
  it('keeps acknowledging and feeding live consumers, then drains the backlog with nothing lost or doubled', async () => {
    await influx.query('CREATE DATABASE "outage"')
    const { t, log, live } = await platformOn('outage')
    const t0 = Date.now() - 3_600_000
    const acked = new Set<number>()
    const pub = steadyRain(t, await t.connect('a-rain'), t0, acked)
    await eventually(() => acked.size >= 200)

    await influx.stop()
    const ackedBefore = acked.size
    const liveBefore = live.length
    await eventually(async () => (await health(t)).status === 'degraded', 10_000)
    // with the store down, readings go on being acknowledged and reaching live consumers
    await eventually(() => acked.size - ackedBefore > 300 && live.length - liveBefore > 300, 10_000)
    const down = await health(t)
    expect(down.store.ok).toBe(false)
    expect(down.store.pending).toBeGreaterThan(0)
    // the backlog's age: the oldest unwritten reading was committed at least as long ago as the outage is old
    expect(down.store.backlogAgeSeconds).toBeGreaterThan(0)
    expect(down.store.lastError).toMatch(/refuses connections|InfluxDB/)
    expect(log.lines.some((l) => l.msg.includes('store write failed; readings kept, retrying'))).toBe(true)

    await influx.start()
    pub.stop()
    await pub.done
    await eventually(async () => (await health(t)).store.pending === 0, 20_000)
    expect((await health(t)).status).toBe('ok')
    expect((await health(t)).store.backlogAgeSeconds).toBe(0)
    expect((await t.admin('/metrics')).text).toMatch(/^minewatch_store_backlog_age_seconds 0$/m)
    expect(log.lines.some((l) => l.msg.includes('store writes recovered'))).toBe(true)
    const s = await stored(t, 'a-rain', t0)
    expect(s.total).toBe(s.distinct)
    expect([...acked].filter((ts) => !s.ts.has(ts))).toEqual([])
    await t.stop()
  })
})

describe('InfluxDB down when the platform starts', () => {
  it('starts with the book it had (a signed warning still signed), and a new low reading updates that warning instead of opening a second', async () => {
    await influx.query('CREATE DATABASE "bookstart"')
    const dataDir = mkdtempSync(join(tmpdir(), 'minewatch-bookstart-'))
    try {
      const first = await startTestPlatform({ influx: { url: influx.url, bucket: 'bookstart', ...INFLUX_ADMIN, timeoutMs: 2000 }, dataDir })
      const piezo = await first.connect('a-piezo')
      await piezo.publishAsync('mines/mine-a/devices/a-piezo/telemetry', JSON.stringify({ ts: Date.now() - 60_000, values: { depth: 3.5 } }), { qos: 1 })
      await eventually(async () => (await first.admin('/api/alerts?mine=mine-a&level=red')).body.count === 1)
      const id = (await first.admin('/api/alerts?mine=mine-a&level=red')).body.alerts[0].id
      const signed = await first.platform.app.inject({ method: 'POST', url: `/api/alerts/${id}/acknowledge`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
      expect(signed.statusCode).toBe(200)
      await first.stop()

      await influx.stop()
      const second = await startTestPlatform({ influx: { url: influx.url, bucket: 'bookstart', ...INFLUX_ADMIN, timeoutMs: 2000 }, dataDir })
      try {
        expect((await second.admin('/api/alerts?mine=mine-a')).body.alerts).toMatchObject([{ id, state: 'acknowledged', level: 'red' }])
        // the phreatic line back to normal, then low again: the same warning, back from normal
        const again = await second.connect('a-piezo')
        await again.publishAsync('mines/mine-a/devices/a-piezo/telemetry', JSON.stringify({ ts: Date.now() - 40_000, values: { depth: 5.0 } }), { qos: 1 })
        await again.publishAsync('mines/mine-a/devices/a-piezo/telemetry', JSON.stringify({ ts: Date.now() - 30_000, values: { depth: 3.4 } }), { qos: 1 })
        await eventually(async () => (await second.admin('/api/alerts?mine=mine-a&state=all')).body.alerts.some((a: { value: number }) => a.value === 3.4))
        const all = (await second.admin('/api/alerts?mine=mine-a&state=all')).body.alerts
        expect(all).toMatchObject([{ id, state: 'acknowledged', level: 'red', value: 3.4, normal: false }])
      } finally {
        await influx.start()
        await second.stop()
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

describe('InfluxDB answering errors', () => {
  it('refused credentials: says so in health and the log, keeps the data, recovers when the user exists', async () => {
    await influx.query('CREATE DATABASE "creds"')
    const { t, log } = await platformOn('creds', { username: 'minewatch', password: 'not-yet-a-user' })
    const client = await t.connect('a-rain')
    const t0 = Date.now() - 3_600_000
    for (let i = 0; i < 20; i++) await client.publishAsync('mines/mine-a/devices/a-rain/telemetry', JSON.stringify({ ts: t0 + i, values: { rainfall: 1 } }), { qos: 1 })
    await eventually(async () => /refused the credentials/.test((await health(t)).store.lastError ?? ''), 10_000)
    const h = await health(t)
    expect(h.status).toBe('degraded')
    expect(h.store.pending).toBe(20)
    expect(h.store.lastError).not.toContain('not-yet-a-user')
    expect(log.lines.some((l) => l.msg.includes('store write failed') && String(l.err).includes('refused the credentials'))).toBe(true)
    expect(JSON.stringify(log.lines)).not.toContain('not-yet-a-user')

    await influx.query(`CREATE USER "minewatch" WITH PASSWORD 'not-yet-a-user'`)
    await influx.query(`GRANT ALL ON "creds" TO "minewatch"`)
    await eventually(async () => (await health(t)).store.pending === 0, 10_000)
    expect((await stored(t, 'a-rain', t0)).distinct).toBe(20)
    await t.stop()
  })

  it('missing database: says which and how to create it, keeps the data, recovers once it exists', async () => {
    const { t } = await platformOn('not_created_yet')
    const client = await t.connect('a-rain')
    const t0 = Date.now() - 3_600_000
    for (let i = 0; i < 10; i++) await client.publishAsync('mines/mine-a/devices/a-rain/telemetry', JSON.stringify({ ts: t0 + i, values: { rainfall: 1 } }), { qos: 1 })
    await eventually(async () => /no database or bucket "not_created_yet"/.test((await health(t)).store.lastError ?? ''), 10_000)
    expect((await health(t)).store.lastError).toContain('CREATE DATABASE')

    await influx.query('CREATE DATABASE "not_created_yet"')
    await eventually(async () => (await health(t)).store.pending === 0, 10_000)
    expect((await stored(t, 'a-rain', t0)).distinct).toBe(10)
    await t.stop()
  })
})
