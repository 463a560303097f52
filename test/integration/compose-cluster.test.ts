import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { ensureCommand } from '../helpers/apt.js'
import { eventually } from '../helpers/eventually.js'
import { startInflux, type TestInflux } from '../helpers/influxdb.js'
import { runPlatform, testEnv, type PlatformProcess } from '../helpers/process.js'
import { startSentinels, type TestSentinels } from '../helpers/redis.js'
import { secretOf, testSite } from '../helpers/site.js'

/**
 * docker-compose.cluster.yml started natively (no Docker engine on CI machines; CI checks the file
 * with `docker-compose config -q`): three nodes of the real entry point with the file's variables,
 * Redis with Sentinel (a primary, a replica, three sentinels: Debian's redis-server), InfluxDB,
 * and Debian's HAProxy with the file's own configuration (infra/cluster/haproxy.cfg), its
 * addresses pointed at loopback ports. A device publishing through HAProxy keeps publishing when
 * the node it is connected to is killed with SIGKILL: it reconnects through HAProxy to another
 * node, and HTTP through HAProxy answers throughout. Once the killed node is back on its own data
 * directory (Docker's restart policy), every reading the broker acknowledged is in InfluxDB, once.
 */
const root = resolve(import.meta.dirname, '../..')
const compose = parse(readFileSync(join(root, 'docker-compose.cluster.yml'), 'utf8'), { merge: true })
const dotenv = Object.fromEntries(
  readFileSync(join(root, '.env.example'), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
)
const interpolate = (value: string) =>
  value.replace(/\$\{([A-Z_]+)(?::([-?])([^}]*))?\}/g, (_m, name: string, op?: string, arg?: string) => {
    const v = dotenv[name]
    if (v) return v
    if (op === '-') return arg ?? ''
    throw new Error(`${name}: ${arg ?? 'required'}`)
  })
const NODES = ['minewatch-1', 'minewatch-2', 'minewatch-3']
const ADMIN = 'compose-cluster-admin-token-0123456789'

let redis: TestSentinels
let influx: TestInflux
let haproxy: ChildProcess | undefined
const dirs: string[] = []
const nodes = new Map<string, { process: PlatformProcess; mqtt: number; ws: number; http: number }>()

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

beforeAll(async () => {
  redis = await startSentinels()
  influx = await startInflux()
}, 60_000)

afterAll(async () => {
  haproxy?.kill('SIGKILL')
  for (const n of nodes.values()) n.process.child.kill('SIGKILL')
  await Promise.all([...nodes.values()].map((n) => n.process.exited))
  await redis?.dispose()
  await influx?.dispose()
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }))
})

