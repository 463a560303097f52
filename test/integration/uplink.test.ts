import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseSite } from '../../infra/config/site-file.js'
import { hashSecret } from '../../ingest/secrets.js'
import { eventually } from '../helpers/eventually.js'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { runPlatform, testEnv, type PlatformProcess } from '../helpers/process.js'
import { demoSite } from '../helpers/scenario-run.js'
import { secretOf } from '../helpers/site.js'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js'

/**
 * 联网上报 (issue 16 item 3; docs/uplink.md), on real processes over loopback: a mine platform
 * (the real entry point in a child process, the demo site, MINEWATCH_UPLINK_* set) forwards its
 * readings to a regulator platform (this process, the same mines, the mine platform's account a
 * gateway for the mine) through a TCP proxy that the test cuts. Under load the line goes dead
 * (bytes dropped, nobody told) and then down,
 * the mine platform is killed with SIGKILL and started again while it is down, and the line comes
 * back: the regulator's store then holds every reading the mine's broker acknowledged, each once,
 * and each device's readings reached the regulator in the order they were sent; while it was down
 * the regulator showed a 联网 warning of the mine, back to normal when the line came back, and
 * held the 断线 warnings of the mine's devices it could not hear (the cause was the link); the
 * devices' states (online at the mine or not) followed them upstream.
 */
const MINE = 'yt-jinshan'
const ACCOUNT = 'up-yt'
const TOKEN = 'uplink-test-admin-token-0123'
const DEVICES: { id: string; values: (i: number) => object }[] = [
  { id: 'yt-rain-01', values: (i) => ({ rainfall: (i % 5) / 10 }) },
  { id: 'yt-power-01', values: (i) => ({ voltage: 398, current: 52, power: 28.4, energy: 1000 + i }) },
  { id: 'yt-pump-01', values: (i) => ({ running: true, flow: 120 + (i % 7), current: 31.2 }) },
]

let regulator: TestPlatform
let proxy: TcpProxy
const dirs: string[] = []

beforeAll(async () => {
  const site = demoSite()
  const parsed = parseSite({
    ...site,
    // the mine's devices report every second here, so that their silence (3 intervals) shows within the test
    mines: site.mines.map((m) => (m.id === MINE ? { ...m, devices: m.devices.map((d) => ({ ...d, interval: 1 })) } : m)),
    // the mine platform's account on the regulator's platform: every device of its mine
    // its link judged down after 2 s (600 by default), so that the test need not wait ten minutes
    gateways: [{ id: ACCOUNT, name: '金山矿平台 联网', secretHash: await hashSecret(secretOf(ACCOUNT), { N: 1024, r: 8, p: 1 }), mines: [MINE], link: { downAfter: 2, lagAfter: 600 } }],
  })
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'))
  regulator = await startTestPlatform({ site: parsed.site })
  proxy = await startTcpProxy(regulator.platform.ports.mqtt)
})

