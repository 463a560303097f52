import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEMO_SITE } from '../../infra/config/env.js'
import { loadSiteFile } from '../../infra/config/site-file.js'
import type { DeviceKind } from '../../ingest/contract/kinds.js'
import { startPublisher } from '../../simulators/load.js'
import { eventually } from '../helpers/eventually.js'
import { startInflux, type TestInflux } from '../helpers/influxdb.js'
import { runPlatform, testEnv, waitFor } from '../helpers/process.js'
import { startRedis, startSentinels, type TestRedis } from '../helpers/redis.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'
import { SAMPLE_VALUES } from '../helpers/samples.js'

/**
 * The durable hand-off (issue 17 item 3; docs/cluster.md): a cluster node hands each reading it
 * committed to its mine's stream in Redis, and its journal keeps the reading until Redis has it.
 * A node (the real entry point, in its own process) takes readings from real MQTT.js devices of
 * two mines publishing QoS 1 flat out; Redis stalls (SIGSTOP) and the node goes on acknowledging;
 * the node is killed with SIGKILL while Redis is stalled, Redis goes on, the node is started again: every
 * reading it acknowledged is then in its mine's stream in Redis (Debian's redis-server), once, and
 * each device's readings in the order they were sent.
 */
const TOKEN = 'handoff-test-admin-token-0123'
const site = loadSiteFile(DEMO_SITE)
if (!site.ok) throw new Error(site.errors.join('\n'))
const DEVICES = site.site.mines.flatMap((m) => m.devices.map((d) => ({ id: d.id, kind: d.kind as DeviceKind, mine: m.id })))

let redis: TestRedis
let influx: TestInflux
let direct: Redis
const dirs: string[] = []

beforeAll(async () => {
  redis = await startRedis()
  influx = await startInflux()
  direct = new Redis(redis.url)
}, 60_000)

afterAll(async () => {
  direct?.disconnect()
  await redis?.dispose()
  await influx?.dispose()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

async function publishFlatOut(port: number, t0: number) {
  const clients: MqttClient[] = []
  for (const d of DEVICES) clients.push(await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { username: d.id, password: `${d.id}-demo`, reconnectPeriod: 0, clientId: `handoff-${d.id}` }))
  const acked = new Map<string, number[]>(DEVICES.map((d) => [d.id, []]))
  const publishers = DEVICES.map((d, n) =>
    startPublisher(clients[n]!, {
      topic: `mines/${d.mine}/devices/${d.id}/telemetry`,
      window: 16,
      message: (i) => ({ ts: t0 + i, body: JSON.stringify({ ts: t0 + i, values: SAMPLE_VALUES[d.kind], seq: i }) }),
      onAck: (ts) => acked.get(d.id)!.push(ts),
    }),
  )
  return {
    acked,
    publishers,
    total: () => publishers.reduce((n, p) => n + p.stats.acked, 0),
    close: () => Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined))),
  }
}

/** Each device's readings in its mine's stream, in stream order. */
async function streamed(reader: Redis): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>(DEVICES.map((d) => [d.id, []]))
  for (const mine of new Set(DEVICES.map((d) => d.mine))) {
    for (const [, fields] of await reader.xrange(`minewatch:readings:${mine}`, '-', '+')) {
      const r = JSON.parse(fields[1]!) as { mineId: string; deviceId: string; ts: number }
      expect(r.mineId).toBe(mine)
      out.get(r.deviceId)?.push(r.ts)
    }
  }
  return out
}

