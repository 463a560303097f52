import { connect as tcpConnect, type Socket } from 'node:net'
import mqtt from 'mqtt'
import { WebSocket } from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PENDING_PER_ADDRESS } from '../../ingest/broker/pending-connections.js'
import { eventually } from '../helpers/eventually.js'
import { ADMIN_TOKEN, startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { secretOf } from '../helpers/site.js'

/**
 * Connections that never log in (docs/security.md, "Connections"): one address opens more raw TCP
 * connections than the per-address cap, each starting a CONNECT that announces 60 KiB and never
 * finishing it. Those over the cap are closed at once and counted; the address's next device is
 * refused until some close; a device from another address is served throughout, and connections
 * that have logged in do not count.
 */
let t: TestPlatform
const open: Socket[] = []
beforeAll(async () => {
  t = await startTestPlatform()
})
afterAll(async () => {
  for (const s of open) s.destroy()
  await t?.stop()
})

async function metric(name: string, label = ''): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${t.platform.ports.http}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name}${label} `))
  return line ? Number(line.split(' ')[1]) : 0
}

/** A raw socket from `localAddress` that starts a CONNECT of 60 KiB and sends only its first 2 KiB. */
function partialConnect(localAddress: string): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: '127.0.0.1', port: t.platform.ports.mqtt, localAddress })
    const closed = new Promise<void>((done) => socket.once('close', () => done()))
    socket.on('error', () => undefined)
    socket.once('connect', () => {
      // fixed header: CONNECT, remaining length 61,440 (varint 0x80 0xE0 0x03)
      socket.write(Buffer.concat([Buffer.from([0x10, 0x80, 0xe0, 0x03]), Buffer.alloc(2048, 0x41)]))
      resolve({ socket, closed })
    })
    socket.once('error', reject)
  })
}

/** A real MQTT.js device connecting from `localAddress` (loopback has all of 127/8). */
function deviceFrom(localAddress: string, id: string): Promise<mqtt.MqttClient> {
  const client = new mqtt.MqttClient(() => tcpConnect({ host: '127.0.0.1', port: t.platform.ports.mqtt, localAddress }), {
    username: id,
    password: secretOf(id),
    clientId: `${id}-${localAddress}`,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    protocolVersion: 4,
  })
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client))
    client.once('close', () => reject(new Error('closed before CONNACK')))
    client.once('error', reject)
  })
}

describe('connections that never log in', () => {
  it('are capped per address: those over the cap are closed at once and counted, others are served, and a place frees when one closes', async () => {
    // a device from the hostile address that logged in before the flood: it does not count
    const before = await deviceFrom('127.0.0.2', 'a-prism')
    const extra = 30
    const flood = []
    for (let i = 0; i < PENDING_PER_ADDRESS + extra; i++) flood.push(await partialConnect('127.0.0.2'))
    open.push(...flood.map((f) => f.socket))
    const closed = new Set<number>()
    flood.forEach((f, i) => void f.closed.then(() => closed.add(i)))

    // exactly the connections over the cap are closed by the server and counted
    await eventually(() => closed.size === extra)
    expect(await metric('minewatch_connections_refused_total', '{reason="TOO_MANY_PENDING"}')).toBe(extra)
    expect(await metric('minewatch_connections_pending')).toBe(PENDING_PER_ADDRESS)

    // another address is served, and the device that had logged in still publishes
    const other = await deviceFrom('127.0.0.3', 'a-piezo')
    await other.publishAsync('mines/mine-a/devices/a-piezo/telemetry', JSON.stringify({ ts: Date.now(), values: { head: 1 } }), { qos: 1 })
    await before.publishAsync('mines/mine-a/devices/a-prism/telemetry', JSON.stringify({ ts: Date.now(), values: { dN: 1 } }), { qos: 1 })
    // after those round trips the cap's connections are still open: only the ones over it were closed
    expect(closed.size).toBe(extra)

    // the hostile address's next device waits for a place: refused now, served once one closes
    await expect(deviceFrom('127.0.0.2', 'b-prism')).rejects.toThrow()
    expect(await metric('minewatch_connections_refused_total', '{reason="TOO_MANY_PENDING"}')).toBe(extra + 1)
    flood.find((_, i) => !closed.has(i))!.socket.destroy()
    await eventually(async () => (await metric('minewatch_connections_pending')) === PENDING_PER_ADDRESS - 1)
    const late = await deviceFrom('127.0.0.2', 'b-prism')
    // once logged in it no longer holds a place
    expect(await metric('minewatch_connections_pending')).toBe(PENDING_PER_ADDRESS - 1)
    await Promise.all([before, other, late].map((c) => c.endAsync()))
  })

  it('are capped per address over MQTT over WebSocket too', async () => {
    const before = await metric('minewatch_connections_refused_total', '{reason="TOO_MANY_PENDING"}')
    const extra = 5
    const sockets: WebSocket[] = []
    let closed = 0
    for (let i = 0; i < PENDING_PER_ADDRESS + extra; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${t.platform.ports.ws}/mqtt`, 'mqtt', { localAddress: '127.0.0.4' })
      ws.on('error', () => undefined)
      ws.once('close', () => closed++)
      await new Promise((resolve) => ws.once('open', resolve))
      sockets.push(ws)
    }
    try {
      await eventually(() => closed === extra)
      expect((await metric('minewatch_connections_refused_total', '{reason="TOO_MANY_PENDING"}')) - before).toBe(extra)
    } finally {
      for (const ws of sockets) ws.terminate()
    }
  })
})
