import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../helpers/eventually.js'
import { startInflux, type TestInflux } from '../helpers/influxdb.js'
import { runPlatform, testEnv, type PlatformProcess } from '../helpers/process.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'

/**
 * Cluster mode, its first part (issue 17 item 2; docs/cluster.md): the broker across nodes. Two
 * nodes, each the real entry point in its own process with the demo site, share a real Redis
 * (Debian's redis-server) and a real InfluxDB; real MQTT.js clients connect to one node or the
 * other. A warning raised on the node a device publishes to reaches a service account connected
 * to the other; a persistent session follows its client to the other node with what was queued
 * for it; a client id is its principal's across the cluster.
 */
const TOKEN = 'cluster-test-admin-token-0123'
const MINE = 'yt-jinshan'
const PIEZO = 'yt-piezo-zk03'

let redis: TestRedis
let influx: TestInflux
const nodes: { process: PlatformProcess; mqtt: number; http: number }[] = []
const dirs: string[] = []
const clients: MqttClient[] = []

async function startNode(name: string) {
  const dir = mkdtempSync(join(tmpdir(), `minewatch-cluster-${name}-`))
  dirs.push(dir)
  const p = runPlatform(
    testEnv(dir, {
      MINEWATCH_ADMIN_TOKEN: TOKEN,
      MINEWATCH_REDIS_URL: redis.url,
      MINEWATCH_NODE_ID: name,
      MINEWATCH_INFLUX_URL: influx.url,
      MINEWATCH_INFLUX_BUCKET: 'minewatch_cluster',
    }),
  )
  const ports = await p.started(60_000)
  return { process: p, mqtt: ports.mqtt, http: ports.http }
}

async function connect(node: number, username: string, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${nodes[node]!.mqtt}`, { username, password: `${username}-demo`, reconnectPeriod: 0, ...opts })
  clients.push(c)
  return c
}

/** A reading of the piezometer below its orange line (4.4 m): the demo's 浸润线 warning. */
async function lowWater(node: number, depth: number, ts: number) {
  const device = await connect(node, PIEZO, { clientId: `${PIEZO}-${ts}` })
  await device.publishAsync(`mines/${MINE}/devices/${PIEZO}/telemetry`, JSON.stringify({ ts, values: { depth } }), { qos: 1 })
  await device.endAsync()
}

beforeAll(async () => {
  redis = await startRedis()
  influx = await startInflux()
  nodes.push(await startNode('node-a'), await startNode('node-b'))
}, 120_000)

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)))
  for (const n of nodes) n.process.child.kill('SIGKILL')
  await Promise.all(nodes.map((n) => n.process.exited))
  await redis?.dispose()
  await influx?.dispose()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describe('cluster mode: the broker across nodes (Redis)', () => {
  it('says in health which node it is and that Redis is connected', async () => {
    for (const [i, n] of nodes.entries()) {
      const health = (await (await fetch(`http://127.0.0.1:${n.http}/api/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { cluster: unknown }
      expect(health.cluster).toEqual({
        node: ['node-a', 'node-b'][i],
        redis: redis.url,
        redisConnected: true,
        handoff: { backlogBytes: expect.any(Number), lagSeconds: expect.any(Number), sentReadings: expect.any(Number), lastError: null },
        partitions: expect.objectContaining({ node: ['node-a', 'node-b'][i], lastError: null }),
        orphans: { orphansWritten: expect.any(Number), orphanEventsWritten: expect.any(Number), lastError: null },
      })
    }
  })

  it('delivers a warning raised on one node to a service account connected to the other', async () => {
    const svc = await connect(1, 'svc-yantai-city', { clientId: 'svc-live' })
    const got: { type: string; alert: { rule: string; subject: { id: string } } }[] = []
    svc.on('message', (_t, payload) => got.push(JSON.parse(payload.toString())))
    await svc.subscribeAsync(`mines/${MINE}/alerts`, { qos: 1 })
    await lowWater(0, 4.2, Date.now() - 60_000)
    const event = await eventually(() => got.find((e) => e.alert.rule === 'phreatic-depth'), 20_000)
    expect(event).toMatchObject({ type: 'raised', alert: { subject: { id: PIEZO } } })
  })

  it('keeps a persistent session across nodes: what was queued while away is delivered on the other node', async () => {
    const away = await connect(0, 'svc-yantai-city', { clientId: 'svc-session', clean: false })
    await away.subscribeAsync(`mines/${MINE}/alerts`, { qos: 1 })
    await away.endAsync()
    // the warning goes red while the account is away (raised on node A)
    await lowWater(0, 3.8, Date.now() - 30_000)
    const got: { type: string; alert: { rule: string; level: string } }[] = []
    const back = mqtt.connect(`mqtt://127.0.0.1:${nodes[1]!.mqtt}`, { username: 'svc-yantai-city', password: 'svc-yantai-city-demo', clientId: 'svc-session', clean: false, reconnectPeriod: 0 })
    clients.push(back)
    back.on('message', (_t, payload) => got.push(JSON.parse(payload.toString())))
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
      back.once('connect', (p) => resolve(p as { sessionPresent: boolean }))
      back.once('error', reject)
      back.once('close', () => reject(new Error('closed before its CONNACK')))
    })
    expect(connack.sessionPresent).toBe(true)
    const level = await eventually(() => got.find((e) => e.type === 'level' && e.alert.rule === 'phreatic-depth'), 40_000).catch((err: Error) => {
      // what arrived, and what the nodes said, to tell a slow rule thread from a lost message
      throw new Error(
        `${err.message}; received ${JSON.stringify(got.map((e) => [e.type, e.alert.rule]))}; node logs:\n${nodes.map((n) => n.process.output().split('\n').slice(-15).join('\n')).join('\n---\n')}`,
      )
    })
    expect(level!.alert.level).toBe('red')
  }, 60_000)

  it('keeps a client id its principal’s across nodes: another device using it on the other node is refused, the first stays connected', async () => {
    const first = await connect(0, 'yt-rain-01', { clientId: 'shared-id' })
    let closed = false
    first.on('close', () => (closed = true))
    const refused = await mqtt
      .connectAsync(`mqtt://127.0.0.1:${nodes[1]!.mqtt}`, { username: 'yt-power-01', password: 'yt-power-01-demo', clientId: 'shared-id', reconnectPeriod: 0 })
      .then((c) => (clients.push(c), 'connected'))
      .catch((err: Error & { code?: number }) => err.code)
    expect(refused).toBe(2) // CONNACK 2: identifier rejected
    // the first still works: a publish round trip after the refusal, on its connection
    await first.publishAsync(`mines/${MINE}/devices/yt-rain-01/telemetry`, JSON.stringify({ ts: Date.now(), values: { rainfall: 0 } }), { qos: 1 })
    expect(closed).toBe(false)
    // its owner may take it over from the other node (a reconnect through another node)
    const again = await connect(1, 'yt-rain-01', { clientId: 'shared-id' })
    expect(again.connected).toBe(true)
    await eventually(() => closed, 10_000)
  })
})