describe('cluster mode: the hand-off of readings to Redis', () => {
  it('has every acknowledged reading in its mine’s stream, once and in order, across a kill -9 of the node under load, and says how far behind Redis is while it stalls', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'minewatch-handoff-'))
    dirs.push(dir)
    const env = testEnv(dir, { MINEWATCH_ADMIN_TOKEN: TOKEN, MINEWATCH_REDIS_URL: redis.url, MINEWATCH_NODE_ID: 'node-a', MINEWATCH_INFLUX_URL: influx.url, MINEWATCH_INFLUX_BUCKET: 'handoff' })
    const first = runPlatform(env)
    const ports = await first.started(60_000)
    const t0 = Date.now() - 3_600_000
    const load = await publishFlatOut(ports.mqtt, t0)
    await waitFor(() => load.total() >= 1500, 30_000)
    // Redis stalls: the node goes on acknowledging (its journal holds the readings), the hand-off waits
    redis.pause()
    const stalledAt = load.total()
    await waitFor(() => load.total() >= stalledAt + 1500, 30_000)
    // the node says so: a backlog for Redis, waiting for a second and more, in health and in metrics
    const metric = async (name: string) =>
      Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await fetch(`http://127.0.0.1:${ports.http}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text())?.[1])
    await eventually(async () => (await metric('minewatch_cluster_handoff_lag_seconds')) >= 1, 10_000)
    expect(await metric('minewatch_cluster_handoff_backlog_bytes')).toBeGreaterThan(0)
    const stalled = (await (await fetch(`http://127.0.0.1:${ports.http}/api/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
      cluster: { handoff: { backlogBytes: number; lagSeconds: number } }
    }
    expect(stalled.cluster.handoff.lagSeconds).toBeGreaterThanOrEqual(1)
    first.child.kill('SIGKILL')
    await first.exited
    redis.resume()
    await Promise.all(load.publishers.map((p) => p.done))
    await load.close()

    const second = runPlatform(env)
    const again = await second.started(60_000)
    const health = async () =>
      (await (await fetch(`http://127.0.0.1:${again.http}/api/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
        cluster: { handoff: { backlogBytes: number; lagSeconds: number; lastError: string | null } }
      }
    // the restart hands off what Redis did not have before the crash
    await eventually(async () => (await health()).cluster.handoff.backlogBytes === 0, 30_000)
    expect((await health()).cluster.handoff).toMatchObject({ lastError: null, lagSeconds: 0 })
    second.child.kill('SIGTERM')
    expect(await second.exited).toBe(0)

    expectAllOnceInOrder(await streamed(direct), load.acked)
  })

  it('loses nothing acknowledged when the Redis primary dies with readings its replica lacked and fails over to it under load (Sentinel), and doubles nothing', async () => {
    const sentinel = await startSentinels()
    let spare: TestRedis | undefined
    try {
      const dir = mkdtempSync(join(tmpdir(), 'minewatch-handoff-'))
      dirs.push(dir)
      // with Sentinel the journal lets a reading go only once a replica has it too (WAIT 1)
      const env = testEnv(dir, {
        MINEWATCH_ADMIN_TOKEN: TOKEN,
        MINEWATCH_REDIS_SENTINELS: sentinel.sentinels,
        MINEWATCH_REDIS_MASTER: sentinel.master,
        MINEWATCH_NODE_ID: 'node-f',
        MINEWATCH_INFLUX_URL: influx.url,
        MINEWATCH_INFLUX_BUCKET: 'handoff_failover',
      })
      const node = runPlatform(env)
      const ports = await node.started(60_000)
      const t0 = Date.now() - 3_600_000
      const load = await publishFlatOut(ports.mqtt, t0)
      await waitFor(() => load.total() >= 1500, 30_000)
      // the replica falls behind (stalled), and the primary dies with readings it alone had; the
      // sentinels make the replica the primary
      await sentinel.holdReplication()
      const stalledAt = load.total()
      await waitFor(() => load.total() >= stalledAt + 1500, 30_000)
      const old = sentinel.primary.port
      await sentinel.primary.kill()
      await eventually(async () => (await sentinel.primaryPort().catch(() => old)) !== old, 30_000)
      const failedOverAt = load.total()
      // a new replica of the new primary (the old one stays dead: started again empty, a primary
      // without persistence can have its replicas wipe themselves from it, as Redis's docs warn)
      spare = await startRedis({ args: ['--replicaof', '127.0.0.1', String(await sentinel.primaryPort())] })
      await waitFor(() => load.total() >= failedOverAt + 1500, 30_000)
      for (const p of load.publishers) p.stop()
      await Promise.all(load.publishers.map((p) => p.done))
      await load.close()
      const health = async () =>
        (await (await fetch(`http://127.0.0.1:${ports.http}/api/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
          cluster: { handoff: { backlogBytes: number; lastError: string | null } }
        }
      await eventually(async () => (await health()).cluster.handoff.backlogBytes === 0, 60_000)
      node.child.kill('SIGTERM')
      expect(await node.exited).toBe(0)
      const reader = new Redis(await sentinel.primaryPort(), '127.0.0.1')
      try {
        expectAllOnceInOrder(await streamed(reader), load.acked)
      } finally {
        reader.disconnect()
      }
    } finally {
      await spare?.dispose()
      await sentinel.dispose()
    }
  }, 180_000)

  it('writes to InfluxDB, through another node, every reading a node acknowledged and handed off, and every warning event it raised, but had not written when it died for good', async () => {
    const bucket = 'handoff_orphans'
    await influx.query(`CREATE DATABASE "${bucket}"`)
    // node A reaches InfluxDB through a line the test cuts: its journal keeps what it acknowledges
    const line = await startTcpProxy(Number(new URL(influx.url).port))
    const started: ReturnType<typeof runPlatform>[] = []
    try {
      const node = (id: string, influxUrl: string) => {
        const dir = mkdtempSync(join(tmpdir(), 'minewatch-handoff-'))
        dirs.push(dir)
        const p = runPlatform(testEnv(dir, { MINEWATCH_ADMIN_TOKEN: TOKEN, MINEWATCH_REDIS_URL: redis.url, MINEWATCH_NODE_ID: id, MINEWATCH_INFLUX_URL: influxUrl, MINEWATCH_INFLUX_BUCKET: bucket }))
        started.push(p)
        return p
      }
      // (yt-jinshan is node-a's: rendezvous hashing of these names, cluster-leases.test.ts)
      const a = node('node-a', `http://127.0.0.1:${line.port}`)
      const b = node('node-b', influx.url)
      const [portsA, portsB] = await Promise.all([a.started(60_000), b.started(60_000)])
      line.cut()
      const load = await publishFlatOut(portsA.mqtt, Date.now() - 3_600_000)
      await waitFor(() => load.total() >= 3000, 30_000)
      for (const p of load.publishers) p.stop()
      await Promise.all(load.publishers.map((p) => p.done))
      await load.close()
      const health = async (port: number) =>
        (await (await fetch(`http://127.0.0.1:${port}/api/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
          store: { pending: number }
          cluster: { handoff: { backlogBytes: number }; partitions: { owns: { mineId: string }[] }; orphans: { orphansWritten: number; orphanEventsWritten: number } }
        }
      // Redis has every reading; the store has none of them (A's line to InfluxDB is cut)
      await eventually(async () => (await health(portsA.http)).cluster.handoff.backlogBytes === 0, 30_000)
      expect((await health(portsA.http)).store.pending).toBe(load.total())
      // and A, owning yt-jinshan, raises a warning there: in Redis, not in the store
      await eventually(async () => (await health(portsA.http)).cluster.partitions.owns.some((o) => o.mineId === 'yt-jinshan'), 30_000)
      const piezo = await mqtt.connectAsync(`mqtt://127.0.0.1:${portsA.mqtt}`, { username: 'yt-piezo-zk03', password: 'yt-piezo-zk03-demo', reconnectPeriod: 0, clientId: 'handoff-piezo-warning' })
      await piezo.publishAsync('mines/yt-jinshan/devices/yt-piezo-zk03/telemetry', JSON.stringify({ ts: Date.now(), values: { depth: 4.3 } }), { qos: 1 })
      await piezo.endAsync()
      const raised = (await eventually(async () => {
        for (const [, f] of (await direct.xrange('minewatch:alerts:yt-jinshan', '-', '+')) as [string, string[]][]) {
          const e = JSON.parse(f[f.indexOf('e') + 1]!) as { type: string; alertId: string; alert: { rule: string } }
          if (e.type === 'raised' && e.alert.rule === 'phreatic-depth' && f[f.indexOf('n') + 1] === 'node-a') return e
        }
        return undefined
      }, 20_000))!
      // A dies and never comes back (its volume is lost with it)
      a.child.kill('SIGKILL')
      await a.exited

      // B, owning every mine once A's leases lapse, writes what A had not
      const rowsOf = async (d: (typeof DEVICES)[number]) => {
        const answer = await influx.query(`SELECT * FROM "${d.kind}" WHERE "device" = '${d.id}'`, bucket)
        return ((answer.results[0].series?.[0]?.values ?? []) as [number, ...unknown[]][]).map(([t]) => t)
      }
      // (the earlier tests' nodes of this file, gone too, had their own leftovers, in other buckets: B writes those here as well)
      const missing = async () => {
        const out: string[] = []
        for (const d of DEVICES) {
          const times = new Set(await rowsOf(d))
          for (const t of load.acked.get(d.id)!) if (!times.has(t)) out.push(`${d.id}@${t}`)
        }
        return out
      }
      await eventually(async () => (await missing()).length === 0, 60_000).catch(() => undefined)
      expect(await missing(), 'acknowledged by A, not in InfluxDB').toEqual([])
      expect((await health(portsB.http)).cluster.orphans.orphansWritten).toBeGreaterThanOrEqual(load.total())
      // the warning's record too (the boards' history, the monthly report)
      const stored = async () => (await influx.query(`SELECT "body" FROM "alert_events" WHERE "type" = 'raised'`, bucket)).results[0].series?.[0]?.values ?? []
      await eventually(async () => (await stored()).some(([, body]: [number, string]) => JSON.parse(body).alertId === raised.alertId), 30_000).catch(() => undefined)
      expect((await stored()).map(([, body]: [number, string]) => JSON.parse(body).alertId)).toContain(raised.alertId)
      expect((await health(portsB.http)).cluster.orphans.orphanEventsWritten).toBeGreaterThanOrEqual(1)
    } finally {
      for (const p of started) p.child.kill('SIGKILL')
      await Promise.all(started.map((p) => p.exited))
      await line.close()
    }
  }, 180_000)
})

function expectAllOnceInOrder(got: Map<string, number[]>, acked: Map<string, number[]>) {
  let total = 0
  for (const d of DEVICES) {
    const sent = acked.get(d.id)!
    const have = got.get(d.id)!
    total += sent.length
    const inStream = new Set(have)
    expect(have.length, `${d.id}: nothing twice`).toBe(inStream.size)
    expect(
      sent.filter((ts) => !inStream.has(ts)),
      `${d.id}: acknowledged but not in the stream`,
    ).toEqual([])
    expect(have, `${d.id}: in the order sent`).toEqual([...have].sort((a, b) => a - b))
  }
  expect(total).toBeGreaterThanOrEqual(3000)
}
