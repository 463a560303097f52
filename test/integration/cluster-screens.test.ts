import { Redis } from 'ioredis'
import mqtt, { type MqttClient } from 'mqtt'
import { io as connectSocket, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AlertPush, DevicePush, ReadingPush } from '../../dashboard/live-events.js'
import { eventually } from '../helpers/eventually.js'
import { startInflux, type TestInflux } from '../helpers/influxdb.js'
import { TestCluster } from '../helpers/cluster.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js'

/**
 * Screens across nodes (issue 17 item 5; docs/cluster.md, "Screens"): two nodes of the real entry
 * point sharing a real Redis and InfluxDB, real socket.io clients. A session signed in on one node
 * is good on the other, and a logout on either ends it on both, and so is a wall screen's display
 * credential; failed logins count on every
 * node against the limit; a board on one node shows the devices connected to the other; a screen on one node receives the
 * readings, device changes and warnings of its mine whichever node took them; a screen whose line
 * dropped and whose load balancer sends it to the other node gets back what it missed
 * (connection-state recovery through the Redis streams adapter).
 */
const TOKEN = 'screens-test-admin-token-0123'
const JIN = 'yt-jinshan'
const PIEZO = 'yt-piezo-zk03'
const RAIN = 'yt-rain-01'

let redis: TestRedis
let influx: TestInflux
let r: Redis
let proxy: TcpProxy | undefined
const cluster = new TestCluster('screens', TOKEN, () => ({ MINEWATCH_REDIS_URL: redis.url, MINEWATCH_INFLUX_URL: influx.url, MINEWATCH_INFLUX_BUCKET: 'screens' }))
const nodes = cluster.nodes
const clients: MqttClient[] = []
const sockets: Socket[] = []
const http = (node: string) => cluster.url(node)
const tokenOf = (node: string, user: string) => cluster.login(node, user)

const me = async (node: string, token: string) => (await fetch(`${http(node)}/api/me`, { headers: { authorization: `Bearer ${token}` } })).status

