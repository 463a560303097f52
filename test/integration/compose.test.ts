import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { eventually } from '../helpers/eventually.js'
import { startInflux, type TestInflux } from '../helpers/influxdb.js'
import { runPlatform, testEnv } from '../helpers/process.js'
import { secretOf, testSite } from '../helpers/site.js'

/**
 * docker-compose.yml, started natively (the Docker engine does not run on CI machines; CI checks
 * the file itself with `docker-compose config -q`): the platform service's environment, with the
 * values of .env.example, runs the real entry point against a real InfluxDB, and the service's
 * healthcheck command answers for it.
 */
const root = resolve(import.meta.dirname, '../..')
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'))
const dotenv = Object.fromEntries(
  readFileSync(join(root, '.env.example'), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
)

/** Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error}. */
function interpolate(value: string): string {
  return value.replace(/\$\{([A-Z_]+)(?::([-?])([^}]*))?\}/g, (_m, name: string, op?: string, arg?: string) => {
    const v = dotenv[name]
    if (v) return v
    if (op === '-') return arg ?? ''
    throw new Error(`${name}: ${arg ?? 'required'}`)
  })
}

let influx: TestInflux
const dirs: string[] = []
beforeAll(async () => {
  influx = await startInflux()
})
afterAll(async () => {
  await influx?.dispose()
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }))
})

describe('docker-compose.yml', () => {
  const services = compose.services
  it('runs InfluxDB 2.7 set up from the environment and the platform built from infra/Dockerfile', () => {
    expect(services.influxdb.image).toBe('influxdb:2.7')
    expect(services.influxdb.environment.DOCKER_INFLUXDB_INIT_MODE).toBe('setup')
    for (const key of ['ORG', 'BUCKET', 'ADMIN_TOKEN']) expect(services.influxdb.environment[`DOCKER_INFLUXDB_INIT_${key}`]).toBeTruthy()
    expect(services.minewatch.build).toEqual({ context: '.', dockerfile: 'infra/Dockerfile' })
    // the platform's token and bucket are the ones InfluxDB is set up with
    expect(interpolate(services.minewatch.environment.MINEWATCH_INFLUX_TOKEN)).toBe(interpolate(services.influxdb.environment.DOCKER_INFLUXDB_INIT_ADMIN_TOKEN))
    expect(interpolate(services.minewatch.environment.MINEWATCH_INFLUX_BUCKET)).toBe(interpolate(services.influxdb.environment.DOCKER_INFLUXDB_INIT_BUCKET))
  })

  it('keeps data on volumes, restarts, checks health, and publishes the MQTT and HTTP ports', () => {
    expect(services.minewatch.volumes).toContain('minewatch-data:/data')
    expect(services.minewatch.environment.MINEWATCH_DATA_DIR).toBe('/data')
    expect(services.influxdb.volumes).toContain('influxdb-data:/var/lib/influxdb2')
    for (const s of [services.influxdb, services.minewatch]) {
      expect(s.restart).toBe('unless-stopped')
      expect(s.healthcheck.test.length).toBeGreaterThan(1)
    }
    expect(services.minewatch.depends_on.influxdb.condition).toBe('service_healthy')
    expect(services.minewatch.ports.map((p: string) => p.split(':')[0])).toEqual(['1883', '8083', '3000'])
  })

  // the InfluxDB here is Debian's 1.6.7, not the file's 2.7 (no 2.x server can be installed on
  // these machines): the variables, the entry point and the healthcheck are the file's, while the
  // 2.x token and /api/v2/write path meet only the 2.x compatibility of the store's own tests
  it("starts natively with the platform service's variables, stores in a real InfluxDB (1.6.7), and passes its healthcheck", async () => {
    const composed: Record<string, string> = Object.fromEntries(Object.entries(services.minewatch.environment as Record<string, string>).map(([k, v]) => [k, interpolate(String(v))]))
    const dataDir = mkdtempSync(join(tmpdir(), 'minewatch-compose-'))
    dirs.push(dataDir)
    await influx.query(`CREATE DATABASE "${composed.MINEWATCH_INFLUX_BUCKET}"`)
    // the placeholder admin token of .env.example is refused: a user sets one of their own
    const placeholder = runPlatform({ ...composed, MINEWATCH_INFLUX_URL: influx.url, ...testEnv(dataDir) })
    expect(await placeholder.exited).not.toBe(0)
    expect(placeholder.output()).toContain('MINEWATCH_ADMIN_TOKEN: is the placeholder of .env.example')
    // the site file is the user's own (.env.example names ./site.yaml): the test site's, written out
    const siteFile = join(dataDir, 'site.yaml')
    writeFileSync(siteFile, stringify(await testSite()))
    const env = {
      ...composed,
      MINEWATCH_ADMIN_TOKEN: 'compose-test-admin-token-0123456789',
      // what Docker provides: the service name, the mounted site file, the volume, the ports
      MINEWATCH_INFLUX_URL: influx.url,
      ...testEnv(dataDir),
      MINEWATCH_SITE: siteFile,
      // production: the demo is not asked for
      MINEWATCH_DEMO: '',
    }
    // the demo's site file in its place is refused: its passwords are public
    const demo = runPlatform({ ...env, MINEWATCH_SITE: join(root, 'infra/sites/demo.yaml') })
    expect(await demo.exited).toBe(2)
    expect(demo.output()).toContain("holds the demo's credentials")
    const p = runPlatform(env)
    const ports = await p.started()
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, { username: 'a-rain', password: secretOf('a-rain'), reconnectPeriod: 0 })
    const ts = Date.now() - 1000
    await client.publishAsync('mines/mine-a/devices/a-rain/telemetry', JSON.stringify({ ts, values: { rainfall: 2.5 } }), { qos: 1 })
    await client.endAsync()
    const rows = await eventually(async () => {
      const answer = await influx.query(`SELECT "rainfall" FROM "rain" WHERE "device" = 'a-rain'`, composed.MINEWATCH_INFLUX_BUCKET)
      return answer.results[0].series?.[0]?.values
    }, 10_000)
    expect(rows).toEqual([[ts, 2.5]])

    const script = (services.minewatch.healthcheck.test as string[]).at(-1)
    const check = spawnSync(process.execPath, ['-e', script!.replace('127.0.0.1:3000', `127.0.0.1:${ports.http}`)])
    expect(check.status).toBe(0)
    p.child.kill('SIGTERM')
    expect(await p.exited).toBe(0)
    // the same check fails once the platform is gone
    expect(spawnSync(process.execPath, ['-e', script!.replace('127.0.0.1:3000', `127.0.0.1:${ports.http}`)]).status).toBe(1)
  })
})
