import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import mqtt from 'mqtt'
import { startInflux, type TestInflux } from '../test/helpers/influxdb.js'
import { COMPILED_ENTRY, runPlatform, testEnv, type PlatformProcess } from '../test/helpers/process.js'
import { closeFleet, connectFleet, runLoad, type LoadResult } from './fleet.js'
import { attacks } from './attacks.js'
import { history } from './history.js'
import { startProbe } from './probe.js'
import { writeBenchSite } from './site.js'
import { province } from './province.js'
import { uplink } from './uplink.js'
import { cluster } from './cluster.js'
import { cpuSecondsOf, fmt, mib, percentile, progress, rssOf, schedOf, schedShares } from './stats.js'
import { AlertBook } from '../alerting/book/book.js'
import { rulesFor } from '../alerting/config.js'
import { AlertEngine, type EngineDevice } from '../alerting/engine.js'
import { RuleRunner } from '../alerting/runner.js'
import { ruleSchema } from '../alerting/rules/index.js'
import type { Reading } from '../ingest/reading.js'

/**
 * `npm run bench` — the ingest benchmark of the durable-ingest issue (not a test: it prints
 * figures, never asserts a time). Modes:
 *   throughput (default)  N devices flat out against a bare aedes broker (the baseline) and
 *                         against the platform storing in InfluxDB; then half that rate for
 *                         PUBACK latency; publish-to-stored latency by a probe.
 *   idle                  10,000 idle device connections; the platform's RSS.
 *   outage                a steady rate, InfluxDB stopped for a while, then the drain time.
 *   restart               the platform killed (kill -9) after a few seconds of load, again and
 *                         again, with SQLite and with InfluxDB: the time from start to a healthy
 *                         platform at each start, which must stay flat (docs/benchmarks.md, "Restarts under repeated kill -9").
 *   attacks               the security issue's attacks against the platform process while a working
 *                         device publishes: its PUBACK latency and the platform's memory (docs/security.md).
 *   history               a year of readings for 500 prisms and 100,000 resolved warnings in SQLite and
 *                         in InfluxDB: the screens' queries and a start on them (bench/history.ts).
 *   province              a generated province, 500 mines × 50 devices, each mine platform an uplink
 *                         account, against one regulator instance: memory, ingest lag, screen load
 *                         times (bench/province.ts).
 *   uplink                a mine platform forwarding to a regulator's under load, the line cut for
 *                         10 minutes: lost, doubled, catch-up, the 联网 warning (bench/uplink.ts).
 *   cluster               one node against three sharing Redis: readings/s, PUBACK and warning
 *                         latency, the devices spread over the nodes (bench/cluster.ts).
 * Everything runs on this machine: the load generator, the broker or platform, and influxd
 * share its cores, so ratios against the baseline of the same run mean more than raw figures.
 */
