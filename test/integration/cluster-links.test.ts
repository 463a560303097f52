import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseSite } from '../../infra/config/site-file.js'
import { hashSecret } from '../../ingest/secrets.js'
import { eventually } from '../helpers/eventually.js'
import { startInflux, type TestInflux } from '../helpers/influxdb.js'
import { TestCluster } from '../helpers/cluster.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'
import { demoSite } from '../helpers/scenario-run.js'
import { secretOf } from '../helpers/site.js'

/**
 * A regulator's platform in cluster mode judges the mine platforms' links (联网; docs/uplink.md,
 * docs/cluster.md): two nodes of the real entry point sharing a real Redis and InfluxDB, a site
 * with a mine platform's account for yt-jinshan (whose owner is node-a: rendezvous hashing of
 * these names, cluster-leases.test.ts). The account connects, with a real MQTT.js client, to
 * node-b, the node that does not own the mine: node-a sees the link up and then, when the client
 * goes, down, and raises the mine's 联网 warning; node-b's health shows the account connected
 * while it is, whichever node it is connected to.
 */
const TOKEN = 'links-test-admin-token-0123'
const MINE = 'yt-jinshan'
const ACCOUNT = 'up-yt'

let redis: TestRedis
let influx: TestInflux
let siteFile: string
const dirs: string[] = []
const cluster = new TestCluster('links', TOKEN, () => ({ MINEWATCH_SITE: siteFile, MINEWATCH_REDIS_URL: redis.url, MINEWATCH_INFLUX_URL: influx.url, MINEWATCH_INFLUX_BUCKET: 'links' }))
const nodes = cluster.nodes
const get = <T>(node: string, path: string) => cluster.get<T>(node, path)

/** The mine's 联网 warning in a node's book, if any. */
async function linkWarning(node: string) {
  const { alerts } = await get<{ alerts: { rule: string; mineId: string; normal: boolean; level: string; subject: { type: string } }[] }>(node, '/api/alerts?state=all')
  return alerts.find((a) => a.mineId === MINE && a.rule === 'uplink-down')
}

beforeAll(async () => {
  redis = await startRedis()
  influx = await startInflux()
  const site = demoSite()
  // the link judged down after 2 s (600 by default), so that the test need not wait ten minutes
  const parsed = parseSite({
    ...site,
    gateways: [{ id: ACCOUNT, name: '金山矿平台 联网', secretHash: await hashSecret(secretOf(ACCOUNT), { N: 1024, r: 8, p: 1 }), mines: [MINE], link: { downAfter: 2, lagAfter: 600 } }],
  })
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'))
  const dir = mkdtempSync(join(tmpdir(), 'minewatch-links-site-'))
  dirs.push(dir)
  siteFile = join(dir, 'site.yaml')
  writeFileSync(siteFile, JSON.stringify(parsed.site))
  await cluster.start('node-a')
  await cluster.start('node-b')
}, 120_000)

afterAll(async () => {
  await cluster.dispose()
  await redis?.dispose()
  await influx?.dispose()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describe('cluster mode: a regulator’s judgement of the mine platforms’ links', () => {
  it('judges a link connected to one node on the mine’s owner, the other: up while connected, a 联网 warning once it goes, and logs it for the 联网在线率 on every node', async () => {
    await eventually(() => cluster.owns('node-a', MINE), 30_000)
    const link = await mqtt.connectAsync(`mqtt://127.0.0.1:${nodes.get('node-b')!.mqtt}`, { username: ACCOUNT, password: secretOf(ACCOUNT), reconnectPeriod: 0, clientId: 'links-test-uplink' })
    // both nodes show the account connected
    for (const node of ['node-a', 'node-b']) {
      await eventually(
        async () => (await get<{ broker: { gateways: { id: string; connected: boolean }[] } }>(node, '/api/health')).broker.gateways.find((g) => g.id === ACCOUNT)?.connected === true,
        10_000,
      )
    }
    // the owner (node-a) judges the link up: no 联网 warning, or one back to normal (the link was down before it connected)
    await eventually(async () => {
      const w = await linkWarning('node-a')
      return w === undefined || w.normal
    }, 15_000)
    await link.endAsync()
    // gone: down after 2 s, judged by node-a, in every node's book
    const warning = (await eventually(async () => {
      const w = await linkWarning('node-b')
      return w && !w.normal ? w : undefined
    }, 20_000))!
    expect(warning).toMatchObject({ level: 'yellow', subject: { type: 'link' } })
    // node-a's log of the link for the monthly 联网在线率 has it connected, then not, though it was never connected to node-a
    const logged = readFileSync(join(nodes.get('node-a')!.dir, 'links.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { g?: string; c?: number })
      .filter((e) => e.g === ACCOUNT)
      .map((e) => e.c)
    expect(logged).toEqual([1, 0])
  }, 90_000)
})