describe('docker-compose.cluster.yml', () => {
  const services = compose.services
  it('runs three identical nodes on Redis with Sentinel and InfluxDB, behind HAProxy', () => {
    const envs = NODES.map((n) => services[n].environment as Record<string, string>)
    expect(envs.map((e) => e.MINEWATCH_NODE_ID)).toEqual(['node-1', 'node-2', 'node-3'])
    // identical but for their names and volumes
    const rest = envs.map(({ MINEWATCH_NODE_ID: _id, ...e }) => e)
    expect(rest[1]).toEqual(rest[0])
    expect(rest[2]).toEqual(rest[0])
    expect(new Set(NODES.map((n) => services[n].volumes[0])).size).toBe(3)
    expect(rest[0]!.MINEWATCH_REDIS_SENTINELS!.split(',')).toEqual(['redis-sentinel-1:26379', 'redis-sentinel-2:26379', 'redis-sentinel-3:26379'])
    for (const s of ['redis-sentinel-1', 'redis-sentinel-2', 'redis-sentinel-3'])
      expect(services[s].command.join(' ')).toContain(`sentinel monitor ${rest[0]!.MINEWATCH_REDIS_MASTER} redis-primary 6379 2`)
    expect(services['redis-primary'].command).toContain('--appendonly')
    expect(services['redis-replica'].command.join(' ')).toContain('--replicaof redis-primary 6379')
    // only HAProxy publishes ports; the nodes are reached through it
    for (const n of NODES) expect(services[n].ports).toBeUndefined()
    expect(services.haproxy.ports.map((p: string) => p.split(':')[0])).toEqual(['1883', '8083', '3000'])
    expect(services.haproxy.volumes).toContain('./infra/cluster/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro')
  })

  it('keeps taking readings through HAProxy when a node is killed, and loses none it acknowledged', async () => {
    const site = join(mkdtempSync(join(tmpdir(), 'minewatch-compose-cluster-')), 'site.yaml')
    dirs.push(resolve(site, '..'))
    writeFileSync(site, stringify(await testSite()))
    const composed = Object.fromEntries(Object.entries(services['minewatch-1'].environment as Record<string, string>).map(([k, v]) => [k, interpolate(String(v))]))
    await influx.query(`CREATE DATABASE "${composed.MINEWATCH_INFLUX_BUCKET}"`)
    const envOf = new Map<string, Record<string, string>>()
    const startNode = async (name: string) => {
      const p = runPlatform(envOf.get(name)!)
      const ports = await p.started(60_000)
      nodes.set(name, { process: p, ...ports })
    }
    for (const [i, name] of NODES.entries()) {
      const dir = mkdtempSync(join(tmpdir(), `minewatch-compose-${name}-`))
      dirs.push(dir)
      envOf.set(name, {
        ...composed,
        // what Docker provides: the services' addresses, the mounted site file, the volume, the ports
        MINEWATCH_NODE_ID: `node-${i + 1}`,
        MINEWATCH_INFLUX_URL: influx.url,
        MINEWATCH_REDIS_SENTINELS: redis.sentinels,
        MINEWATCH_REDIS_MASTER: redis.master,
        MINEWATCH_ADMIN_TOKEN: ADMIN,
        ...testEnv(dir),
        MINEWATCH_SITE: site,
        MINEWATCH_DEMO: '',
      })
      await startNode(name)
    }

    // HAProxy with the file's configuration, its addresses on loopback
    const bin = ensureCommand('haproxy', 'haproxy', 'the cluster compose file’s load balancer')
    const front = { mqtt: await freePort(), ws: await freePort(), http: await freePort() }
    let cfg = readFileSync(join(root, 'infra/cluster/haproxy.cfg'), 'utf8')
      .replace('bind :1883', `bind 127.0.0.1:${front.mqtt}`)
      .replace('bind :8083', `bind 127.0.0.1:${front.ws}`)
      .replace('bind :3000', `bind 127.0.0.1:${front.http}`)
    for (const [name, n] of nodes)
      cfg = cfg
        .replaceAll(`${name}:1883 check port 3000`, `127.0.0.1:${n.mqtt} check port ${n.http}`)
        .replaceAll(`${name}:8083 check port 3000`, `127.0.0.1:${n.ws} check port ${n.http}`)
        .replaceAll(`${name}:3000`, `127.0.0.1:${n.http}`)
    expect(cfg).not.toMatch(/minewatch-\d/)
    const cfgFile = join(dirs[0]!, 'haproxy.cfg')
    // quicker health checks than production's defaults, so the test waits seconds, not tens
    writeFileSync(cfgFile, cfg.replace('defaults\n', 'defaults\n    default-server inter 500 fall 2 rise 2\n'))
    haproxy = spawn(bin, ['-db', '-f', cfgFile], { stdio: ['ignore', 'pipe', 'pipe'] })
    let haOut = ''
    haproxy.stdout!.on('data', (d) => (haOut += d))
    haproxy.stderr!.on('data', (d) => (haOut += d))
    const health = async () => (await fetch(`http://127.0.0.1:${front.http}/api/health`)).status
    await eventually(async () => (await health()) === 200, 20_000).catch((err: Error) => {
      throw new Error(`${err.message}; haproxy said: ${haOut}`)
    })

    // a device through HAProxy, publishing a reading at a time, reconnecting as a device does
    const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${front.mqtt}`, { username: 'a-rain', password: secretOf('a-rain'), clientId: 'a-rain-ha', reconnectPeriod: 200, connectTimeout: 2000 })
    const acked: number[] = []
    let sending = true
    let ts = Date.now() - 3_600_000
    const load = (async () => {
      while (sending) {
        const t = (ts += 1000)
        try {
          await device.publishAsync('mines/mine-a/devices/a-rain/telemetry', JSON.stringify({ ts: t, values: { rainfall: 0.5 } }), { qos: 1 })
          acked.push(t)
        } catch {
          // refused while its node went away: on again once it has reconnected through HAProxy
          if (!device.connected) await new Promise((r) => device.once('connect', r))
        }
      }
    })()
    await eventually(() => acked.length >= 50, 20_000)

    // the node holding the device's connection (its own count, from its metrics) is killed
    const holding = async (name: string) => {
      const text = await (await fetch(`http://127.0.0.1:${nodes.get(name)!.http}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text()
      return /^minewatch_devices_connected (\d+)/m.exec(text)?.[1] === '1'
    }
    const victim = (await Promise.all(NODES.map(async (n) => ((await holding(n)) ? n : undefined)))).find(Boolean)!
    expect(victim).toBeDefined()
    const before = acked.length
    nodes.get(victim)!.process.child.kill('SIGKILL')
    await nodes.get(victim)!.process.exited
    nodes.delete(victim)
    // readings go on through another node; HTTP through HAProxy answers
    await eventually(() => acked.length >= before + 50, 30_000)
    expect(await health()).toBe(200)
    sending = false
    await load
    await device.endAsync()
    // the killed node restarts on its own volume (Docker's restart policy): what it acknowledged
    // and had not yet written waits in its journal, and goes to InfluxDB now
    await startNode(victim)

    // every acknowledged reading is in InfluxDB, once
    const stored = await eventually(async () => {
      const answer = await influx.query(`SELECT "rainfall" FROM "rain" WHERE "device" = 'a-rain'`, composed.MINEWATCH_INFLUX_BUCKET)
      const rows = (answer.results[0].series?.[0]?.values ?? []) as [number, number][]
      return rows.length >= acked.length ? rows : undefined
    }, 30_000)
    const times = new Set(stored!.map(([t]) => t))
    expect(acked.filter((t) => !times.has(t))).toEqual([])
    expect(stored!.length).toBe(times.size)
  }, 180_000)
})