afterAll(async () => {
  await proxy?.close()
  await regulator?.stop()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

interface Mine {
  readonly p: PlatformProcess
  readonly mqtt: number
  readonly http: number
}

async function startMine(dataDir: string): Promise<Mine> {
  const p = runPlatform(
    testEnv(dataDir, {
      MINEWATCH_ADMIN_TOKEN: TOKEN,
      MINEWATCH_UPLINK_URL: `mqtt://127.0.0.1:${proxy.port}`,
      MINEWATCH_UPLINK_USERNAME: ACCOUNT,
      MINEWATCH_UPLINK_PASSWORD: secretOf(ACCOUNT),
      MINEWATCH_UPLINK_MINES: MINE,
    }),
  )
  const ports = await p.started()
  return { p, mqtt: ports.mqtt, http: ports.http }
}

async function uplinkOf(mine: Mine): Promise<{ connected: boolean; backlogBytes: number; sentReadings: number; username: string; url: string }> {
  const res = await fetch(`http://127.0.0.1:${mine.http}/api/health`, { headers: { authorization: `Bearer ${TOKEN}` } })
  return ((await res.json()) as { uplink: never }).uplink
}

/** The devices, each its own MQTT.js client on the mine's broker, publishing QoS 1: what each PUBACK acknowledged. */
class Load {
  private clients: MqttClient[] = []
  private i = 0
  readonly acked = new Map<string, number[]>(DEVICES.map((d) => [d.id, []]))
  // the readings' time: about now (a link's lag is judged by it), 10 ms apart, so that every reading of a device has its own
  private readonly t0 = Date.now() - 10_000

  async connect(port: number): Promise<void> {
    this.clients = await Promise.all(DEVICES.map((d) => mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { username: d.id, password: `${d.id}-demo`, clientId: `${d.id}-load`, reconnectPeriod: 0 })))
  }

  async publish(steps: number): Promise<void> {
    for (let s = 0; s < steps; s++) {
      const i = this.i++
      const ts = this.t0 + i * 10
      await Promise.all(
        DEVICES.map(async (d, k) => {
          await this.clients[k]!.publishAsync(`mines/${MINE}/devices/${d.id}/telemetry`, JSON.stringify({ ts, values: d.values(i) }), { qos: 1 })
          this.acked.get(d.id)!.push(ts)
        }),
      )
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.endAsync(true).catch(() => undefined)))
  }

  get total(): number {
    return [...this.acked.values()].reduce((n, l) => n + l.length, 0)
  }
}

/** The mine's devices the load never speaks for: silent on their own, 断线 at the regulator while the link is up. */
const QUIET = demoSite()
  .mines.find((m) => m.id === MINE)!
  .devices.map((d) => d.id)
  .filter((id) => !DEVICES.some((d) => d.id === id))
  .sort()

/** The mine's devices with an unresolved 断线 (silence) warning at the regulator. */
function silenced(): string[] {
  return regulator.platform.alerting.book
    .unresolved()
    .filter((a) => a.mineId === MINE && a.ruleKind === 'silence' && !a.normal)
    .map((a) => a.subject.id)
    .sort()
}

/** The regulator's 联网 warning of the mine's link, if any. */
function linkWarning() {
  return regulator.platform.alerting.book.unresolved().find((a) => a.mineId === MINE && a.rule === 'uplink-down')
}

/** Each device's reading times in the regulator's store. */
async function storedAtRegulator(deviceId: string, metric: string): Promise<number[]> {
  const points = await regulator.platform.store.range({ deviceId, metric, from: 0, to: Date.now() + 60_000, limit: 1_000_000 })
  return points.map((p) => p.ts)
}

