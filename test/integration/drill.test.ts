import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Platform } from '../../infra/platform.js'
import { loadScenario } from '../../simulators/scenario.js'
import { eventually } from '../helpers/eventually.js'
import { checkManifest, demoSite, peaksOf } from '../helpers/scenario-run.js'
import { DRILL_SUFFIX, isDrillId } from '../../ingest/contract/ids.js'
import { KINDS } from '../../ingest/contract/kinds.js'
import { seeded } from '../../simulators/random.js'
import { ADMIN_TOKEN, startTestPlatform, type TestPlatform } from '../helpers/platform.js'

/**
 * Drills in the live demo (docs/drills.md): the demo site with its simulators reporting live; a
 * scenario run into it as the devices' shadows raises exactly the scenario's warnings on the
 * shadows, although its readings are set in the past, while the live simulators keep reporting;
 * drills started and stopped at any moment leave the demo running and the devices' real series
 * without a single drill reading.
 */
let t: TestPlatform
let platform: Platform
let startedAt: number
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }

beforeAll(async () => {
  t = await startTestPlatform({ site: demoSite(), simulate: 'normal' })
  platform = t.platform
  startedAt = Date.now()
  // the live demo: its 19 devices connected and reporting
  await eventually(() => platform.presence.connectedCount === 19, 20_000)
}, 60_000)

afterAll(async () => {
  await t?.stop()
})

const drill = (payload: object, headers: Record<string, string> = admin) => platform.app.inject({ method: 'POST', url: '/api/demo/drill', headers, payload })
const stop = (headers: Record<string, string> = admin) => platform.app.inject({ method: 'DELETE', url: '/api/demo/drill', headers })
const drillStatus = async () => (await platform.app.inject({ method: 'GET', url: '/api/demo/drill', headers: admin })).json().drill
const realDevices = () => demoSite().mines.flatMap((m) => m.devices)
/** The warnings of the drills' shadows, by the device (or item) they shadow. */
const drillPeaks = () =>
  peaksOf(
    platform.alerting.book
      .all()
      .filter((a) => a.class === 'warning' && isDrillId(a.subject.id))
      .map((a) => ({ ...a, subject: { ...a.subject, id: a.subject.id.slice(0, -DRILL_SUFFIX.length) } })),
  )
/** Readings of a device's series (every metric of its kind) from `from` on. */
async function readingsOf(deviceId: string, kind: keyof typeof KINDS, from: number): Promise<number[]> {
  const ts: number[] = []
  for (const metric of Object.keys(KINDS[kind].metrics)) for (const p of await platform.store.range({ deviceId, metric, from, to: Date.now() + 60_000, limit: 100_000 })) ts.push(p.ts)
  return ts
}

