import { createHmac } from 'node:crypto'
import { Redis } from 'ioredis'
import mqtt, { type MqttClient } from 'mqtt'
import { io as connectSocket, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AlertEvent } from '../../alerting/book/alert.js'
import { eventually } from '../helpers/eventually.js'
import { startInflux, type TestInflux } from '../helpers/influxdb.js'
import { TestCluster } from '../helpers/cluster.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'

/**
 * The rules and the book follow the leases (issue 17 item 4; docs/cluster.md, "Rules and book"):
 * nodes of the real entry point, each in its own process, with the demo site, sharing a real
 * Redis and InfluxDB. A reading taken on one node is judged by the mine's owner on the other; the
 * warning reaches a dispatcher's screen on the node that took it, and is signed from there. The
 * owner is killed with SIGKILL while readings go on arriving at the other node: the survivor
 * takes the mine over, carries on the rules' state from the readings judged before (a stuck
 * piezometer's run of equal values begun before the kill is completed after it) and the book
 * (a rise to red is a rise of the warning already open, not a new one), and raises nothing twice.
 * A clean stop saves the rules' state, and a node starting afresh, with the mine's readings
 * stream trimmed away, carries it on from there.
 */
const TOKEN = 'rules-test-admin-token-0123'
const JIN = 'yt-jinshan'
const BAI = 'bt-baishi'
const PIEZO = 'yt-piezo-zk03'
const RAIN = 'yt-rain-01'

let redis: TestRedis
let influx: TestInflux
let r: Redis
const cluster = new TestCluster('rules', TOKEN, () => ({ MINEWATCH_REDIS_URL: redis.url, MINEWATCH_INFLUX_URL: influx.url, MINEWATCH_INFLUX_BUCKET: 'rules' }))
const nodes = cluster.nodes
const clients: MqttClient[] = []
const sockets: Socket[] = []
const owns = (node: string, mine: string) => cluster.owns(node, mine)
const kill = (node: string) => cluster.kill(node)
const tokenOf = (node: string, user: string) => cluster.login(node, user)

async function device(node: string, id: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${nodes.get(node)!.mqtt}`, { username: id, password: `${id}-demo`, clientId: `${id}-${node}-${Date.now()}`, reconnectPeriod: 0 })
  clients.push(c)
  return c
}

let ts = Date.now() - 3_600_000
/** A reading with a time of its own, acknowledged by the broker (QoS 1). */
const send = (c: MqttClient, id: string, values: Record<string, number>) => c.publishAsync(`mines/${JIN}/devices/${id}/telemetry`, JSON.stringify({ ts: (ts += 5), values }), { qos: 1 })

/** A dispatcher's screen on a node: the warnings pushed to it. */
async function screen(node: string, token: string): Promise<AlertEvent[]> {
  const got: AlertEvent[] = []
  const socket = connectSocket(`http://127.0.0.1:${nodes.get(node)!.http}`, { auth: { token }, transports: ['websocket'] })
  sockets.push(socket)
  socket.on('alert', (e: AlertEvent) => got.push(e))
  await new Promise<void>((resolve, reject) => (socket.once('connect', () => resolve()), socket.once('connect_error', reject)))
  return got
}

async function book(node: string, token: string): Promise<{ id: string; rule: string; state: string; level: string; normal: boolean; subject: { id: string } }[]> {
  const res = await fetch(`http://127.0.0.1:${nodes.get(node)!.http}/api/alerts?state=all`, { headers: { authorization: `Bearer ${token}` } })
  return ((await res.json()) as { alerts: [] }).alerts
}

/** The mine's alerts stream in Redis, with the node that wrote each event. */
async function written(mine: string): Promise<(AlertEvent & { node: string })[]> {
  const entries = (await r.xrange(`minewatch:alerts:${mine}`, '-', '+')) as [string, string[]][]
  return entries.map(([, f]) => ({ ...(JSON.parse(f[f.indexOf('e') + 1]!) as AlertEvent), node: f[f.indexOf('n') + 1]! }))
}

