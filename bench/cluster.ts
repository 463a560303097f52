import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { TestInflux } from '../test/helpers/influxdb.js'
import { COMPILED_ENTRY, runPlatform, testEnv, type PlatformProcess } from '../test/helpers/process.js'
import { startRedis } from '../test/helpers/redis.js'
import { closeFleet, connectFleet, runLoad } from './fleet.js'
import { writeBenchSite } from './site.js'
import { fmt, percentile } from './stats.js'

export interface ClusterFigures {
  readonly nodes: number
  readonly readingsPerSecond: number
  readonly ackP50: number
  readonly ackP99: number
  /** Publish of a threshold crossing to its warning event on MQTT, ms. */
  readonly alertP50: number
  readonly alertP99: number
  readonly alertsMissed: number
}

const ADMIN = 'bench-cluster-admin-token-0123456789'

/**
 * `npm run bench -- cluster` (issue 17): the same fleet flat out against one node and against
 * three nodes sharing Redis and InfluxDB, the devices spread over the nodes, with the alert probe
 * (bench/alert-probe.ts) crossing its threshold every 100 ms on the first node while its mine's
 * rules may run on another. Everything shares this machine's cores: three nodes on 2 cores cannot
 * show the scaling three machines would, and the figures say what the cluster costs here, not
 * what it gains there.
 */
export async function cluster(influx: TestInflux, work: string, say: (line: string) => void, opts: { devices: number; seconds: number; window: number }): Promise<ClusterFigures[]> {
  const { file, devices } = await writeBenchSite(work, opts.devices)
  const figures: ClusterFigures[] = []
  for (const n of [1, 3]) {
    const redis = await startRedis()
    const bucket = `cluster_${n}`
    await influx.query(`CREATE DATABASE "${bucket}"`)
    const nodes: { p: PlatformProcess; mqtt: number; http: number }[] = []
    try {
      for (let i = 0; i < n; i++) {
        const p = runPlatform(
          {
            ...testEnv(mkdtempSync(join(work, `cluster-${n}-${i}-`)), { MINEWATCH_DEMO: '' }),
            MINEWATCH_SITE: file,
            MINEWATCH_ADMIN_TOKEN: ADMIN,
            MINEWATCH_INFLUX_URL: influx.url,
            MINEWATCH_INFLUX_BUCKET: bucket,
            MINEWATCH_REDIS_URL: redis.url,
            MINEWATCH_NODE_ID: `node-${i + 1}`,
          },
          [],
          COMPILED_ENTRY,
        )
        const ports = await p.started(120_000)
        nodes.push({ p, mqtt: ports.mqtt, http: ports.http })
      }
      // every mine owned before the load starts
      const mines = new Set(devices.map((d) => d.mineId)).size + 1
      for (const deadline = Date.now() + 60_000; ;) {
        const health = (await (await fetch(`http://127.0.0.1:${nodes[0]!.http}/api/health`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as {
          cluster: { partitions: { owners: Record<string, string> } }
        }
        if (Object.keys(health.cluster.partitions.owners).length >= mines) break
        if (Date.now() > deadline) throw new Error('the mines were not all owned within 60 s')
        await new Promise((r) => setTimeout(r, 500))
      }
      // the devices spread over the nodes, as a load balancer would
      const shares = nodes.map((_, i) => devices.filter((_, k) => k % n === i))
      const fleets = await Promise.all(nodes.map((node, i) => connectFleet(`${n} node(s): node ${i + 1}`, node.mqtt, shares[i]!)))
      const probe = spawn(process.execPath, ['--import', 'tsx', 'bench/alert-probe.ts', `mqtt://127.0.0.1:${nodes[0]!.mqtt}`], { stdio: ['pipe', 'pipe', 'inherit'] })
      const lines = createInterface({ input: probe.stdout })[Symbol.asyncIterator]()
      if ((await lines.next()).value !== 'ready') throw new Error('the alert probe did not start')
      probe.stdin.write('start\n')
      const result = await runLoad(
        `${n} node(s)`,
        fleets.flatMap((f) => f.clients),
        shares.flat(),
        { seconds: opts.seconds, window: opts.window, t0: Date.now() - 3 * 3_600_000 },
      )
      probe.stdin.write('stop\n')
      const probed = JSON.parse((await lines.next()).value as string) as { crossings: (number | null)[][] }
      const latencies = probed.crossings
        .map((c) => c[1])
        .filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
        .sort((a, b) => a - b)
      const acks = result.ackLatency.sorted()
      const f: ClusterFigures = {
        nodes: n,
        readingsPerSecond: result.acked / result.seconds,
        ackP50: percentile(acks, 50),
        ackP99: percentile(acks, 99),
        alertP50: percentile(latencies, 50),
        alertP99: percentile(latencies, 99),
        alertsMissed: probed.crossings.length - latencies.length,
      }
      figures.push(f)
      say(
        `${n} node(s): ${fmt(f.readingsPerSecond)} readings/s acknowledged, PUBACK p50 ${fmt(f.ackP50, 1)} ms p99 ${fmt(f.ackP99, 1)} ms; warning p50 ${fmt(f.alertP50, 1)} ms p99 ${fmt(f.alertP99, 1)} ms (${f.alertsMissed} of ${probed.crossings.length} crossings without an event within 5 s)`,
      )
      await Promise.all(fleets.map((fl) => closeFleet(fl.clients)))
    } finally {
      for (const node of nodes) node.p.child.kill('SIGKILL')
      await Promise.all(nodes.map((node) => node.p.exited))
      await redis.dispose()
    }
  }
  const [one, three] = figures as [ClusterFigures, ClusterFigures]
  say(
    `3 nodes against 1 on this machine: ${fmt(three.readingsPerSecond / one.readingsPerSecond, 2)}× the readings/s, ${fmt(three.alertP50 / one.alertP50, 2)}× the warning latency (p50); the nodes share its ${cpus().length} cores`,
  )
  return figures
}
