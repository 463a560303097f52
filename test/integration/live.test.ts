import { io as connect, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AlertPush, ClientToServerEvents, ServerToClientEvents } from '../../dashboard/live-events.js'
import { eventually } from '../helpers/eventually.js'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { secretOf } from '../helpers/site.js'
import { SESSION_MS } from '../../dashboard/sessions.js'

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
    // a second reading within the throttle (5 s) is not pushed: a marker sent to mine A after its
    // PUBACK (the push, had there been one, was emitted before the PUBACK) arrives with nothing before it
    await device.publishAsync('mines/mine-a/devices/a-piezo/telemetry', JSON.stringify({ ts: Date.now() - 30_000, values: { depth: 3.8 } }), { qos: 1 })
    t.platform.alertBus.emit({ ...marker, alertId: 'marker-a', mineId: 'mine-a', alert: { ...marker.alert, id: 'marker-a', mineId: 'mine-a' } })
    await eventually(() => a.got.some((e) => e.alert.id === 'marker-a'))
    expect(readings).toHaveLength(1)

    // the dispatcher's screen loses its connection; meanwhile the warning is signed
    const recovered = new Promise<boolean>((resolve) => a.socket.io.once('reconnect', () => a.socket.once('connect', () => resolve(a.socket.recovered))))
    a.socket.io.engine.close()
    await eventually(() => !a.socket.connected)
    const ack = await t.platform.app.inject({ method: 'POST', url: `/api/alerts/${raised.alert.id}/acknowledge`, headers: { authorization: `Bearer ${await tokenOf('dir-a')}` } })
    expect(ack.statusCode).toBe(200)
    expect(await recovered).toBe(true)
    await eventually(() => a.got.some((e) => e.type === 'acknowledged' && e.actor === 'dir-a'))
  })

  it('refuses to recover another user’s lost socket: a token of mine A with mine B’s session id gets nothing of mine B', async () => {
    const b = open({ token: await tokenOf('disp-b') })
    await connected(b.socket)
    const markerB = (id: string) => ({
      type: 'raised' as const,
      alertId: id,
      mineId: 'mine-b',
      at: Date.now(),
      actor: 'system',
      notify: false,
      alert: { ...t.platform.alerting.book.all()[0]!, id, mineId: 'mine-b' },
    })
    // B's screen has had an event (so it holds an offset), then loses its network; its session id
    // and offset are what a thief would replay
    t.platform.alertBus.emit(markerB('before-b'))
    await eventually(() => b.got.some((e) => e.alert.id === 'before-b'))
    const stolen = b.socket as unknown as { _pid?: string; _lastOffset?: string }
    await eventually(() => stolen._pid !== undefined && stolen._lastOffset !== undefined)
    const { _pid: pid, _lastOffset: offset } = stolen
    b.socket.io.opts.reconnection = false
    b.socket.io.engine.close()
    await eventually(() => !b.socket.connected)
    // while it is gone, something happens in mine B
    t.platform.alertBus.emit(markerB('missed-b'))
    // a socket with mine A's dispatcher token and B's session id
    const thief: Socket<ServerToClientEvents, ClientToServerEvents> = connect(`http://127.0.0.1:${t.platform.ports.http}`, {
      auth: { token: await tokenOf('disp-a') },
      transports: ['websocket'],
      autoConnect: false,
      reconnection: false,
    })
    sockets.push(thief)
    Object.assign(thief, { _pid: pid, _lastOffset: offset })
    const got: AlertPush[] = []
    thief.on('alert', (e) => got.push(e))
    const refused = new Promise<Error>((resolve) => thief.once('connect_error', resolve))
    const joined = new Promise<void>((resolve) => thief.once('connect', () => resolve()))
    thief.connect()
    const outcome = await Promise.race([refused.then((e) => e.message), joined.then(() => 'connected')])
    // either refused outright, or connected as itself: never with B's rooms
    if (outcome === 'connected') {
      expect(thief.recovered).toBe(false)
      t.platform.alertBus.emit(markerB('after-b'))
      const markerA = { ...markerB('after-a'), mineId: 'mine-a', alert: { ...markerB('after-a').alert, mineId: 'mine-a' } }
      t.platform.alertBus.emit(markerA)
      await eventually(() => got.some((e) => e.alert.id === 'after-a'))
    } else expect(outcome).toMatch(/^MW_UNAUTHORIZED/)
    expect(got.filter((e) => e.alert.mineId === 'mine-b')).toEqual([])
  })
})

describe('a session that expires', () => {
  let clock = Date.now()
  let short: TestPlatform
  beforeAll(async () => {
    short = await startTestPlatform({ now: () => clock, sessionSweepMs: 20 })
  })
  afterAll(async () => {
    await short?.stop()
  })

  it('closes its live sockets when its lifetime ends, as a logout does, and no longer answers', async () => {
    const login = await short.platform.app.inject({ method: 'POST', url: '/api/login', payload: { username: 'disp-a', password: secretOf('disp-a') } })
    const token = login.json().token as string
    const socket: Socket = connect(`http://127.0.0.1:${short.platform.ports.http}`, { auth: { token }, transports: ['websocket'], reconnection: false })
    sockets.push(socket)
    await connected(socket)
    const reason = new Promise<string>((resolve) => socket.once('disconnect', (r) => resolve(r)))
    // just before its end the session answers and its socket is open
    clock += SESSION_MS - 60_000
    const alive = await short.platform.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } })
    expect(alive.statusCode).toBe(200)
    expect(socket.connected).toBe(true)
    clock += 60_001
    expect(await reason).toBe('io server disconnect')
    const after = await short.platform.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } })
    expect(after.statusCode).toBe(401)
  })
})