/** Every warning raised once: one alert per (subject, rule) (none is resolved here), one `raised` per alert, no event twice. */
function raisedOnce(events: readonly AlertEvent[]): void {
  const alertsOf = new Map<string, Set<string>>()
  for (const e of events) alertsOf.set(`${e.alert.subject.id}/${e.alert.rule}`, (alertsOf.get(`${e.alert.subject.id}/${e.alert.rule}`) ?? new Set()).add(e.alertId))
  for (const [k, ids] of alertsOf) expect(ids.size, `${k}: ${[...ids].join(', ')}`).toBe(1)
  const raised = events.filter((e) => e.type === 'raised').map((e) => e.alertId)
  expect(new Set(raised).size).toBe(raised.length)
  const keys = events.map((e) => `${e.alertId}/${e.type}/${e.at}`)
  expect(new Set(keys).size).toBe(keys.length)
}

beforeAll(async () => {
  redis = await startRedis()
  influx = await startInflux()
  // (the platform does not create InfluxDB 1.x's database: the boards' queries need it)
  await influx.query('CREATE DATABASE "rules"')
  r = new Redis(redis.url)
  await cluster.start('node-a')
  await cluster.start('node-b')
  // yt-jinshan is node-a's, bt-baishi node-b's (rendezvous hashing of these names; cluster-leases.test.ts)
  await eventually(async () => (await owns('node-a', JIN)) && (await owns('node-b', BAI)) && !(await owns('node-b', JIN)), 30_000)
}, 120_000)

afterAll(async () => {
  sockets.forEach((s) => s.disconnect())
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)))
  await cluster.dispose()
  r?.disconnect()
  await redis?.dispose()
  await influx?.dispose()
})

