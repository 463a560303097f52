import { ensureCommand } from './apt.js'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * A real InfluxDB for tests (README, "Storing in InfluxDB"): Debian's `influxdb` package (1.6.7), installed by the
 * global setup when `influxd` is missing, started here with its own config on free loopback
 * ports and a temp data directory, and stopped afterwards. Nothing is mocked.
 */
export const INFLUX_ADMIN = { username: 'admin', password: 'test-admin-pass' }

export interface TestInflux {
  readonly url: string
  readonly port: number
  /** Runs InfluxQL as the admin (or anonymously without auth); throws on an error in the answer. */
  query(q: string, db?: string): Promise<any>
  /** Stops the server (SIGTERM), keeping its data. */
  stop(): Promise<void>
  /** Starts it again on the same port and data. */
  start(): Promise<void>
  /** Stops it and deletes its data. */
  dispose(): Promise<void>
}

/** Installs Debian's influxdb package if influxd is missing (apt-get; as root or through sudo -n). */
export function ensureInfluxd(): string {
  return ensureCommand('influxd', 'influxdb', 'influxd not found')
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

/** `maxValuesPerTag`: InfluxDB's limit of values one tag may take in a measurement (its default: 100,000). */
export async function startInflux(opts: { auth?: boolean; maxValuesPerTag?: number } = {}): Promise<TestInflux> {
  const bin = ensureInfluxd()
  const dir = mkdtempSync(join(tmpdir(), 'minewatch-influx-'))
  const [port, rpcPort] = [await freePort(), await freePort()]
  for (const sub of ['meta', 'data', 'wal']) mkdirSync(join(dir, sub))
  const config = join(dir, 'influxdb.conf')
  writeFileSync(
    config,
    `reporting-enabled = false
bind-address = "127.0.0.1:${rpcPort}"
[meta]
  dir = "${join(dir, 'meta')}"
[data]
  dir = "${join(dir, 'data')}"
  wal-dir = "${join(dir, 'wal')}"
  query-log-enabled = false
  max-values-per-tag = ${opts.maxValuesPerTag ?? 100_000}
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:${port}"
  auth-enabled = ${opts.auth ? 'true' : 'false'}
  log-enabled = false
[logging]
  level = "warn"
[continuous_queries]
  enabled = false
[subscriber]
  enabled = false
`,
  )
  const url = `http://127.0.0.1:${port}`
  let child: ChildProcess | undefined
  let stderr = ''

  async function start() {
    stderr = ''
    child = spawn(bin, ['-config', config], { stdio: ['ignore', 'ignore', 'pipe'] })
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000)
    })
    const deadline = Date.now() + 30_000
    for (;;) {
      if (child.exitCode !== null) throw new Error(`influxd exited with ${child.exitCode}: ${stderr}`)
      try {
        if ((await fetch(`${url}/ping`)).status === 204) return
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`influxd did not answer /ping within 30 s: ${stderr}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  async function stop() {
    const c = child
    child = undefined
    if (!c || c.exitCode !== null) return
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve())
      c.kill('SIGTERM')
      setTimeout(() => c.kill('SIGKILL'), 10_000).unref()
    })
  }

  async function query(q: string, db?: string) {
    const params = new URLSearchParams({ q, epoch: 'ms' })
    if (db) params.set('db', db)
    // 1.x reads credentials from the URL (or basic auth), not from a form body
    const auth = opts.auth ? `?${new URLSearchParams({ u: INFLUX_ADMIN.username, p: INFLUX_ADMIN.password })}` : ''
    const res = await fetch(`${url}/query${auth}`, { method: 'POST', body: params })
    const body = (await res.json()) as { error?: string; results?: { error?: string }[] }
    const err = body.error ?? body.results?.find((r) => r.error)?.error
    if (err) throw new Error(`InfluxQL ${q}: ${err}`)
    return body
  }

  await start()
  if (opts.auth) {
    // with no users yet, InfluxDB 1.x lets the first admin be created without credentials
    const params = new URLSearchParams({ q: `CREATE USER "${INFLUX_ADMIN.username}" WITH PASSWORD '${INFLUX_ADMIN.password}' WITH ALL PRIVILEGES` })
    const res = await fetch(`${url}/query`, { method: 'POST', body: params })
    if (!res.ok) throw new Error(`could not create the admin user: ${await res.text()}`)
  }
  return {
    url,
    port,
    query,
    stop,
    start,
    async dispose() {
      await stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