describe('联网上报: a mine platform forwarding to the regulator through an outage', () => {
  it('loses nothing, doubles nothing in the regulator store, keeps each device in order across a cut line and a kill -9, the regulator warns of the link while it is down, and the device states follow upstream', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'minewatch-uplink-'))
    dirs.push(dataDir)
    let mine = await startMine(dataDir)
    await eventually(async () => (await uplinkOf(mine)).connected === true, 15_000)
    expect(await uplinkOf(mine)).toMatchObject({ username: ACCOUNT, url: `mqtt://127.0.0.1:${proxy.port}` })
    // the regulator sees the mine platform as its gateway, connected
    expect(regulator.platform.presence.gateway(ACCOUNT)?.connected).toBe(true)

    // the devices' states go upstream: none connected yet at the mine, so offline at the regulator
    const onlineAtRegulator = (id: string) => regulator.platform.presence.get(id)?.online
    await eventually(async () => onlineAtRegulator('yt-rain-01') === false, 10_000)
    const load = new Load()
    await load.connect(mine.mqtt)
    await eventually(async () => DEVICES.every((d) => onlineAtRegulator(d.id) === true), 10_000)
    await load.publish(200)
    // the line goes dead under load, silently: what is sent now goes nowhere, and nobody is told
    proxy.blackhole()
    await load.publish(200)
    // until the connections are reset (a keepalive would notice, later)
    proxy.cut()
    await eventually(async () => (await uplinkOf(mine)).connected === false, 15_000)
    await load.publish(100)
    const down = await uplinkOf(mine)
    expect(down.backlogBytes).toBeGreaterThan(0)
    // the mine platform dies while the line is down, and comes back
    mine.p.child.kill('SIGKILL')
    await mine.p.exited
    await load.close()
    mine = await startMine(dataDir)
    expect((await uplinkOf(mine)).backlogBytes).toBeGreaterThan(0)
    await load.connect(mine.mqtt)
    await load.publish(200)
    expect((await uplinkOf(mine)).connected).toBe(false)
    // the regulator shows the link warning while the line is down: a warning of the mine, on its seat and map
    await eventually(async () => linkWarning()?.normal === false, 15_000)
    expect(linkWarning()).toMatchObject({ level: 'yellow', class: 'offline', ruleKind: 'link', subject: { type: 'link', name: '金山矿平台 联网' }, unit: '分钟' })
    expect(linkWarning()!.message).toMatch(/^联网中断: 金山矿平台 联网 已断开 \d+ 分钟/)
    // its devices are silent here too, but the cause is the link: no 断线 warning of theirs floods the seat
    await regulator.platform.alerting.tick()
    expect(silenced().filter((id) => !QUIET.includes(id))).toEqual([])
    // the line comes back: the backlog goes first, the live readings after it
    proxy.restore()
    await load.publish(200)
    await load.close()

    for (const d of DEVICES) {
      const metric = Object.keys(d.values(0))[0]!
      const acked = load.acked.get(d.id)!
      await eventually(async () => (await storedAtRegulator(d.id, metric)).length >= acked.length, 60_000)
      // nothing lost and nothing doubled: the store holds each acknowledged reading once
      expect(await storedAtRegulator(d.id, metric)).toEqual(acked)
    }
    await eventually(async () => (await uplinkOf(mine)).backlogBytes === 0, 15_000)
    // the devices left the mine's broker: offline at the regulator too
    await eventually(async () => DEVICES.every((d) => onlineAtRegulator(d.id) === false), 10_000)
    // the link is back: the warning says so, and stays for a person to close
    await eventually(async () => linkWarning()?.normal === true, 15_000)
    expect(linkWarning()!.state).toBe('open')
    // once it has caught up, the devices silent on their own have their 断线 warnings (the load's
    // devices, silent since the load ended, may have theirs too by now: that silence is real)
    await eventually(async () => {
      await regulator.platform.alerting.tick()
      return silenced().filter((id) => QUIET.includes(id)).length === QUIET.length
    }, 15_000)
    expect(silenced().filter((id) => QUIET.includes(id))).toEqual(QUIET)

    // in order: each device's readings reached the regulator's journal oldest first; a chunk the
    // cut left unacknowledged was sent again whole (at least once), and nothing beyond it was
    const seen = new Map<string, number[]>(DEVICES.map((d) => [d.id, []]))
    let at = 0
    const journal = regulator.platform.journal
    while (at < journal.head) {
      const { readings, end } = await journal.read(at, 10_000)
      for (const r of readings) seen.get(r.deviceId)?.push(r.ts)
      at = end
    }
    let resent = 0
    for (const d of DEVICES) {
      const times = seen.get(d.id)!
      const first = times.filter((ts, i) => times.indexOf(ts) === i)
      expect(first).toEqual(load.acked.get(d.id))
      resent += times.length - first.length
    }
    expect(resent).toBeLessThanOrEqual(1000)

    // the month's 联网在线率 of the mine's link: connected part of the time, not all of it
    const month = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 7)
    const report = await regulator.admin(`/api/reports/monthly?mine=${MINE}&month=${month}`)
    expect(report.status).toBe(200)
    expect(report.body.links).toEqual([{ id: ACCOUNT, name: '金山矿平台 联网', online: expect.any(Number) }])
    expect(report.body.links[0].online).toBeGreaterThan(0)
    expect(report.body.links[0].online).toBeLessThan(1)

    mine.p.child.kill('SIGTERM')
    expect(await mine.p.exited).toBe(0)
  }, 180_000)
})
