import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../helpers/eventually.js'
import { startInflux, type TestInflux } from '../helpers/influxdb.js'
import { runPlatform, testEnv, type PlatformProcess } from '../helpers/process.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js'

/**
 * One owner per mine (issue 17 item 4, its leases; docs/cluster.md): nodes of the real entry point,
 * each in its own process, sharing a real Redis and InfluxDB, with the demo site's two mines. A
 * node alone owns both; a second node joining takes the mine it is preferred for, handed back by
 * the first; a node killed with SIGKILL has its mine taken by the other once its lease lapses; a
 * node stopped cleanly hands its mines back at once; a node cut off from Redis stops acting as
 * the owner before the other takes its mine over. Throughout, no two nodes act as a mine's owner
 * at the same time: a node seen owning a mine under the same epoch before and after another node
 * was asked held it all along, so the other must not have owned it then.
 */
const TOKEN = 'leases-test-admin-token-0123'
const JIN = 'yt-jinshan'
const BAI = 'bt-baishi'

let redis: TestRedis
let proxy: TcpProxy | undefined
let influx: TestInflux
const dirs = new Map<string, string>()
const running = new Map<string, { process: PlatformProcess; http: number }>()
const overlaps: string[] = []
let sampling = true
let sampler: Promise<void> | undefined

interface Owns {
  owns: { mineId: string; epoch: number }[]
  owners: Record<string, string>
}

async function partitions(node: string): Promise<Owns | undefined> {
  const n = running.get(node)
  if (!n) return undefined
  try {
    const res = await fetch(`http://127.0.0.1:${n.http}/api/health`, { headers: { authorization: `Bearer ${TOKEN}` } })
    return ((await res.json()) as { cluster: { partitions: Owns } }).cluster.partitions
  } catch {
    return undefined // stopping or killed
  }
}

async function start(node: string, redisUrl = redis.url) {
  const dir = dirs.get(node) ?? mkdtempSync(join(tmpdir(), `minewatch-leases-${node}-`))
  dirs.set(node, dir)
  const p = runPlatform(testEnv(dir, { MINEWATCH_ADMIN_TOKEN: TOKEN, MINEWATCH_REDIS_URL: redisUrl, MINEWATCH_NODE_ID: node, MINEWATCH_INFLUX_URL: influx.url, MINEWATCH_INFLUX_BUCKET: 'leases' }))
  const ports = await p.started(60_000)
  running.set(node, { process: p, http: ports.http })
}

const owner = async (node: string, mine: string) => (await partitions(node))?.owns.some((o) => o.mineId === mine) ?? false

/** Asks node x, then y, then x again; a mine x held under one epoch at both ends must not be y's in between. */
async function sample(): Promise<void> {
  while (sampling) {
    const nodes = [...running.keys()]
    for (const x of nodes)
      for (const y of nodes) {
        if (x === y) continue
        const [a1, b, a2] = [await partitions(x), await partitions(y), await partitions(x)]
        if (!a1 || !b || !a2) continue
        for (const o of a1.owns)
          if (a2.owns.some((p) => p.mineId === o.mineId && p.epoch === o.epoch) && b.owns.some((p) => p.mineId === o.mineId)) overlaps.push(`${o.mineId}: ${x} (epoch ${o.epoch}) and ${y} at once`)
      }
    // one node or none: nothing to compare; its answer (or the next turn of the loop) paces the sampling
    if (nodes.length < 2) await (nodes[0] ? partitions(nodes[0]) : new Promise((r) => setImmediate(r)))
  }
}

beforeAll(async () => {
  redis = await startRedis()
  influx = await startInflux()
}, 60_000)

afterAll(async () => {
  sampling = false
  await sampler
  for (const n of running.values()) n.process.child.kill('SIGKILL')
  await Promise.all([...running.values()].map((n) => n.process.exited))
  await proxy?.close()
  await redis?.dispose()
  await influx?.dispose()
  for (const d of dirs.values()) rmSync(d, { recursive: true, force: true })
})

describe('cluster mode: one owner per mine, through leases', () => {
  it('gives every mine one owner as nodes join, die and stop, and never two at once', async () => {
    await start('node-a')
    sampler = sample()
    // alone, node-a owns both mines
    await eventually(async () => (await owner('node-a', JIN)) && (await owner('node-a', BAI)), 20_000)

    // node-b joins: bt-baishi (node-b's by rendezvous hashing of these two names) is handed over, yt-jinshan stays
    await start('node-b')
    await eventually(async () => (await owner('node-b', BAI)) && !(await owner('node-a', BAI)), 20_000)
    expect(await owner('node-a', JIN)).toBe(true)
    // both nodes see the same owners
    await eventually(async () => JSON.stringify((await partitions('node-a'))?.owners) === JSON.stringify((await partitions('node-b'))?.owners))
    expect((await partitions('node-b'))!.owners).toEqual({ [JIN]: 'node-a', [BAI]: 'node-b' })

    // node-a dies: once its lease lapses, node-b takes yt-jinshan
    const killedAt = Date.now()
    running.get('node-a')!.process.child.kill('SIGKILL')
    await running.get('node-a')!.process.exited
    running.delete('node-a')
    await eventually(() => owner('node-b', JIN), 30_000)
    const takeover = Date.now() - killedAt

    // node-a comes back: yt-jinshan is handed back to it
    await start('node-a')
    await eventually(async () => (await owner('node-a', JIN)) && !(await owner('node-b', JIN)), 20_000)

    // node-a stops cleanly: it hands its mine back at once, no lease to wait out
    const stoppedAt = Date.now()
    running.get('node-a')!.process.child.kill('SIGTERM')
    expect(await running.get('node-a')!.process.exited).toBe(0)
    running.delete('node-a')
    await eventually(() => owner('node-b', JIN), 20_000)
    const handover = Date.now() - stoppedAt

    expect(overlaps).toEqual([])
    // measured, not asserted (docs/cluster.md gives the figures)
    process.stderr.write(`[cluster-leases] takeover after kill -9: ${takeover} ms; after a clean stop: ${handover} ms\n`)
  }, 120_000)

  it('has a node cut off from Redis stop acting as the owner before another takes its mine, and take it back once the line returns', async () => {
    // node-a reaches Redis through a line the test can cut; node-b directly
    proxy = await startTcpProxy(redis.port)
    await start('node-a', `redis://127.0.0.1:${proxy.port}`)
    await eventually(async () => (await owner('node-a', JIN)) && !(await owner('node-b', JIN)), 20_000)
    // the line goes dead without a word: node-a can renew nothing
    const cutAt = Date.now()
    proxy.blackhole()
    await eventually(async () => !(await owner('node-a', JIN)), 20_000)
    const gaveUp = Date.now() - cutAt
    await eventually(() => owner('node-b', JIN), 20_000)
    const taken = Date.now() - cutAt
    expect((await partitions('node-a'))!.owns).toEqual([])
    // the line comes back (its connections reset, as a dead link's are once noticed): node-a rejoins and is handed its mine
    proxy.cut()
    proxy.restore()
    await eventually(async () => (await owner('node-a', JIN)) && !(await owner('node-b', JIN)), 30_000)
    expect(overlaps).toEqual([])
    process.stderr.write(`[cluster-leases] cut off from Redis: node-a stopped owning after ${gaveUp} ms, node-b took over after ${taken} ms\n`)
  }, 120_000)
})
