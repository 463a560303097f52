import { io as connect, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AlertPush, ClientToServerEvents, ServerToClientEvents } from '../../dashboard/live-events.js'
import { eventually } from '../helpers/eventually.js'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { secretOf } from '../helpers/site.js'

/** Live push on a real socket.io server (the platform's HTTP port) with real socket.io clients. */
let t: TestPlatform
const sockets: Socket[] = []
beforeAll(async () => {
  t = await startTestPlatform()
})
afterAll(async () => {
  sockets.forEach((s) => s.disconnect())
  await t?.stop()
})

async function tokenOf(user: string) {
  const res = await t.platform.app.inject({ method: 'POST', url: '/api/login', payload: { username: user, password: secretOf(user) } })
  return res.json().token as string
}

function open(auth: object): { socket: Socket<ServerToClientEvents, ClientToServerEvents>; got: AlertPush[] } {
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = connect(`http://127.0.0.1:${t.platform.ports.http}`, { auth, transports: ['websocket'], reconnectionDelay: 50 })
  sockets.push(socket)
  const got: AlertPush[] = []
  socket.on('alert', (e) => got.push(e))
  return { socket, got }
}

const connected = (s: Socket) => new Promise<void>((resolve, reject) => (s.connected ? resolve() : (s.once('connect', () => resolve()), s.once('connect_error', reject))))

describe('live push over socket.io', () => {
  it('refuses a socket without a session', async () => {
    const { socket } = open({})
    const err = await new Promise<Error>((resolve) => socket.once('connect_error', resolve))
    expect(err.message).toMatch(/^MW_UNAUTHORIZED/)
    socket.disconnect()
  })

  it('pushes a mine’s warnings to its people only, and recovers what a dropped screen missed', async () => {
    const a = open({ token: await tokenOf('disp-a') })
    const readings: unknown[] = []
    a.socket.on('reading', (r) => readings.push(r))
    const b = open({ token: await tokenOf('disp-b') })
    const regA = open({ token: await tokenOf('reg-a') })
    await Promise.all([connected(a.socket), connected(b.socket), connected(regA.socket)])

    const device = await t.connect('a-piezo')
    await device.publishAsync('mines/mine-a/devices/a-piezo/telemetry', JSON.stringify({ ts: Date.now() - 60_000, values: { depth: 3.9 } }), { qos: 1 })
    await eventually(() => a.got.some((e) => e.alert.rule === 'phreatic-depth'))
    const raised = a.got.find((e) => e.alert.rule === 'phreatic-depth')!
    expect(raised).toMatchObject({ type: 'raised', notify: true, alert: { level: 'red', mineId: 'mine-a', deadlineTime: expect.stringMatching(/\+08:00$/) } })
    await eventually(() => regA.got.length > 0)
    // a marker event of mine B, emitted now, reaches B's dispatcher after anything sent to it before
    const marker = {
      type: 'raised',
      alertId: 'marker',
      mineId: 'mine-b',
      at: Date.now(),
      actor: 'system',
      notify: false,
      alert: { ...t.platform.alerting.book.get(raised.alert.id)!, id: 'marker', mineId: 'mine-b' },
    } as const
    t.platform.alertBus.emit(marker)
    await eventually(() => b.got.some((e) => e.alert.id === 'marker'))
    expect(b.got.map((e) => e.alert.id)).toEqual(['marker'])
    // the board gets the device's latest reading too (throttled per device)
    expect(readings).toMatchObject([{ deviceId: 'a-piezo', mineId: 'mine-a', values: { depth: 3.9 }, time: expect.stringMatching(/\+08:00$/) }])

    // the dispatcher's screen loses its connection; meanwhile the warning is signed
    const recovered = new Promise<boolean>((resolve) => a.socket.io.once('reconnect', () => a.socket.once('connect', () => resolve(a.socket.recovered))))
    a.socket.io.engine.close()
    await eventually(() => !a.socket.connected)
    const ack = await t.platform.app.inject({ method: 'POST', url: `/api/alerts/${raised.alert.id}/acknowledge`, headers: { authorization: `Bearer ${await tokenOf('dir-a')}` } })
    expect(ack.statusCode).toBe(200)
    expect(await recovered).toBe(true)
    await eventually(() => a.got.some((e) => e.type === 'acknowledged' && e.actor === 'dir-a'))
  })
})