describe('drills in the demo', () => {
  it('runs slope-failure as the shadows: its warnings on the shadows, none on the devices, the live simulators reporting throughout', async () => {
    const scenario = loadScenario('slope-failure')
    const res = await drill({ scenario: 'slope-failure', speed: 30_000 })
    expect(res.statusCode).toBe(202)
    expect(res.json().drill).toMatchObject({ scenario: 'slope-failure', running: true, speed: 30_000 })
    // one at a time
    const again = await drill({ scenario: 'rainstorm' })
    expect(again.statusCode).toBe(409)
    expect(again.json().error.code).toBe('MW_DRILL_RUNNING')

    await eventually(async () => {
      const status = await platform.app.inject({ method: 'GET', url: '/api/demo/drill', headers: admin })
      return status.json().drill.running === false
    }, 70_000)
    const status = (await platform.app.inject({ method: 'GET', url: '/api/demo/drill', headers: admin })).json().drill
    expect(status).toMatchObject({ error: null, progress: 1 })
    // the rules judge on their own thread: every reading acknowledged so far is judged once a turn of the clock resolves
    await platform.alerting.tick()
    // judged although set in the past: exactly the manifest's warnings, at their levels, on the shadows
    const { missing, unexpected } = checkManifest(scenario, drillPeaks())
    expect(missing).toEqual([])
    expect(unexpected).toEqual([])
    // marked as a drill wherever the warning shows, and none of the devices' own warnings from it
    const iv = platform.alerting.book.all().find((a) => a.rule === 'inverse-velocity')!
    expect(iv.subject).toEqual({ type: 'device', id: 'yt-prism-p07--drill', name: expect.stringContaining('(演练)'), drill: true })
    expect(platform.alerting.book.all().filter((a) => a.class === 'warning' && !isDrillId(a.subject.id))).toEqual([])
    // the live simulators never stopped: the devices' own series went on in real time, with no drill reading in them
    const drillOver = (await drillStatus()).endedAt as number
    const own = (await Promise.all(realDevices().map((d) => readingsOf(d.id, d.kind, startedAt - 10 * 86_400_000)))).flat()
    expect(own.filter((ts) => ts >= res.json().drill.startedAt && ts <= drillOver).length).toBeGreaterThan(0)
    expect(own.filter((ts) => ts < startedAt - 60_000)).toEqual([])
    expect((await readingsOf('yt-prism-p07--drill', 'prism', startedAt - 10 * 86_400_000)).length).toBeGreaterThan(100)
    // the demo's 叫应 on its log channel: the forecast, orange first, called the duty roster's person; risen to red, the whole chain at once (that person again, the director, the city)
    const red = () => platform.notifier.of(iv.id).filter((c) => c.level === 'red')
    await eventually(async () => {
      await platform.notifier.turn()
      return red().filter((c) => c.status === 'delivered').length === 3
    })
    expect(red().map((c) => [c.step, c.contact, c.channel])).toEqual([
      [0, expect.stringMatching(/^yt-duty-(wang|zhou)$/), 'demo-log'],
      [1, 'yt-director-li', 'demo-log'],
      [2, 'yantai-duty', 'demo-log'],
    ])
    // the seat's trend of the forecast warning carries the failure forecast
    const trend = (await platform.app.inject({ method: 'GET', url: `/api/alerts/${iv.id}/trend`, headers: admin })).json()
    expect(trend.trend).toMatchObject({ forecast: { failureTs: expect.any(Number), safeHoursLeft: expect.any(Number) }, history: expect.any(Array) })
    await eventually(() => platform.presence.connectedCount === 19, 20_000)
  }, 120_000)

  it("survives 50 drills started and stopped at random moments: the demo runs on, and no drill reading is in any device's real series", async () => {
    const shadowReadings = async () => (await Promise.all(realDevices().map((d) => readingsOf(`${d.id}${DRILL_SUFFIX}`, d.kind, startedAt - 10 * 86_400_000)))).flat().length
    const before = await shadowReadings()
    const rnd = seeded(12)
    const scenarios = ['slope-failure', 'rainstorm', 'pump-failure']
    for (let i = 0; i < 50; i++) {
      // stop at a random moment: while its devices connect (the POST answers once they are), or
      // after it has sent a few rounds (it sends every 200 ms), anywhere up to 1 s in
      const started = drill({ scenario: scenarios[i % scenarios.length], speed: 5000 + Math.floor(rnd.next() * 50_000) })
      const waitMs = rnd.next() < 0.3 ? 0 : Math.floor(rnd.next() * 1000)
      if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs))
      expect((await stop()).statusCode).toBe(200)
      expect((await started).statusCode).toBe(202)
      // a stop that came before the drill began found nothing to stop
      expect((await stop()).json().drill).toMatchObject({ running: false })
    }
    expect(await drillStatus()).toMatchObject({ running: false, stopped: true })
    // the demo runs on: healthy, its devices connected, the drills' shadows gone
    const health = await platform.app.inject({ method: 'GET', url: '/api/health', headers: admin })
    expect(health.statusCode).toBe(200)
    expect(health.json().broker).toMatchObject({ devicesKnown: 19 })
    await eventually(() => platform.presence.connectedCount === 19, 20_000)
    // the drills sent readings, as the shadows, and the devices' real series hold none of them
    // (a drill's readings are set in the past, before the platform started)
    await eventually(async () => (await shadowReadings()) > before, 10_000)
    for (const d of realDevices())
      expect({ device: d.id, drill: (await readingsOf(d.id, d.kind, startedAt - 10 * 86_400_000)).filter((ts) => ts < startedAt - 60_000) }).toEqual({ device: d.id, drill: [] })
  }, 120_000)

  it('refuses an unknown scenario, and anyone but an admin', async () => {
    const unknown = await drill({ scenario: 'meteor' })
    expect(unknown.statusCode).toBe(400)
    expect(unknown.json().error).toMatchObject({ code: 'MW_UNKNOWN_SCENARIO' })
    expect(unknown.json().error.message).toContain('slope-failure')
    const login = await platform.app.inject({ method: 'POST', url: '/api/login', payload: { username: 'yt-dispatcher', password: 'yt-dispatcher-demo' } })
    const dispatcher = await drill({ scenario: 'rainstorm' }, { authorization: `Bearer ${login.json().token}` })
    expect(dispatcher.statusCode).toBe(403)
    // everyone signed in may see whether a drill is on
    const seen = await platform.app.inject({ method: 'GET', url: '/api/demo/drill', headers: { authorization: `Bearer ${login.json().token}` } })
    expect(seen.json().drill).toMatchObject({ scenario: expect.any(String), running: expect.any(Boolean) })
  })

  it('has no drills without simulators', async () => {
    const t = await startTestPlatform()
    try {
      expect((await t.admin('/api/demo/drill')).body).toEqual({ demo: false, drill: null })
      const res = await t.platform.app.inject({ method: 'POST', url: '/api/demo/drill', headers: admin, payload: { scenario: 'rainstorm' } })
      expect(res.statusCode).toBe(404)
      expect(res.json().error.code).toBe('MW_NO_DEMO')
    } finally {
      await t.stop()
    }
  })
})
