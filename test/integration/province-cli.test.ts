import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadSiteFile } from '../../infra/config/site-file.js'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { SOURCE_ENTRY } from '../helpers/process.js'

/**
 * `npm run sim -- --province` (issue 16 item 5), as a person runs it: it writes a province's site
 * file and its uplink accounts' passwords, and, once the province's platform runs on that file,
 * its mine platforms report every device's readings to it through their own accounts.
 */
const dir = mkdtempSync(join(tmpdir(), 'minewatch-province-'))
let t: TestPlatform | undefined
afterAll(async () => {
  await t?.stop()
  rmSync(dir, { recursive: true, force: true })
})

function sim(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...SOURCE_ENTRY.slice(0, 2), 'infra/cli/sim.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (c) => (out += c))
    child.stderr.on('data', (c) => (out += c))
    child.on('close', (code) => resolve({ code, out }))
  })
}

describe('npm run sim -- --province', () => {
  it('writes a province site and its passwords apart, then its mine platforms report every device through their own accounts', async () => {
    const out = join(dir, 'province')
    // nothing listens yet: the files are written, and the run says what to start
    const first = await sim(['--province', '3x10', '--out', out, '--url', 'mqtt://127.0.0.1:1', '--duration', '2s'])
    expect(first.code).toBe(2)
    expect(first.out).toMatch(/MINEWATCH_SITE=.*site\.yaml npm start/)
    expect(first.out).toMatch(/could not connect to mqtt:\/\/127\.0\.0\.1:1/)
    const passwords = JSON.parse(readFileSync(join(out, 'passwords.json'), 'utf8')) as Record<string, string>
    expect(Object.keys(passwords).sort()).toEqual(['province-regulator', 'up-p0000', 'up-p0001', 'up-p0002'])
    expect(statSync(join(out, 'passwords.json')).mode & 0o077).toBe(0)
    const siteText = readFileSync(join(out, 'site.yaml'), 'utf8')
    for (const p of Object.values(passwords)) expect(siteText).not.toContain(p)

    const loaded = loadSiteFile(join(out, 'site.yaml'))
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'))
    t = await startTestPlatform({ site: loaded.site })
    const run = await sim(['--province', '3x10', '--out', out, '--url', t.mqttUrl, '--interval', '1', '--duration', '3s'])
    expect(run.out).toMatch(/done: acknowledged \d+, failed 0/)
    expect(run.code).toBe(0)
    // the same files, not regenerated: the passwords still open the accounts
    expect(JSON.parse(readFileSync(join(out, 'passwords.json'), 'utf8'))).toEqual(passwords)
    await t.platform.writer.flush()
    const devices = loaded.site.mines.flatMap((m) => m.devices)
    expect(devices).toHaveLength(30)
    for (const d of devices) expect(await t.platform.store.latest(d.id), d.id).toBeDefined()
    expect((await t.admin('/api/health')).body.counts.readingsRefused).toEqual({})
  }, 120_000)
})