describe('cluster mode: a mine’s rules and book on the node holding its lease', () => {
  it('judges a reading taken on another node on the owner, shows the warning live there, and signs it from there', async () => {
    const token = await tokenOf('node-b', 'yt-dispatcher')
    const seen = await screen('node-b', token)
    // the piezometer on node-b, below its orange line: judged by node-a, the mine's owner
    const piezo = await device('node-b', PIEZO)
    await send(piezo, PIEZO, { depth: 4.3 })
    const raised = (await eventually(() => seen.find((e) => e.type === 'raised' && e.alert.rule === 'phreatic-depth'), 20_000))!
    expect(raised.alert.level).toBe('orange')
    expect((await written(JIN)).filter((e) => e.type === 'raised').map((e) => e.node)).toEqual(['node-a'])
    // node-b's board shows the owner's figures (asked of node-a): the depth judged, at orange
    const board = await fetch(`http://127.0.0.1:${nodes.get('node-b')!.http}/api/mines/${JIN}/devices`, { headers: { authorization: `Bearer ${token}` } })
    const piezoRow = ((await board.json()) as { id: string; judged: { rule: string; value: number | null; level: string | null }[] }[]).find((d) => d.id === PIEZO)
    expect(piezoRow?.judged.find((j) => j.rule === 'phreatic-depth')).toMatchObject({ value: 4.3, level: 'orange' })

    // signed on node-b: done by node-a, answered once in Redis
    const res = await fetch(`http://127.0.0.1:${nodes.get('node-b')!.http}/api/alerts/${raised.alert.id}/acknowledge`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
    expect(res.status, await res.clone().text()).toBe(200)
    const signed = (await written(JIN)).filter((e) => e.type === 'acknowledged')
    expect(signed).toMatchObject([{ alertId: raised.alert.id, actor: 'yt-dispatcher', node: 'node-a' }])
    // both nodes' books have it signed (node-a's at once; node-b's at the answer)
    for (const node of ['node-a', 'node-b']) expect((await book(node, TOKEN)).find((a) => a.id === raised.alert.id)?.state).toBe('acknowledged')
    raisedOnce(await written(JIN))
  }, 60_000)

  it('moves a killed owner’s mine to the other node, which carries on its rules’ state and book and raises nothing twice', async () => {
    const token = await tokenOf('node-b', 'yt-dispatcher')
    const seen = await screen('node-b', token)
    const piezo = await device('node-b', PIEZO)
    // a stuck piezometer's run begins on node-a's watch: 6 equal values of the 12 that make it stuck, all judged there
    for (let i = 0; i < 6; i++) await send(piezo, PIEZO, { depth: 5 })
    await eventually(async () => {
      const [last] = (await r.xrevrange(`minewatch:readings:${JIN}`, '+', '-', 'COUNT', 1)) as [string, string[]][]
      return last !== undefined && (await r.get(`minewatch:judged:${JIN}`)) === last[0]
    }, 20_000)
    expect((await written(JIN)).some((e) => e.type === 'normal' && e.alert.rule === 'phreatic-depth')).toBe(true)
    // load on node-b from now on: the rain gauge, a reading at a time
    const rain = await device('node-b', RAIN)
    let loading = true
    const load = (async () => {
      while (loading) await send(rain, RAIN, { rainfall: 0 })
    })()

    const killedAt = Date.now()
    await kill('node-a')
    // and completed after the kill, then the water rises past red, all taken by node-b while the mine has no owner
    for (let i = 0; i < 6; i++) await send(piezo, PIEZO, { depth: 5 })
    await send(piezo, PIEZO, { depth: 3.9 })
    await eventually(() => seen.find((e) => e.type === 'raised' && e.alert.rule === 'data-quality' && e.alert.subject.id === PIEZO), 40_000)
    const tookMs = Date.now() - killedAt
    const red = (await eventually(() => seen.find((e) => e.type === 'level' && e.alert.rule === 'phreatic-depth' && e.alert.level === 'red'), 10_000))!
    loading = false
    await load

    const events = await written(JIN)
    expect(events.filter((e) => e.type === 'raised' && e.alert.rule === 'data-quality' && e.alert.subject.id === PIEZO).map((e) => e.node)).toEqual(['node-b'])
    // the rise is of the warning raised and signed before the kill: node-b had the book
    expect(red.alert).toMatchObject({ state: 'acknowledged', peak: 'red' })
    expect(events.filter((e) => e.type === 'level' && e.alert.level === 'red').map((e) => e.node)).toEqual(['node-b'])
    // what node-a judged was not judged again: the warning went back to normal once, and rose once
    expect(events.filter((e) => e.alert.rule === 'phreatic-depth').map((e) => `${e.type} ${e.node}`)).toEqual(['raised node-a', 'acknowledged node-a', 'normal node-a', 'level node-b'])
    raisedOnce(events)
    process.stderr.write(`[cluster-rules] a killed owner's mine judged again ${tookMs} ms after the kill\n`)
  }, 90_000)

  it('carries the rules’ state saved at a clean stop on to a node starting afresh', async () => {
    // node-b owns both mines now; a clean stop saves their state and hands them back
    expect(await cluster.stop('node-b')).toBe(0)
    // node-a on a new data directory (its own is gone), and the mine's readings past (a stream keeps 24 h): only the saved state is left
    await r.xtrim(`minewatch:readings:${JIN}`, 'MAXLEN', 0)
    await cluster.start('node-a')
    await eventually(() => owns('node-a', JIN), 30_000)
    const seen = await screen('node-a', await tokenOf('node-a', 'yt-dispatcher'))
    // the water back above the orange line: only a rule standing at red, as saved, has anything to say
    const piezo = await device('node-a', PIEZO)
    await send(piezo, PIEZO, { depth: 4.6 })
    await eventually(() => seen.find((e) => e.type === 'normal' && e.alert.rule === 'phreatic-depth'), 20_000).catch((err: Error) => {
      throw new Error(`${err.message}; pushed ${JSON.stringify(seen.map((e) => [e.type, e.alert.rule]))}; node-a's log:\n${nodes.get('node-a')!.process.output().split('\n').slice(-20).join('\n')}`)
    })
    expect((await written(JIN)).filter((e) => e.alert.rule === 'phreatic-depth').at(-1)).toMatchObject({ type: 'normal', from: 'red', node: 'node-a' })
    raisedOnce(await written(JIN))
  }, 90_000)

  it('saves a mine’s rules before handing its lease back to a node joining, which then replays nothing', async () => {
    // node-a alone holds both mines; bt-baishi's readings are judged there
    await eventually(() => owns('node-a', BAI), 30_000)
    const rain = await device('node-a', 'bt-rain-01')
    for (let i = 0; i < 20; i++) await rain.publishAsync(`mines/${BAI}/devices/bt-rain-01/telemetry`, JSON.stringify({ ts: (ts += 5), values: { rainfall: 0 } }), { qos: 1 })
    await eventually(async () => {
      const [last] = (await r.xrevrange(`minewatch:readings:${BAI}`, '+', '-', 'COUNT', 1)) as [string, string[]][]
      return last !== undefined && (await r.get(`minewatch:judged:${BAI}`)) === last[0]
    }, 20_000)
    // node-b joins: bt-baishi is handed back to it
    await cluster.start('node-b')
    await eventually(() => owns('node-b', BAI), 30_000)
    const takeUp = () =>
      nodes
        .get('node-b')!
        .process.output()
        .split('\n')
        .find((l) => l.includes('now runs the mine’s rules') && l.includes(BAI))
    const line = (await eventually(takeUp, 10_000))!
    // the saved state covers every reading node-a judged: nothing to replay
    expect(JSON.parse(line)).toMatchObject({ mine: BAI, saved: true, replayed: 0 })
  }, 90_000)

  it('sends none of the calls (叫应) a killed owner delivered when another node takes the mine over, and opens and signs its one-time link on any node', async () => {
    await eventually(() => owns('node-a', JIN), 30_000)
    const token = await tokenOf('node-b', 'yt-dispatcher')
    const seen = await screen('node-b', token)
    // the reservoir past its orange line at yt-jinshan, left unsigned: node-a, the owner, calls the duty dispatcher (the demo's log channel)
    const reservoir = await device('node-b', 'yt-reservoir-01')
    await send(reservoir, 'yt-reservoir-01', { level: 99.5 })
    const raised = (await eventually(() => seen.find((e) => e.type === 'raised' && e.alert.subject.id === 'yt-reservoir-01' && e.alert.level === 'orange'), 20_000))!
    const sentBy = (node: string) =>
      nodes
        .get(node)!
        .process.output()
        .split('\n')
        .filter((l) => l.includes('叫应 (记录渠道') && l.includes(raised.alert.id))
        .map((l) => (JSON.parse(l) as { call: string }).call)
    const [call] = (await eventually(() => (sentBy('node-a').length > 0 ? sentBy('node-a') : undefined), 20_000))!
    await eventually(async () => (await r.get(`minewatch:call:${call}`)) !== null, 10_000)
    // the call's one-time link (the cluster's key: the same token whichever node made the call) opens on node-b, which did not make it
    const link = `/s/${createHmac('sha256', Buffer.from((await r.get('minewatch:link-key'))!, 'hex'))
      .update(call!)
      .digest('base64url')
      .slice(0, 22)}`
    expect((await fetch(`http://127.0.0.1:${nodes.get('node-b')!.http}${link}`)).status).toBe(200)
    expect((await fetch(`http://127.0.0.1:${nodes.get('node-b')!.http}/s/AAAAAAAAAAAAAAAAAAAAAA`)).status).toBe(404)
    const calls = async () => {
      const res = await fetch(`http://127.0.0.1:${nodes.get('node-b')!.http}/api/alerts/${raised.alert.id}/notifications`, { headers: { authorization: `Bearer ${token}` } })
      return ((await res.json()) as { notifications: { id: string; status: string; deliveredBy: string | null }[] }).notifications
    }
    // node-b's record of the warning's calls has node-a's call (each node records its calls in Redis)
    expect((await calls()).find((c) => c.id === call)).toMatchObject({ status: 'delivered', deliveredBy: null })
    await kill('node-a')
    // node-b takes the mine over and decides the same call: delivered by node-a, so not sent again
    await eventually(async () => (await calls()).some((c) => c.id === call && c.deliveredBy === 'node-a'), 40_000)
    expect((await calls()).find((c) => c.id === call)).toMatchObject({ status: 'delivered', deliveredBy: 'node-a' })
    expect(sentBy('node-b')).not.toContain(call)
    // and signs there for the person called
    expect((await fetch(`http://127.0.0.1:${nodes.get('node-b')!.http}${link}`, { method: 'POST' })).status).toBe(200)
    const signed = (await book('node-b', TOKEN)).find((a) => a.id === raised.alert.id)
    expect(signed?.state).toBe('acknowledged')
    expect((await written(JIN)).filter((e) => e.alertId === raised.alert.id && e.type === 'acknowledged').map((e) => e.actor)).toEqual([`contact:${call!.split(':')[5]}`])
  }, 90_000)
})
