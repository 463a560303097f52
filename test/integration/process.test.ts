import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import mqtt from 'mqtt'
import { afterAll, describe, expect, it } from 'vitest'
import { SqliteStore } from '../../infra/sqlite-store.js'
import { hashSecret, verifySecret } from '../../ingest/secrets.js'
import { spawnSync } from 'node:child_process'
import { COMPILED_ENTRY, runPlatform as run, testEnv, waitFor } from '../helpers/process.js'

/** The real entry point, as `npm start` runs it, in a child process. */
const dirs: string[] = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

function tempDir() {
  const d = mkdtempSync(join(tmpdir(), 'minewatch-proc-'))
  dirs.push(d)
  return d
}

describe('the platform process', () => {
  it('exits non-zero and names each problem of a bad site file', async () => {
    const dir = tempDir()
    const site = join(dir, 'site.yaml')
    writeFileSync(
      site,
      `regions: [{ id: r1, name: 一市 }]
mines:
  - id: m1
    name: 一矿
    region: r1
    location: { lat: 37, lon: 120 }
    status: producing
    devices:
      - { id: d1, kind: prism, name: P1, position: { lat: 37, lon: 120 }, interval: -1, secretHash: plain }
`,
    )
    const p = run({ MINEWATCH_SITE: site, MINEWATCH_DATA_DIR: dir })
    expect(await p.exited).toBe(2)
    expect(p.output()).toContain('mines[0].devices[0].interval: expected a positive number')
    expect(p.output()).toContain('mines[0].devices[0].secretHash: expected an scrypt hash')
  })

  it("refuses to start with the demo's public credentials unless the demo is asked for, naming who holds them and what to do", async () => {
    const dir = tempDir()
    // a site file copied from the demo, with one device given a secret of its own
    const own = await hashSecret('my-own-secret-for-p07', { N: 1024, r: 8, p: 1 })
    const copied = readFileSync(resolve('infra/sites/demo.yaml'), 'utf8').replace(/(id: yt-prism-p07[\s\S]*?secretHash: )"[^"]+"/, (_m, head: string) => `${head}"${own}"`)
    writeFileSync(join(dir, 'site.yaml'), copied)
    const refused = run({ ...testEnv(dir), MINEWATCH_DEMO: '', MINEWATCH_SITE: join(dir, 'site.yaml') })
    expect(await refused.exited).toBe(2)
    expect(refused.output()).toContain("holds the demo's credentials")
    expect(refused.output()).toContain('device yt-prism-p08')
    expect(refused.output()).not.toContain('device yt-prism-p07')
    expect(refused.output()).toContain('npm run hash-secret')
    // the demo site itself, by default (as `npm start` with nothing set)
    const byDefault = run({ ...testEnv(dir), MINEWATCH_DEMO: '' })
    expect(await byDefault.exited).toBe(2)
    expect(byDefault.output()).toContain("holds the demo's credentials")
    // asked for: it starts
    const demo = run({ ...testEnv(dir), MINEWATCH_DEMO: '1' })
    await demo.started()
    demo.child.kill('SIGTERM')
    expect(await demo.exited).toBe(0)
  })

  it('exits non-zero on a bad environment variable', async () => {
    const p = run({ MINEWATCH_MQTT_PORT: 'eighteen', MINEWATCH_DATA_DIR: tempDir() })
    expect(await p.exited).toBe(2)
    expect(p.output()).toContain('MINEWATCH_MQTT_PORT')
  })

  it('starts on the demo site, accepts a reading, and writes it to the store on SIGTERM', async () => {
    const dir = tempDir()
    // a long flush interval: the reading is still waiting for its batch when SIGTERM arrives
    const p = run(testEnv(dir, { MINEWATCH_STORE_FLUSH_MS: '60000' }))
    const mqttPort = (await p.started()).mqtt
    expect(readFileSync(join(dir, 'admin-token'), 'utf8').trim()).toMatch(/^[0-9a-f]{48}$/)
    expect(p.output()).not.toContain(readFileSync(join(dir, 'admin-token'), 'utf8').trim())

    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
      username: 'yt-rain-01',
      password: 'yt-rain-01-demo',
      reconnectPeriod: 0,
    })
    const ts = Date.now()
    await client.publishAsync('mines/yt-jinshan/devices/yt-rain-01/telemetry', JSON.stringify({ ts, values: { rainfall: 3.5 } }), { qos: 1 })
    await client.endAsync()
    expect(p.output()).not.toContain('yt-rain-01-demo')

    p.child.kill('SIGTERM')
    expect(await p.exited).toBe(0)
    expect(p.output()).toContain('stopped cleanly')
    const store = new SqliteStore(join(dir, 'minewatch.db'))
    expect(await store.latest('yt-rain-01')).toEqual({ ts, values: { rainfall: 3.5 } })
    await store.close()
    // the data directory is the owner's alone: files 0600, folders 0700, whatever the shell's umask
    const open = readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .map((f) => ({ f, mode: statSync(join(dir, f)).mode & 0o777 }))
      .filter(({ mode }) => (mode & 0o077) !== 0)
    expect(open).toEqual([])
    expect(readdirSync(dir)).toEqual(expect.arrayContaining(['journal', 'minewatch.db', 'admin-token']))
  })
})