async function device(node: string, id: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${nodes.get(node)!.mqtt}`, { username: id, password: `${id}-demo`, clientId: `${id}-${node}-${Date.now()}`, reconnectPeriod: 0 })
  clients.push(c)
  return c
}

let ts = Date.now() - 3_600_000
const send = (c: MqttClient, id: string, values: Record<string, number>) => c.publishAsync(`mines/${JIN}/devices/${id}/telemetry`, JSON.stringify({ ts: (ts += 1000), values }), { qos: 1 })

interface Screen {
  socket: Socket
  alerts: AlertPush[]
  readings: ReadingPush[]
  devices: DevicePush[]
}

async function screen(url: string, token: string): Promise<Screen> {
  const socket = connectSocket(url, { auth: { token }, transports: ['websocket'], reconnectionDelay: 100, reconnectionDelayMax: 200 })
  sockets.push(socket)
  const s: Screen = { socket, alerts: [], readings: [], devices: [] }
  socket.on('alert', (e: AlertPush) => s.alerts.push(e))
  socket.on('reading', (e: ReadingPush) => s.readings.push(e))
  socket.on('device', (e: DevicePush) => s.devices.push(e))
  await new Promise<void>((resolve, reject) => (socket.once('connect', () => resolve()), socket.once('connect_error', reject)))
  return s
}

beforeAll(async () => {
  redis = await startRedis()
  influx = await startInflux()
  r = new Redis(redis.url)
  // the boards read the store: its database first (1.x: the platform does not create it, README)
  await fetch(`${influx.url}/query`, { method: 'POST', body: new URLSearchParams({ q: 'CREATE DATABASE "screens"' }) })
  await cluster.start('node-a')
  await cluster.start('node-b')
}, 120_000)

afterAll(async () => {
  sockets.forEach((s) => s.disconnect())
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)))
  await cluster.dispose()
  await proxy?.close()
  r?.disconnect()
  await redis?.dispose()
  await influx?.dispose()
})

describe('cluster mode: screens across nodes', () => {
  it('keeps a session signed in on one node good on the other, and ends it on both at a logout on either', async () => {
    const token = await tokenOf('node-a', 'yt-dispatcher')
    expect(await me('node-b', token)).toBe(200)
    const logout = await fetch(`${http('node-b')}/api/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
    expect(logout.status).toBe(200)
    expect(await me('node-a', token)).toBe(401)
    expect(await me('node-b', token)).toBe(401)
    // only the token's digest is in Redis
    const keys = await r.keys('minewatch:session:*')
    for (const k of keys) expect(await r.get(k)).not.toContain(token)
  })

  it('signs a wall screen in on any node with a display credential issued on one, and ends it on all when revoked on one', async () => {
    const admin = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }
    const issued = await fetch(`${http('node-a')}/api/displays`, { method: 'POST', headers: admin, body: JSON.stringify({ name: '调度室大屏', user: 'yt-dispatcher' }) })
    expect(issued.status).toBe(201)
    const { id, token } = (await issued.json()) as { id: string; token: string }
    expect(await me('node-b', token)).toBe(200)
    const listed = (await (await fetch(`${http('node-b')}/api/displays`, { headers: admin })).json()) as { displays: { id: string }[] }
    expect(listed.displays.map((d) => d.id)).toEqual([id])
    expect((await fetch(`${http('node-b')}/api/displays/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(204)
    expect(await me('node-a', token)).toBe(401)
    // only the token's digest is in Redis
    expect(JSON.stringify(await r.hgetall('minewatch:displays'))).not.toContain(token)
  })

  it('counts the failed logins of every node against the limit', async () => {
    const attempt = (node: string, password: string) =>
      fetch(`${http(node)}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'yt-director', password }) })
    // five wrong passwords, spread over both nodes as a load balancer would (three here, two there)
    for (const node of ['node-a', 'node-b', 'node-a', 'node-b', 'node-a']) expect((await attempt(node, 'guess')).status).toBe(401)
    // the next try is refused on either node, the right password too
    const refused = await attempt('node-b', 'yt-director-demo')
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
  })

  it('pushes a reading and a device’s change taken on one node to a screen on the other', async () => {
    const s = await screen(http('node-b'), await tokenOf('node-b', 'yt-dispatcher'))
    const rain = await device('node-a', RAIN)
    await send(rain, RAIN, { rainfall: 0.5 })
    await eventually(() => s.readings.find((x) => x.deviceId === RAIN && x.values.rainfall === 0.5), 20_000)
    await eventually(() => s.devices.find((x) => x.deviceId === RAIN && x.online), 20_000)
    // pushed once, not once per node
    expect(s.readings.filter((x) => x.deviceId === RAIN)).toHaveLength(1)
  })

  it('shows a device connected to one node as connected on a board served by the other, and gone when it leaves', async () => {
    const token = await tokenOf('node-b', 'yt-dispatcher')
    const state = async (node: string) => {
      const res = await fetch(`${http(node)}/api/mines/${JIN}/devices`, { headers: { authorization: `Bearer ${token}` } })
      const body = (await res.json()) as { id: string; connected: boolean }[]
      if (!Array.isArray(body))
        throw new Error(
          `${JSON.stringify(body)}: ${nodes
            .get(node)!
            .process.output()
            .split('\n')
            .filter((l) => l.includes('"level":50'))
            .slice(-3)
            .join('\n')}`,
        )
      return body.find((d) => d.id === 'yt-reservoir-01')!.connected
    }
    expect(await state('node-b')).toBe(false)
    const reservoir = await device('node-a', 'yt-reservoir-01')
    await eventually(() => state('node-b'), 10_000)
    await reservoir.endAsync()
    await eventually(async () => !(await state('node-b')), 10_000)
  })

  it('gives a screen moved to the other node while a warning was raised what it missed', async () => {
    const token = await tokenOf('node-a', 'yt-dispatcher')
    // the screen reaches node-a through a load balancer the test controls
    proxy = await startTcpProxy(nodes.get('node-a')!.http)
    const s = await screen(`http://127.0.0.1:${proxy.port}`, token)
    // a push received (a screen resumes from the last one it had)
    const piezo = await device('node-b', PIEZO)
    await send(piezo, PIEZO, { depth: 5 })
    await eventually(() => s.readings.find((x) => x.deviceId === PIEZO), 20_000)
    // the line drops; the balancer will send the screen to node-b
    proxy.retarget(nodes.get('node-b')!.http)
    proxy.cut()
    await eventually(() => !s.socket.connected)
    // node-a keeps the screen's session in Redis for its return (socket.io connection-state recovery)
    await eventually(async () => (await r.keys('minewatch:sio-session:*')).length > 0, 20_000)
    // a warning while the screen is away
    await send(piezo, PIEZO, { depth: 4.3 })
    await eventually(async () => (await r.xlen(`minewatch:alerts:${JIN}`)) > 0, 20_000)
    proxy.restore()
    await eventually(() => s.socket.connected, 20_000)
    expect(s.socket.recovered).toBe(true)
    const raised = (await eventually(() => s.alerts.find((e) => e.type === 'raised' && e.alert.subject.id === PIEZO), 10_000))!
    expect(raised.alert.level).toBe('orange')
  })

  it('runs a site change made on one node on every node: a device added on node-a is let in by node-b, and by a node started afresh', async () => {
    const device = { id: 'yt-piezo-zk21', kind: 'piezometer', name: '浸润线 ZK21', position: { lat: 37.35, lon: 120.85 }, interval: 60 }
    const res = await fetch(`${http('node-a')}/api/admin/mines/${JIN}/devices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(device),
    })
    expect(res.status, await res.clone().text()).toBe(200)
    const { secret } = (await res.json()) as { secret: string }
    const connect = (node: string) => mqtt.connectAsync(`mqtt://127.0.0.1:${nodes.get(node)!.mqtt}`, { username: device.id, password: secret, reconnectPeriod: 0, clientId: `${device.id}-${node}` })
    // node-b takes the change up (Redis pub/sub): the device's secret is good there
    const c = (await eventually(() => connect('node-b').catch(() => undefined), 10_000))!
    await c.endAsync()
    const audit = (await (await fetch(`${http('node-b')}/api/admin/audit`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { entries: { op: string; target: string }[] }
    expect(audit.entries[0]).toMatchObject({ op: 'device.add', target: `device:${device.id}` })
    // a node started with an empty data directory and the same site file runs the cluster's site
    expect(await cluster.stop('node-b')).toBe(0)
    await cluster.start('node-b')
    await (await connect('node-b')).endAsync()
  })

  it('refuses a site change it cannot give the other nodes (Redis stalled) with 503 MW_CLUSTER_UNAVAILABLE, and changes nothing', async () => {
    const device = { id: 'yt-piezo-zk22', kind: 'piezometer', name: '浸润线 ZK22', position: { lat: 37.35, lon: 120.85 }, interval: 60 }
    redis.pause()
    try {
      const res = await fetch(`${http('node-a')}/api/admin/mines/${JIN}/devices`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(device),
      })
      expect(res.status).toBe(503)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('MW_CLUSTER_UNAVAILABLE')
    } finally {
      redis.resume()
    }
    const site = await cluster.get<{ mines: { id: string; devices: { id: string }[] }[] }>('node-a', '/api/admin/site')
    expect(site.mines.find((m) => m.id === JIN)!.devices.map((d) => d.id)).not.toContain(device.id)
  })
})
