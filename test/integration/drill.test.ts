import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Platform } from '../../infra/platform.js'
import { loadScenario } from '../../simulators/scenario.js'
import { eventually } from '../helpers/eventually.js'
import { checkManifest, demoSite, peaksOf } from '../helpers/scenario-run.js'
import { ADMIN_TOKEN, startTestPlatform, type TestPlatform } from '../helpers/platform.js'

/**
 * A drill in the live demo (issue 6, "one command demo"): the demo site with its simulators
 * reporting live; a scenario run into it raises exactly the scenario's warnings, although its
 * readings are set in the past, and the live simulators come back afterwards.
 */
let t: TestPlatform
let platform: Platform
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }

beforeAll(async () => {
  t = await startTestPlatform({ site: demoSite(), simulate: 'normal' })
  platform = t.platform
  // the live demo: its 19 devices connected and reporting
  await eventually(() => platform.presence.connectedCount === 19, 20_000)
}, 60_000)

afterAll(async () => {
  await t?.stop()
})

const drill = (payload: object, headers: Record<string, string> = admin) => platform.app.inject({ method: 'POST', url: '/api/demo/drill', headers, payload })

describe('drills in the demo', () => {
  it('runs slope-failure into the live demo: its warnings, no others, then the live simulators again', async () => {
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
    // judged although set in the past: exactly the manifest's warnings, at their levels
    const { missing, unexpected } = checkManifest(scenario, peaksOf(platform.alerting.book.all().filter((a) => a.class === 'warning')))
    expect(missing).toEqual([])
    expect(unexpected).toEqual([])
    // the seat's trend of the forecast warning carries the failure forecast
    const iv = platform.alerting.book.all().find((a) => a.rule === 'inverse-velocity')!
    const trend = (await platform.app.inject({ method: 'GET', url: `/api/alerts/${iv.id}/trend`, headers: admin })).json()
    expect(trend.trend).toMatchObject({ forecast: { failureTs: expect.any(Number), safeHoursLeft: expect.any(Number) }, history: expect.any(Array) })
    await eventually(() => platform.presence.connectedCount === 19, 20_000)
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
    expect(seen.json().drill.scenario).toBe('slope-failure')
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
