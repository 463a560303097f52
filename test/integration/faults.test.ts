import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEMO_SITE } from '../../infra/config/env.js'
import { loadSiteFile } from '../../infra/config/site-file.js'
import { InfluxStore } from '../../infra/influx-store.js'
import { SqliteStore } from '../../infra/sqlite-store.js'
import type { DeviceKind } from '../../ingest/contract/kinds.js'
import type { Store } from '../../ingest/store.js'
import { startPublisher } from '../../simulators/load.js'
import { eventually } from '../helpers/eventually.js'
import { INFLUX_ADMIN, startInflux, type TestInflux } from '../helpers/influxdb.js'
import { runPlatform, testEnv, waitFor } from '../helpers/process.js'
import { SAMPLE_VALUES } from '../helpers/samples.js'

/**
 * Zero loss under faults (README, "Durability: the journal"), with real processes: the platform as `npm start` runs it,
 * a real influxd, real MQTT.js devices publishing QoS 1 as fast as PUBACKs allow.
 */
let influx: TestInflux
const dirs: string[] = []
beforeAll(async () => {
  influx = await startInflux({ auth: true })
})
afterAll(async () => {
  await influx?.dispose()
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }))
})

function tempDir() {
  const d = mkdtempSync(join(tmpdir(), 'minewatch-fault-'))
  dirs.push(d)
  return d
}

const site = loadSiteFile(DEMO_SITE)
if (!site.ok) throw new Error(site.errors.join('\n'))
const DEVICES = site.site.mines[0]!.devices.map((d) => ({ id: d.id, kind: d.kind as DeviceKind, mine: site.site.mines[0]!.id }))
const topic = (d: (typeof DEVICES)[number]) => `mines/${d.mine}/devices/${d.id}/telemetry`
const firstMetric = (kind: DeviceKind) => Object.keys(SAMPLE_VALUES[kind])[0]!

/** Each device publishes readings with its own run of timestamps; returns what was acknowledged. */
async function publishFlatOut(mqttPort: number, t0: number) {
  const clients: MqttClient[] = []
  for (const d of DEVICES) {
    clients.push(await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { username: d.id, password: `${d.id}-demo`, reconnectPeriod: 0, clientId: `fault-${d.id}` }))
  }
  const acked = new Map<string, Set<number>>(DEVICES.map((d) => [d.id, new Set()]))
  const publishers = DEVICES.map((d, n) =>
    startPublisher(clients[n]!, {
      topic: topic(d),
      window: 32,
      message: (i) => ({ ts: t0 + i, body: JSON.stringify({ ts: t0 + i, values: SAMPLE_VALUES[d.kind], seq: i }) }),
      onAck: (ts) => acked.get(d.id)!.add(ts),
    }),
  )
  return {
    acked,
    publishers,
    total: () => publishers.reduce((n, p) => n + p.stats.acked, 0),
    close: () => Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined))),
  }
}

async function health(httpPort: number) {
  return (await fetch(`http://127.0.0.1:${httpPort}/api/health`, { headers: { authorization: 'Bearer fault-test-admin-token' } })).json() as Promise<any>
}

/** Every acknowledged reading is in the store, and nothing is there twice. */
async function expectAllStored(store: Store, acked: Map<string, Set<number>>, t0: number) {
  for (const d of DEVICES) {
    const want = [...acked.get(d.id)!].sort((a, b) => a - b)
    const points = await store.range({ deviceId: d.id, metric: firstMetric(d.kind), from: t0, to: t0 + 10_000_000, limit: 10_000_000 })
    const got = points.map((p) => p.ts)
    expect(new Set(got).size, `${d.id}: no duplicates`).toBe(got.length)
    const stored = new Set(got)
    const missing = want.filter((ts) => !stored.has(ts))
    expect(missing, `${d.id}: acknowledged but not stored`).toEqual([])
  }
}

const stores = {
  sqlite: { env: () => ({}), open: (dir: string) => new SqliteStore(join(dir, 'minewatch.db')) },
  influxdb: {
    env: (db: string) => ({
      MINEWATCH_INFLUX_URL: influx.url,
      MINEWATCH_INFLUX_BUCKET: db,
      MINEWATCH_INFLUX_USERNAME: INFLUX_ADMIN.username,
      MINEWATCH_INFLUX_PASSWORD: INFLUX_ADMIN.password,
    }),
    open: (_dir: string, db: string) =>
      new InfluxStore({ url: influx.url, bucket: db, username: INFLUX_ADMIN.username, password: INFLUX_ADMIN.password }, (id) => DEVICES.find((d) => d.id === id)?.kind, {
        debug() {},
        info() {},
        warn() {},
        error() {},
      }),
  },
}

describe.each(Object.keys(stores) as (keyof typeof stores)[])('kill -9 under full load (%s store)', (name) => {
  it('keeps every acknowledged reading, once, across the crash and a restart', async () => {
    const dir = tempDir()
    const db = `kill9_${name}`
    if (name === 'influxdb') await influx.query(`CREATE DATABASE "${db}"`)
    const env = testEnv(dir, { MINEWATCH_ADMIN_TOKEN: 'fault-test-admin-token', ...stores[name].env(db) })
    const first = runPlatform(env)
    const ports = await first.started()
    const t0 = Date.now() - 3_600_000
    const load = await publishFlatOut(ports.mqtt, t0)
    // crash in the middle of the stream, once a good number of readings is acknowledged
    await waitFor(() => load.total() >= 3000, 20_000)
    first.child.kill('SIGKILL')
    await first.exited
    const results = await Promise.all(load.publishers.map((p) => p.done))
    expect(results.every((r) => r.error)).toBe(true) // they were cut off, not stopped
    await load.close()

    const second = runPlatform(env)
    const again = await second.started()
    // the restart writes what the store had not confirmed before the crash
    await eventually(async () => (await health(again.http)).store.pending === 0, 20_000)
    second.child.kill('SIGTERM')
    expect(await second.exited).toBe(0)

    const store = stores[name].open(dir, db)
    await expectAllStored(store, load.acked, t0)
    await store.close()
  })
})