describe('the compiled build (npm start)', () => {
  it('compiles, and the JavaScript starts, takes a reading and stops cleanly, finding the demo site and the web UI from dist/', async () => {
    const build = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { encoding: 'utf8' })
    expect(build.status, build.stdout + build.stderr).toBe(0)
    const dir = tempDir()
    const p = run(testEnv(dir), [], COMPILED_ENTRY)
    const ports = await p.started()
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, { username: 'yt-rain-01', password: 'yt-rain-01-demo', reconnectPeriod: 0 })
    await client.publishAsync('mines/yt-jinshan/devices/yt-rain-01/telemetry', JSON.stringify({ ts: Date.now(), values: { rainfall: 1 } }), { qos: 1 })
    await client.endAsync()
    expect((await fetch(`http://127.0.0.1:${ports.http}/api/health`)).status).toBe(200)
    p.child.kill('SIGTERM')
    expect(await p.exited).toBe(0)
    expect(p.output()).toContain('stopped cleanly')
    // the files that are not code are found from dist/ where they are in the repository
    const paths = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const [w, e, s] = await Promise.all(['./dist/dashboard/routes/web.js', './dist/infra/config/env.js', './dist/simulators/scenario.js'].map((m) => import(m))); console.log(JSON.stringify([w.DEFAULT_WEB_ROOT, e.DEMO_SITE, s.SCENARIO_DIR]))",
      ],
      { encoding: 'utf8' },
    )
    expect(JSON.parse(paths.stdout)).toEqual([resolve('dashboard/web/dist'), resolve('infra/sites/demo.yaml'), resolve('simulators/scenarios')])
  }, 90_000)
})

describe('signals', () => {
  it('answers a Ctrl-C that arrives twice (the terminal and npm or tsx each send it) with one clean shutdown', async () => {
    const p = run(testEnv(tempDir()))
    await p.started()
    p.child.kill('SIGINT')
    p.child.kill('SIGINT')
    expect(await p.exited).toBe(0)
    expect(p.output()).toContain('stopped cleanly')
    expect(p.output()).not.toContain('second signal')
  })
})

describe('the demo (npm run demo)', () => {
  it('starts the platform with every demo device simulated over its own MQTT connection', async () => {
    const dir = tempDir()
    const p = run(testEnv(dir, { MINEWATCH_SIMULATE: 'normal' }))
    const ports = await p.started()
    await waitFor(() => p.output().includes('模拟器已连接'), 30_000)
    const token = readFileSync(join(dir, 'admin-token'), 'utf8').trim()
    const health = (await (await fetch(`http://127.0.0.1:${ports.http}/api/health`, { headers: { authorization: `Bearer ${token}` } })).json()) as { broker: object }
    expect(health.broker).toMatchObject({ devicesConnected: 19, devicesKnown: 19 })
    p.child.kill('SIGTERM')
    expect(await p.exited).toBe(0)
  })
})

describe('npm run hash-secret -- --generate', () => {
  it('prints a random 192-bit secret and its hash at the cost for random secrets; each run a new one', async () => {
    const run = () => spawnSync(process.execPath, ['--import', 'tsx', 'infra/cli/hash-secret.ts', '--generate'], { encoding: 'utf8' })
    const [a, b] = [run(), run()]
    expect(a.status).toBe(0)
    const secret = /^secret: +(\S+)$/m.exec(a.stdout)?.[1]
    const hash = /^secretHash: +(\S+)$/m.exec(a.stdout)?.[1]
    expect(secret).toMatch(/^[A-Za-z0-9_-]{32}$/)
    expect(hash).toMatch(/^scrypt\$4096\$8\$1\$/)
    expect(await verifySecret(secret!, hash!)).toBe(true)
    expect(await verifySecret(`${secret}x`, hash!)).toBe(false)
    expect(b.stdout).not.toContain(secret!)
  }, 30_000)
})
