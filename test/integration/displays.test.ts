import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { io as connect } from 'socket.io-client'
import { afterAll, describe, expect, it } from 'vitest'
import { eventually } from '../helpers/eventually.js'
import { ADMIN_TOKEN, startTestPlatform } from '../helpers/platform.js'
import { secretOf } from '../helpers/site.js'

/**
 * A wall screen signed in for good with a read-only display credential that an admin issues and
 * revokes: it sees what its user sees, over HTTP and live push, across a restart,
 * signs nothing, and is out the moment the credential is revoked, live connection included; a
 * person who signs out loses their live connection too.
 */
const dirs: string[] = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }

describe('display credentials', () => {
  it('sign a wall screen in for good, read-only, across a restart, until an admin revokes them', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'minewatch-displays-'))
    dirs.push(dataDir)
    const first = await startTestPlatform({ dataDir })
    const app = () => first.platform.app
    // only an admin issues one, for a user of the site file
    const dispatcher = (await app().inject({ method: 'POST', url: '/api/login', payload: { username: 'disp-a', password: secretOf('disp-a') } })).json().token
    expect((await app().inject({ method: 'POST', url: '/api/displays', headers: { authorization: `Bearer ${dispatcher}` }, payload: { name: '调度室大屏', user: 'disp-a' } })).statusCode).toBe(403)
    expect((await app().inject({ method: 'POST', url: '/api/displays', headers: admin, payload: { name: '调度室大屏', user: 'nobody' } })).json().error.code).toBe('MW_UNKNOWN_USER')
    const issued = await app().inject({ method: 'POST', url: '/api/displays', headers: admin, payload: { name: '调度室大屏', user: 'disp-a' } })
    expect(issued.statusCode).toBe(201)
    const { id, token, login } = issued.json()

    // the screen opens its link once: a cookie for good, then the seat's data
    const opened = await app().inject({ method: 'GET', url: login })
    expect(opened.statusCode).toBe(302)
    const cookie = String(opened.headers['set-cookie']).split(';')[0]!
    expect(String(opened.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Lax; Path=\/; Max-Age=315360000/)
    expect((await app().inject({ method: 'GET', url: '/api/me', headers: { cookie } })).json()).toMatchObject({ id: 'disp-a', mines: ['mine-a'] })

    // a red warning reaches the screen, which cannot sign it
    const screen = connect(`http://127.0.0.1:${first.platform.ports.http}`, { auth: { token }, transports: ['websocket'] })
    const pushed: string[] = []
    screen.on('alert', (e: { alert: { id: string } }) => pushed.push(e.alert.id))
    await eventually(() => screen.connected)
    const piezo = await first.connect('a-piezo')
    await piezo.publishAsync('mines/mine-a/devices/a-piezo/telemetry', JSON.stringify({ ts: Date.now() - 60_000, values: { depth: 3.5 } }), { qos: 1 })
    await eventually(() => pushed.length > 0)
    const sign = await app().inject({ method: 'POST', url: `/api/alerts/${pushed[0]}/acknowledge`, headers: { cookie } })
    expect(sign.statusCode).toBe(403)
    screen.close()
    // a person who signs out is cut off live too, not only on the next request
    const desk = connect(`http://127.0.0.1:${first.platform.ports.http}`, { auth: { token: dispatcher }, transports: ['websocket'], reconnection: false })
    await eventually(() => desk.connected)
    const deskClosed = new Promise<string>((resolve) => desk.on('disconnect', (reason) => resolve(reason)))
    expect((await app().inject({ method: 'POST', url: '/api/logout', headers: { authorization: `Bearer ${dispatcher}` } })).statusCode).toBe(200)
    expect(await deskClosed).toBe('io server disconnect')
    expect(readFileSync(join(dataDir, 'displays.json'), 'utf8')).not.toContain(token)
    await first.stop()

    const second = await startTestPlatform({ dataDir })
    try {
      expect((await second.platform.app.inject({ method: 'GET', url: '/api/alerts', headers: { cookie } })).statusCode).toBe(200)
      expect((await second.platform.app.inject({ method: 'GET', url: '/api/displays', headers: admin })).json().displays).toMatchObject([{ id, name: '调度室大屏', userId: 'disp-a' }])
      // the screen, connected live, is cut off the moment its credential is revoked
      const wallScreen = connect(`http://127.0.0.1:${second.platform.ports.http}`, { auth: { token }, transports: ['websocket'], reconnection: false })
      await eventually(() => wallScreen.connected)
      const cut = new Promise<string>((resolve) => wallScreen.on('disconnect', (reason) => resolve(reason)))
      expect((await second.platform.app.inject({ method: 'DELETE', url: `/api/displays/${id}`, headers: admin })).statusCode).toBe(204)
      expect(await cut).toBe('io server disconnect')
      expect((await second.platform.app.inject({ method: 'GET', url: '/api/alerts', headers: { cookie } })).statusCode).toBe(401)
      expect((await second.platform.app.inject({ method: 'GET', url: login })).statusCode).toBe(401)
    } finally {
      await second.stop()
    }
  })
})
