import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startTestPlatform } from '../helpers/platform.js'
import { secretOf } from '../helpers/site.js'

/**
 * Sessions survive a restart: a wall screen signed in before the platform was
 * restarted is still signed in after it; one that signed out stays out. Only digests are kept.
 */
const dirs: string[] = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

describe('sessions across a restart', () => {
  it('keep a signed-in screen signed in and a signed-out one out, holding no token on disk', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'minewatch-sessions-'))
    dirs.push(dataDir)
    const first = await startTestPlatform({ dataDir })
    const login = async (user: string) => (await first.platform.app.inject({ method: 'POST', url: '/api/login', payload: { username: user, password: secretOf(user) } })).json().token as string
    const wall = await login('reg-a')
    const gone = await login('disp-a')
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
    expect((await first.platform.app.inject({ method: 'POST', url: '/api/logout', headers: bearer(gone) })).statusCode).toBeLessThan(300)
    await first.stop()
    const stored = readFileSync(join(dataDir, 'sessions.json'), 'utf8')
    expect(stored).not.toContain(wall)
    expect(stored).not.toContain(gone)

    const second = await startTestPlatform({ dataDir })
    try {
      expect((await second.platform.app.inject({ method: 'GET', url: '/api/alerts', headers: bearer(wall) })).statusCode).toBe(200)
      expect((await second.platform.app.inject({ method: 'GET', url: '/api/alerts', headers: bearer(gone) })).statusCode).toBe(401)
    } finally {
      await second.stop()
    }
  })
})