const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    devices: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '15' },
    window: { type: 'string', default: '8' },
    'idle-devices': { type: 'string', default: '10000' },
    /** scrypt N of the bench devices' secret hashes (production: 32768); admission costs one scrypt per device */
    'scrypt-n': { type: 'string', default: '1024' },
    'outage-seconds': { type: 'string', default: '60' },
    'outage-rate': { type: 'string', default: '5000' },
    /** restart mode: starts (each after a kill -9), and seconds of load before each kill */
    'restart-cycles': { type: 'string', default: '8' },
    'restart-load-seconds': { type: 'string', default: '8' },
    /** alerting mode: readings/s of background load beside the probe */
    'alert-load': { type: 'string', default: '10000' },
    /** alerting mode: seconds at the start of the load reported apart (1,000 clients starting at once, code not yet optimized) */
    'alert-warmup': { type: 'string', default: '5' },
    /** history mode: prisms, days of 10-minute readings, resolved warnings, and how often each query is asked */
    'history-devices': { type: 'string', default: '500' },
    'history-days': { type: 'string', default: '365' },
    'history-alerts': { type: 'string', default: '100000' },
    'history-repeats': { type: 'string', default: '20' },
    /** attacks mode: seconds of the idle phase and of holding the partial CONNECTs */
    'attack-seconds': { type: 'string', default: '10' },
    /** province mode: mines, devices per mine, seconds between a device's readings, minutes of load */
    'province-mines': { type: 'string', default: '500' },
    'province-devices': { type: 'string', default: '50' },
    'province-interval': { type: 'string', default: '60' },
    'province-minutes': { type: 'string', default: '3' },
    /** uplink mode: devices at 1 reading/s, minutes the line is cut, seconds before the regulator warns */
    'uplink-devices': { type: 'string', default: '500' },
    /** cluster mode: devices spread over the nodes, flat out */
    'cluster-devices': { type: 'string', default: '300' },
    'uplink-cut-minutes': { type: 'string', default: '10' },
    'uplink-down-after': { type: 'string', default: '300' },
    json: { type: 'string' },
    profile: { type: 'string' },
  },
})
const mode = positionals[0] ?? 'throughput'
const num = (v: string | undefined) => Number(v)
const work = mkdtempSync(join(tmpdir(), 'minewatch-bench-'))
const report: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${mib(totalmem())} RAM, Node ${process.version}`,
  mode,
}

const say = (line = '') => process.stdout.write(`${line}\n`)
const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789'
/** The compiled entry point (built below, before any mode runs). */
const BENCH_ENTRY = COMPILED_ENTRY
/**
 * BENCH_NODE_ARGS: Node flags for the platform process, after `npm start`'s own so that they win
 * (e.g. `--max-semi-space-size=16` to measure Node's default young generation).
 */
const BENCH_NODE_ARGS = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []
const entryWith = (flags: string[]) => [...BENCH_ENTRY.slice(0, -1), ...flags, BENCH_ENTRY.at(-1)!]

/** Where latency comes from inside the platform during a phase: event-loop delay, GC, journal commits. */
/** A thread's shares of wall time on a core and waiting for one (schedShares). */
const shares = (s: { onCore: number; waiting: number }) => `${fmt(100 * s.onCore)}% / ${fmt(100 * s.waiting)}%`

function inside(before: Map<string, number>, after: Map<string, number>) {
  const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0)
  const gc = (kind: string) => delta(`minewatch_process_nodejs_gc_duration_seconds_sum{kind="${kind}"}`)
  const commits = delta('minewatch_journal_commit_seconds_count')
  return {
    eventLoopDelayP99Ms: (after.get('minewatch_process_nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000,
    eventLoopDelayMaxMs: (after.get('minewatch_process_nodejs_eventloop_lag_max_seconds') ?? NaN) * 1000,
    gcSeconds: { minor: gc('minor'), major: gc('major'), incremental: gc('incremental') },
    journalCommits: commits,
    readingsPerCommit: delta('minewatch_journal_commit_readings_sum') / commits,
    commitMeanMs: (delta('minewatch_journal_commit_seconds_sum') / commits) * 1000,
    storeWrites: delta('minewatch_store_write_seconds_count'),
    storeWriteMeanMs: (delta('minewatch_store_write_seconds_sum') / delta('minewatch_store_write_seconds_count')) * 1000,
    /** The platform's CPU seconds (its own process.cpuUsage) over the interval. */
    cpuSeconds: delta('minewatch_process_process_cpu_seconds_total'),
  }
}

async function startBare(): Promise<{ port: number; pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/bare-broker.ts'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()).port))
    child.once('exit', (code) => reject(new Error(`bare broker exited with ${code}`)))
  })
  return {
    port,
    pid: child.pid!,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

interface RunningPlatform {
  readonly proc: PlatformProcess
  readonly ports: { mqtt: number; http: number }
  health(): Promise<any>
  /** The platform's Prometheus text, parsed to name{labels} → value. */
  metrics(): Promise<Map<string, number>>
  stop(): Promise<void>
}

async function startPlatformProcess(influx: TestInflux, siteFile: string, db: string): Promise<RunningPlatform> {
  await influx.query(`CREATE DATABASE "${db}"`)
  const dataDir = join(work, `data-${db}`)
  mkdirSync(dataDir)
  const proc = runPlatform(
    testEnv(dataDir, {
      MINEWATCH_SITE: siteFile,
      MINEWATCH_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
      MINEWATCH_INFLUX_URL: influx.url,
      MINEWATCH_INFLUX_BUCKET: db,
    }),
    // --profile <dir>: a V8 CPU profile of the platform process, to see where the time goes
    [],
    entryWith([...BENCH_NODE_ARGS, ...(args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] : [])]),
  )
  const ports = await proc.started(120_000)
  return {
    proc,
    ports,
    health: async () => (await fetch(`http://127.0.0.1:${ports.http}/api/health`, { headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` } })).json(),
    metrics: async () => {
      const text = await (await fetch(`http://127.0.0.1:${ports.http}/metrics`, { headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` } })).text()
      return new Map(
        text
          .split('\n')
          .filter((l) => l && !l.startsWith('#'))
          .map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]),
      )
    },
    async stop() {
      proc.child.kill('SIGTERM')
      await proc.exited
    },
  }
}

async function countStored(influx: TestInflux, db: string, from: number, to: number): Promise<number> {
  const answer = await influx.query(`SELECT count("dN") FROM "prism" WHERE time >= ${from}ms AND time < ${to}ms`, db)
  return (answer.results?.[0]?.series?.[0]?.values?.[0]?.[1] as number | undefined) ?? 0
}

async function waitDrained(p: RunningPlatform, label: string): Promise<number> {
  let pending = NaN
  const stop = progress(`${label}: draining to InfluxDB`, () => `${fmt(pending)} readings pending`)
  try {
    for (;;) {
      pending = (await p.health()).store.pending
      if (pending === 0) return performance.now()
      await new Promise((r) => setTimeout(r, 50))
    }
  } finally {
    stop()
  }
}

function latencyLine(r: LoadResult) {
  const s = r.ackLatency.sorted()
  return { p50: percentile(s, 50), p99: percentile(s, 99) }
}

async function throughput(influx: TestInflux) {
  const n = num(args.devices)
  const seconds = num(args.seconds)
  const window = num(args.window)
  const { file, devices: all } = await writeBenchSite(work, n + 1)
  const devices = all.slice(0, n)
  const probeDevice = all[n]!
  // each phase and each probe get their own hour of timestamps, all in the past (the platform
  // refuses readings from the future), so the store can be counted per phase
  const HOUR = 3_600_000
  const t0 = Date.now() - 8 * HOUR

  say(`== platform: journal + InfluxDB ${await influxVersion(influx)}, ${fmt(n)} devices, ${seconds} s flat out, ${window} in flight each`)
  const p = await startPlatformProcess(influx, file, 'bench')
  const fleet = await connectFleet('platform', p.ports.mqtt, devices)
  const probeClient = await mqtt.connectAsync(`mqtt://127.0.0.1:${p.ports.mqtt}`, { username: probeDevice.id, password: probeDevice.password, clientId: probeDevice.id, reconnectPeriod: 0 })
  const probeAt = (from: number) =>
    startProbe(probeClient, `mines/${probeDevice.mineId}/devices/${probeDevice.id}/telemetry`, probeDevice.id, async (q) => (await influx.query(q, 'bench')).results?.[0]?.series?.[0]?.values ?? [], {
      everyMs: 50,
      pollMs: 20,
      t0: from,
    })
  const flatProbe = probeAt(t0 + 6 * HOUR)
  // the platform's CPU, from its own process.cpuUsage (prom-client's process_cpu_seconds_total):
  // microseconds per stored reading compare across machines better than readings per second
  const cpuOfPlatform = async () => (await p.metrics()).get('minewatch_process_process_cpu_seconds_total') ?? NaN
  const cpuFlat0 = await cpuOfPlatform()
  const loadStart = performance.now()
  const load = await runLoad('platform flat out', fleet.clients, devices, { seconds, window, t0 })
  const drained = await waitDrained(p, 'platform')
  const cpuFlat = (await cpuOfPlatform()) - cpuFlat0
  await flatProbe.stop()
  const stored = await countStored(influx, 'bench', t0, t0 + HOUR)
  const storedRate = stored / ((drained - loadStart) / 1000)
  const acceptedRate = load.acked / load.seconds

  const halfRate = storedRate / 2
  say(`== platform at half the stored rate: ${fmt(halfRate)} readings/s for ${seconds} s`)
  const halfProbe = probeAt(t0 + 7 * HOUR)
  const beforeHalf = await p.metrics()
  const halfSched0 = await schedOf(p.proc.child.pid!)
  const half = await runLoad('platform half rate', fleet.clients, devices, { seconds, window, ratePerDevice: halfRate / n, t0: t0 + HOUR })
  const halfSched = schedShares(halfSched0, await schedOf(p.proc.child.pid!), half.seconds)
  const halfInside = inside(beforeHalf, await p.metrics())
  await waitDrained(p, 'half rate')
  await halfProbe.stop()
  const rss = await rssOf(p.proc.child.pid!)
  const halfStored = await countStored(influx, 'bench', t0 + HOUR, t0 + 2 * HOUR)
  const refused = (await p.health()).counts.readingsRefused as Record<string, number>
  await closeFleet(fleet.clients)
  await probeClient.endAsync(true)
  await p.stop()

  say(`== baseline: bare aedes (no hooks, no store), the same devices and load`)
  const bare = await startBare()
  const bareFleet = await connectFleet('baseline', bare.port, devices, { auth: false })
  const bareCpu0 = await cpuSecondsOf(bare.pid)
  const bareLoad = await runLoad('baseline flat out', bareFleet.clients, devices, { seconds, window, t0 })
  const bareCpu = (await cpuSecondsOf(bare.pid)) - bareCpu0
  const bareHalf = await runLoad('baseline half rate', bareFleet.clients, devices, { seconds, window, ratePerDevice: halfRate / n, t0 })
  const bareRss = await rssOf(bare.pid)
  await closeFleet(bareFleet.clients)
  await bare.stop()
  const bareRate = bareLoad.acked / bareLoad.seconds

  const [flat, halfLat, bareFlat, bareHalfLat] = [load, half, bareLoad, bareHalf].map(latencyLine) as [
    ReturnType<typeof latencyLine>,
    ReturnType<typeof latencyLine>,
    ReturnType<typeof latencyLine>,
    ReturnType<typeof latencyLine>,
  ]
  const [flatStored, halfStoredLat] = [flatProbe.latency.sorted(), halfProbe.latency.sorted()]
  report.throughput = {
    devices: n,
    seconds,
    window,
    baseline: { acceptedPerSec: bareRate, flat: bareFlat, half: bareHalfLat, peakRssBytes: bareRss.peak },
    platform: { acceptedPerSec: acceptedRate, storedPerSec: storedRate, flat, half: halfLat, peakRssBytes: rss.peak, connectSeconds: fleet.seconds },
    publishToStoredMs: { flat: { p50: percentile(flatStored, 50), p99: percentile(flatStored, 99) }, half: { p50: percentile(halfStoredLat, 50), p99: percentile(halfStoredLat, 99) } },
    halfRate,
    halfRateInside: { ...halfInside, mainThread: halfSched },
    acked: load.acked + half.acked,
    stored: stored + halfStored,
    ratios: { acceptedVsBaseline: acceptedRate / bareRate, storedVsBaseline: storedRate / bareRate },
    cpuMicrosecondsPerReading: { platformPerStored: (cpuFlat * 1e6) / stored, baselinePerAccepted: (bareCpu * 1e6) / bareLoad.acked },
  }
  const ms = (l: { p50: number; p99: number }) => `${fmt(l.p50, 1)} / ${fmt(l.p99, 1)} ms`
  say()
  say('| figure | bare aedes | minewatch (journal + InfluxDB) | ratio |')
  say('|---|---:|---:|---:|')
  say(`| accepted readings/s (PUBACKs), flat out | ${fmt(bareRate)} | ${fmt(acceptedRate)} | ${fmt(acceptedRate / bareRate, 2)} |`)
  say(`| stored readings/s (read back from InfluxDB) | — | ${fmt(storedRate)} | ${fmt(storedRate / bareRate, 2)} |`)
  say(`| PUBACK latency p50 / p99, flat out | ${ms(bareFlat)} | ${ms(flat)} | |`)
  say(`| PUBACK latency p50 / p99 at ${fmt(halfRate)} readings/s (half the stored rate) | ${ms(bareHalfLat)} | ${ms(halfLat)} | |`)
  say(`| publish-to-stored p50 / p99, flat out (probe, ±20 ms) | — | ${fmt(percentile(flatStored, 50))} / ${fmt(percentile(flatStored, 99))} ms | |`)
  say(`| publish-to-stored p50 / p99 at half rate (probe, ±20 ms) | — | ${fmt(percentile(halfStoredLat, 50))} / ${fmt(percentile(halfStoredLat, 99))} ms | |`)
  say(`| peak RSS | ${mib(bareRss.peak)} | ${mib(rss.peak)} | |`)
  say(
    `| CPU per reading, flat out (platform: its own process.cpuUsage per stored reading, load to drained; bare: /proc per acknowledged) | ${fmt((bareCpu * 1e6) / bareLoad.acked, 1)} µs | ${fmt((cpuFlat * 1e6) / stored, 1)} µs | ${fmt(cpuFlat / stored / (bareCpu / bareLoad.acked), 2)} |`,
  )
  say(
    `| inside the platform at half rate | | event-loop delay p99 ${fmt(halfInside.eventLoopDelayP99Ms, 1)} ms (max ${fmt(halfInside.eventLoopDelayMaxMs)}), ` +
      `GC ${fmt(halfInside.gcSeconds.minor, 2)} s minor + ${fmt(halfInside.gcSeconds.major, 2)} s major in ${seconds} s, ` +
      `${fmt(halfInside.journalCommits)} journal commits of ${fmt(halfInside.readingsPerCommit, 1)} readings in ${fmt(halfInside.commitMeanMs, 2)} ms, ` +
      `${fmt(halfInside.storeWrites)} store writes of ${fmt(halfInside.storeWriteMeanMs)} ms | |`,
  )
  if (halfSched) say(`| the platform's main thread at half rate: on a core / runnable but waiting for one (${cpus().length} cores) | | ${shares(halfSched)} | |`)
  say(`| acknowledged / stored, both runs | | ${fmt(load.acked + half.acked)} / ${fmt(stored + halfStored)} | |`)
  say()
  // the performance issue's targets (docs/benchmarks.md, "Targets")
  check('accepted ≥ 70% of bare aedes', acceptedRate / bareRate >= 0.7, `${fmt((100 * acceptedRate) / bareRate)}%`)
  check('stored ≥ 60% of bare aedes', storedRate / bareRate >= 0.6, `${fmt((100 * storedRate) / bareRate)}%`)
  check('PUBACK p99 at half rate within 3× bare aedes at the same rate', halfLat.p99 <= 3 * bareHalfLat.p99, `${fmt(halfLat.p99, 1)} ms vs ${fmt(bareHalfLat.p99, 1)} ms`)
  check('platform event-loop delay p99 < 10 ms at half rate', halfInside.eventLoopDelayP99Ms < 10, `${fmt(halfInside.eventLoopDelayP99Ms, 1)} ms`)
  check('platform CPU ≤ 14.5 µs per stored reading (half of 29 µs, 2026-11-30)', (cpuFlat * 1e6) / stored <= 14.5, `${fmt((cpuFlat * 1e6) / stored, 1)} µs`)
  check('no reading refused', Object.keys(refused).length === 0, JSON.stringify(refused))
  check('every acknowledged reading stored', stored >= load.acked && halfStored >= half.acked, `${fmt(stored + halfStored)} of ${fmt(load.acked + half.acked)}`)
}

async function idle(influx: TestInflux) {
  const n = num(args['idle-devices'])
  say(`== idle: ${fmt(n)} device connections held open`)
  const N = num(args['scrypt-n'])
  const { file, devices } = await writeBenchSite(work, n, { N, r: 8, p: 1 })
  const p = await startPlatformProcess(influx, file, 'idle')
  const before = await rssOf(p.proc.child.pid!)
  const fleet = await connectFleet('idle', p.ports.mqtt, devices, { concurrency: 200 })
  await new Promise((r) => setTimeout(r, 5000))
  const after = await rssOf(p.proc.child.pid!)
  const h = await p.health()
  await closeFleet(fleet.clients)
  await p.stop()
  report.idle = { devices: n, scryptN: N, connected: h.broker.devicesConnected, rssBeforeBytes: before.now, rssBytes: after.now, peakRssBytes: after.peak, connectSeconds: fleet.seconds }
  say()
  say('| figure | value |')
  say('|---|---:|')
  say(`| devices connected (platform's count) | ${fmt(h.broker.devicesConnected)} |`)
  say(`| time to connect them all (scrypt N=2^${Math.log2(N)} hashes, 200 at a time) | ${fmt(fleet.seconds, 1)} s (${fmt(n / fleet.seconds)}/s) |`)
  say(`| platform RSS before / with the connections | ${mib(before.now)} / ${mib(after.now)} |`)
  say(`| per connection | ${fmt((after.now - before.now) / n / 1024, 1)} KiB |`)
  say(`| peak RSS | ${mib(after.peak)} |`)
  say()
  check('10,000 devices in under 1 GiB RSS', after.peak < 1024 ** 3 && h.broker.devicesConnected >= n, mib(after.peak))
}

async function alerting(influx: TestInflux) {
  const n = num(args.devices)
  const rate = num(args['alert-load'])
  const seconds = num(args.seconds)
  say(`== alerting: publish-to-alert latency while ${fmt(rate)} other readings/s flow from ${fmt(n)} devices, ${seconds} s`)
  const { file, devices } = await writeBenchSite(work, n)
  const p = await startPlatformProcess(influx, file, 'alerting')
  const fleet = await connectFleet('alerting', p.ports.mqtt, devices)
  // the probe lives in a process of its own: this one's event loop is busy with the fleet (alert-probe.ts)
  const probe = spawn(process.execPath, ['--import', 'tsx', 'bench/alert-probe.ts', `mqtt://127.0.0.1:${p.ports.mqtt}`], { stdio: ['pipe', 'pipe', 'inherit'] })
  const probeLines = createInterface({ input: probe.stdout })[Symbol.asyncIterator]()
  if ((await probeLines.next()).value !== 'ready') throw new Error('the alert probe did not start')
  const beforeLoad = await p.metrics()
  // the load generator's own loop delay is part of what the fleet sees: say how much
  const ownDelay = monitorEventLoopDelay({ resolution: 5 })
  ownDelay.enable()
  // on a small machine every process competes for the cores: say what each took
  const ownCpu0 = process.cpuUsage()
  const sched0 = await Promise.all([schedOf(p.proc.child.pid!), schedOf(process.pid)])
  const load = runLoad('alerting background', fleet.clients, devices, { seconds, window: 8, ratePerDevice: rate / n, t0: Date.now() - 3 * 3_600_000 })
  // every 100 ms the probe crosses its red threshold one way or the other: each crossing is one alert event
  probe.stdin.write('start\n')
  const result = await load
  probe.stdin.write('stop\n')
  const sched1 = await Promise.all([schedOf(p.proc.child.pid!), schedOf(process.pid)])
  const [platformSched, generatorSched] = [0, 1].map((i) => schedShares(sched0[i], sched1[i], result.seconds))
  const loaded = inside(beforeLoad, await p.metrics())
  const rss = await rssOf(p.proc.child.pid!)
  ownDelay.disable()
  const ownCpu = process.cpuUsage(ownCpu0)
  const generatorDelay = { p99: ownDelay.percentile(99) / 1e6, max: ownDelay.max / 1e6, cpuShare: (ownCpu.user + ownCpu.system) / 1e6 / result.seconds }
  const probed = JSON.parse((await probeLines.next()).value as string) as { crossings: (number | null)[][]; cpuSeconds: number }
  const probeCpuShare = probed.cpuSeconds / result.seconds
  const crossings = probed.crossings.map(([at, latency, toCommitted]) => ({
    at: at!,
    latency: latency ?? Number.NaN,
    toCommitted: toCommitted ?? Number.NaN,
  }))
  await closeFleet(fleet.clients)
  await p.stop()
  const warm = num(args['alert-warmup']) * 1000
  const phases = [
    { name: `after the first ${fmt(warm / 1000)} s`, list: crossings.filter((c) => c.at >= warm) },
    { name: `the first ${fmt(warm / 1000)} s (${fmt(n)} clients start at once)`, list: crossings.filter((c) => c.at < warm) },
  ].map(({ name, list }) => {
    const heard = list.filter((c) => Number.isFinite(c.latency))
    const sorted = (f: (c: (typeof heard)[number]) => number) => Float64Array.from(heard.map(f)).sort()
    return { name, crossings: list.length, events: heard.length, latency: sorted((c) => c.latency), toCommitted: sorted((c) => c.toCommitted), after: sorted((c) => c.latency - c.toCommitted) }
  })
  const steady = phases[0]!
  const cost = ruleCost()
  const all = crossings.length
  const heardAll = phases.reduce((n, ph) => n + ph.events, 0)
  report.alerting = {
    inside: loaded,
    peakRss: rss.peak,
    generatorDelay,
    probeCpuShare,
    mainThreads: { platform: platformSched, generator: generatorSched },
    backgroundPerSec: result.acked / result.seconds,
    probes: all,
    alertEvents: heardAll,
    phases: phases.map((ph) => ({ name: ph.name, crossings: ph.crossings, events: ph.events, p50: percentile(ph.latency, 50), p99: percentile(ph.latency, 99), max: percentile(ph.latency, 100) })),
    ruleCost: cost,
  }
  say()
  say('| figure | value |')
  say('|---|---:|')
  say(`| background readings acknowledged | ${fmt(result.acked / result.seconds)} /s |`)
  say(`| probe crossings / alert events received on MQTT | ${fmt(all)} / ${fmt(heardAll)} |`)
  for (const ph of phases) {
    say(`| ${ph.name}: publish-to-alert-event latency p50 / p90 / p99 / max (${fmt(ph.events)} events) | ${[50, 90, 99, 100].map((q) => fmt(percentile(ph.latency, q), 1)).join(' / ')} ms |`)
    say(`| of which publish to committed (the event's time: its reading went to the rules), p50 / p99 | ${[50, 99].map((q) => fmt(percentile(ph.toCommitted, q), 1)).join(' / ')} ms |`)
    say(`| of which then judged, booked, journaled, published, received, p50 / p99 | ${[50, 99].map((q) => fmt(percentile(ph.after, q), 1)).join(' / ')} ms |`)
  }
  for (const [what, us] of Object.entries(cost)) say(`| rule evaluation, ${what} | ${fmt(us, 2)} µs per reading |`)
  say(
    `| inside the platform | CPU ${fmt((100 * loaded.cpuSeconds) / result.seconds)}% of one core (${fmt((loaded.cpuSeconds * 1e6) / (result.acked + all), 1)} µs per reading), event-loop delay p99 ${fmt(loaded.eventLoopDelayP99Ms, 1)} ms (max ${fmt(loaded.eventLoopDelayMaxMs)}), GC ${fmt(loaded.gcSeconds.minor, 2)} s minor + ${fmt(loaded.gcSeconds.major, 2)} s major, ` +
      `${fmt(loaded.journalCommits)} journal commits of ${fmt(loaded.commitMeanMs, 2)} ms, ${fmt(loaded.storeWrites)} store writes of ${fmt(loaded.storeWriteMeanMs)} ms, peak RSS ${mib(rss.peak)} |`,
  )
  say(
    `| inside the load generator (the fleet's process) | CPU ${fmt(100 * generatorDelay.cpuShare)}% of one core, event-loop delay p99 ${fmt(generatorDelay.p99, 1)} ms (max ${fmt(generatorDelay.max)}) |`,
  )
  say(`| the probe's process | CPU ${fmt(100 * probeCpuShare)}% of one core |`)
  if (platformSched && generatorSched)
    say(`| main threads on a core / runnable but waiting for one (${cpus().length} cores) | platform ${shares(platformSched)}, load generator ${shares(generatorSched)} |`)
  say()
  check(`publish-to-alert p99 < 50 ms under the background load (${steady.name})`, percentile(steady.latency, 99) < 50, `${fmt(percentile(steady.latency, 99), 1)} ms`)
  check('every probe crossing raised its alert event', heardAll === all, `${fmt(heardAll)} of ${fmt(all)}`)
}

/** Rule evaluation cost per reading, measured in this process on the engine alone (no I/O). */
function ruleCost(): Record<string, number> {
  const prism: EngineDevice = {
    id: 'p',
    name: 'P',
    kind: 'prism',
    mineId: 'm',
    timeZone: 'Asia/Shanghai',
    intervalMs: 600_000,
    mineStatus: 'producing',
    rules: rulesFor('prism', {}, {}, []),
  }
  const out: Record<string, number> = {}
  for (const [what, device] of [
    ['a prism with the default rules (silence, rate per day and per hour, inverse velocity)', prism],
    [
      'a piezometer with one threshold rule and silence',
      {
        ...prism,
        kind: 'piezometer' as const,
        rules: rulesFor('piezometer', {}, {}, [ruleSchema.parse({ kind: 'threshold', id: 't', source: { metric: 'depth' }, direction: 'below', thresholds: { red: 4 } })]),
      },
    ],
  ] as const) {
    const engine = new AlertEngine([device], new AlertBook(() => 'x'), 0)
    const T = Date.parse('2026-11-01T00:00:00Z')
    const readings: Reading[] = Array.from({ length: 20_000 }, (_, i) => ({
      mineId: 'm',
      deviceId: 'p',
      kind: device.kind,
      ts: T + i * 600_000,
      values: (device.kind === 'prism' ? { dN: 0.001 * i, dE: 0.5, dH: 0.1 } : { depth: 6 + (i % 10) / 100 }) as Record<string, number>,
    }))
    engine.onReadings(readings.slice(0, 2000), T) // warm up
    const started = performance.now()
    engine.onReadings(readings.slice(2000), T)
    out[what] = ((performance.now() - started) * 1000) / 18_000
  }
  out['1,000 prisms at 10 readings/s each, as the rule thread gets them under this load (JSON batches of 120, parsed)'] = ruleThreadCost()
  return out
}

/**
 * The rule thread's work under the alerting load: the fleet's payloads (fleet.ts) from 1,000
 * prisms, 100 ms apart, parsed from JSON as worker.ts does and judged by the default rules.
 */
function ruleThreadCost(): number {
  const n = 1000
  const batch = 120
  const devices: EngineDevice[] = Array.from({ length: n }, (_, i) => ({
    id: `d${i}`,
    name: `d${i}`,
    kind: 'prism' as const,
    mineId: `m${i % 10}`,
    timeZone: 'Asia/Shanghai',
    intervalMs: 60_000,
    mineStatus: 'producing' as const,
    rules: rulesFor('prism', {}, {}, []),
  }))
  const t0 = Date.now() - 3 * 3_600_000
  const runner = new RuleRunner(devices, t0)
  const sent = new Array<number>(n).fill(0)
  let next = 0
  const json = () => {
    const parts: string[] = []
    for (let j = 0; j < batch; j++, next = (next + 1) % n) {
      const i = sent[next]!++
      parts.push(`{"mineId":"m${next % 10}","deviceId":"d${next}","kind":"prism","ts":${t0 + i * 100},"values":{"dN":${(i % 100) / 10},"dE":-1.25,"dH":0.4}}`)
    }
    return `[${parts.join(',')}]`
  }
  // 50 readings a device first: the windows fill and the code is optimized
  for (let k = 0; k < (50 * n) / batch; k++) runner.onReadings(JSON.parse(json()) as Reading[], t0)
  const batches = Array.from({ length: (100 * n) / batch }, json)
  const started = performance.now()
  for (const b of batches) runner.onReadings(JSON.parse(b) as Reading[], t0)
  return ((performance.now() - started) * 1000) / (batches.length * batch)
}

async function outage(influx: TestInflux) {
  const n = num(args.devices)
  const rate = num(args['outage-rate'])
  const outageSeconds = num(args['outage-seconds'])
  say(`== outage: ${fmt(rate)} readings/s from ${fmt(n)} devices, InfluxDB stopped for ${outageSeconds} s`)
  const { file, devices } = await writeBenchSite(work, n)
  const p = await startPlatformProcess(influx, file, 'outage')
  const fleet = await connectFleet('outage', p.ports.mqtt, devices)
  const t0 = Date.now() - 6 * 3_600_000
  const loading = runLoad('outage load', fleet.clients, devices, { seconds: outageSeconds + 10 + 90, window: 8, ratePerDevice: rate / n, t0 })
  await new Promise((r) => setTimeout(r, 5000))
  await influx.stop()
  const stopped = performance.now()
  await new Promise((r) => setTimeout(r, outageSeconds * 1000))
  const backlog = (await p.health()).store.pending
  await influx.start()
  const restarted = performance.now()
  const drained = await waitDrained(p, 'outage')
  const load = await loading
  await waitDrained(p, 'outage end')
  const stored = await countStored(influx, 'outage', t0, t0 + 100_000_000)
  await closeFleet(fleet.clients)
  await p.stop()
  const drainSeconds = (drained - restarted) / 1000
  report.outage = { rate, outageSeconds: (restarted - stopped) / 1000, backlog, drainSeconds, acked: load.acked, stored, ackedPerSec: load.acked / load.seconds }
  say()
  say('| figure | value |')
  say('|---|---:|')
  say(`| steady rate offered / acknowledged | ${fmt(rate)} / ${fmt(load.acked / load.seconds)} readings/s |`)
  say(`| InfluxDB down for | ${fmt((restarted - stopped) / 1000, 1)} s |`)
  say(`| backlog in the journal when it came back | ${fmt(backlog)} readings |`)
  say(
    `| time to drain the backlog (while new readings keep arriving) | ${fmt(drainSeconds, 1)} s (${fmt(backlog / drainSeconds)} readings/s net; stored ${fmt(backlog / drainSeconds + load.acked / load.seconds)}/s) |`,
  )
  say(`| acknowledged / stored | ${fmt(load.acked)} / ${fmt(stored)} |`)
  say()
  check(
    `backlog of a ${outageSeconds} s outage drained in under ${fmt((60 * outageSeconds) / 600, 1)} s (the 10 min → 1 min target, scaled)`,
    drainSeconds < (60 * outageSeconds) / 600,
    `${fmt(drainSeconds, 1)} s`,
  )
  // the performance issue's: a 60 s outage's backlog gone within 60 s of InfluxDB's return, intake going on
  check(`backlog of a ${outageSeconds} s outage drained within ${outageSeconds} s of InfluxDB's return while intake continues`, drainSeconds <= outageSeconds, `${fmt(drainSeconds, 1)} s`)
  check('every acknowledged reading stored', stored >= load.acked, `${fmt(stored)} of ${fmt(load.acked)}`)
}

/**
 * Restarts under repeated kill -9: each start replays what the journal holds beyond the last rule
 * snapshot, so a platform that never lived long enough to save one would start slower and slower.
 */
async function restarts(influx: TestInflux) {
  const n = Math.min(num(args.devices), 500)
  const rate = num(args['outage-rate'])
  const cycles = num(args['restart-cycles'])
  const loadSeconds = num(args['restart-load-seconds'])
  say(`== restart: ${cycles} starts, each killed (kill -9) after ${loadSeconds} s of ${fmt(rate)} readings/s from ${fmt(n)} devices`)
  const { file, devices } = await writeBenchSite(work, n)
  const rows: Record<string, { ready: number; replayed: number; journalMiB: number }[]> = {}
  for (const store of ['sqlite', 'influxdb'] as const) {
    if (store === 'influxdb') await influx.query('CREATE DATABASE "restart"')
    const dataDir = join(work, `data-restart-${store}`)
    mkdirSync(dataDir)
    const env = testEnv(dataDir, {
      MINEWATCH_SITE: file,
      MINEWATCH_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
      ...(store === 'influxdb' ? { MINEWATCH_INFLUX_URL: influx.url, MINEWATCH_INFLUX_BUCKET: 'restart' } : {}),
    })
    const list: { ready: number; replayed: number; journalMiB: number }[] = (rows[store] = [])
    for (let i = 0; i < cycles; i++) {
      const started = performance.now()
      const proc = runPlatform(env, [], entryWith(BENCH_NODE_ARGS))
      const ports = await proc.started(120_000)
      for (;;) {
        const res = await fetch(`http://127.0.0.1:${ports.http}/api/health`).catch(() => undefined)
        if (res?.status === 200) break
        await new Promise((r) => setTimeout(r, 20))
      }
      const ready = (performance.now() - started) / 1000
      const line = proc
        .output()
        .split('\n')
        .find((l) => l.includes('warning book ready'))
      const replayed = line ? (JSON.parse(line).replayed as number) : NaN
      const fleet = await connectFleet(`restart ${store} ${i + 1}`, ports.mqtt, devices)
      await runLoad(`restart ${store} ${i + 1}`, fleet.clients, devices, { seconds: loadSeconds, window: 8, ratePerDevice: rate / n, t0: Date.now() - 3_600_000 })
      proc.child.kill('SIGKILL')
      await proc.exited
      await closeFleet(fleet.clients)
      const journalMiB = Number(execFileSync('du', ['-sm', join(dataDir, 'journal')], { encoding: 'utf8' }).split('\t')[0])
      list.push({ ready, replayed, journalMiB })
      say(`  ${store} start ${i + 1}: healthy after ${fmt(ready, 2)} s, ${fmt(replayed)} readings replayed into the rules, journal ${fmt(journalMiB)} MiB`)
    }
  }
  report.restart = rows
  say()
  // the first start has nothing to replay: the second is the first like the others
  say('| store | first start (nothing to replay), s | second, s | median, s | last, s | last ÷ second | replayed at the last start | journal at the end |')
  say('|---|---:|---:|---:|---:|---:|---:|---:|')
  for (const [store, list] of Object.entries(rows)) {
    const ready = list.map((r) => r.ready)
    const med = percentile(
      [...ready].sort((a, b) => a - b),
      50,
    )
    say(
      `| ${store} | ${fmt(ready[0]!, 2)} | ${fmt(ready[1]!, 2)} | ${fmt(med, 2)} | ${fmt(ready.at(-1)!, 2)} | ${fmt(ready.at(-1)! / ready[1]!, 2)} | ${fmt(list.at(-1)!.replayed)} | ${fmt(list.at(-1)!.journalMiB)} MiB |`,
    )
  }
  say()
  for (const [store, list] of Object.entries(rows))
    check(`${store}: the last start no slower than twice the second`, list.at(-1)!.ready <= 2 * list[1]!.ready, `${fmt(list[1]!.ready, 2)} → ${fmt(list.at(-1)!.ready, 2)} s`)
}

const checks: { name: string; ok: boolean; value: string }[] = []
function check(name: string, ok: boolean, value: string) {
  checks.push({ name, ok, value })
  say(`${ok ? '✓' : '✗'} target: ${name} — ${value}`)
}

async function influxVersion(influx: TestInflux): Promise<string> {
  return (await fetch(`${influx.url}/ping`)).headers.get('x-influxdb-version') ?? '?'
}

say(`minewatch ingest benchmark · ${report.date} · ${report.machine}`)
// the platform as `npm start` runs it: compiled JavaScript, not TypeScript through tsx (whose
// helpers showed up in the profile inside the rules)
say('== compiling the platform (tsc -p tsconfig.build.json)')
execFileSync(process.execPath, [join('node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' })
const influx = await startInflux()
try {
  if (mode === 'throughput') await throughput(influx)
  else if (mode === 'idle') await idle(influx)
  else if (mode === 'outage') await outage(influx)
  else if (mode === 'alerting') await alerting(influx)
  else if (mode === 'restart') await restarts(influx)
  else if (mode === 'attacks') report.attacks = await attacks(work, say, num(args['attack-seconds']))
  else if (mode === 'history') {
    const figures = await history(influx, work, say, {
      devices: num(args['history-devices']),
      days: num(args['history-days']),
      alerts: num(args['history-alerts']),
      repeats: num(args['history-repeats']),
    })
    report.history = figures
    // the target: each query under 200 ms (its p95, warm)
    for (const f of figures) for (const q of f.queries) check(`${f.store}: ${q.name} under 200 ms (p95)`, q.p95 < 200, `${fmt(q.p95, 1)} ms`)
  } else if (mode === 'province')
    report.province = await province(influx, work, say, {
      mines: num(args['province-mines']),
      devicesPerMine: num(args['province-devices']),
      interval: num(args['province-interval']),
      minutes: num(args['province-minutes']),
      seed: 7,
    })
  else if (mode === 'uplink')
    report.uplink = await uplink(influx, work, say, { devices: num(args['uplink-devices']), cutMinutes: num(args['uplink-cut-minutes']), downAfter: num(args['uplink-down-after']) })
  else if (mode === 'cluster') report.cluster = await cluster(influx, work, say, { devices: num(args['cluster-devices']), seconds: num(args.seconds), window: num(args.window) })
  else throw new Error(`unknown mode "${mode}": use throughput, idle, outage, alerting, restart, attacks, history, province, uplink or cluster`)
  report.checks = checks
  if (args.json) writeFileSync(args.json, JSON.stringify(report, null, 2))
} finally {
  await influx.dispose()
  rmSync(work, { recursive: true, force: true })
}
