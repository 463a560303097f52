import { describe, expect, it } from 'vitest'
import { simDevices } from '../../simulators/plan.js'
import { SimRunner } from '../../simulators/runner.js'
import { loadScenario, scenarioNames } from '../../simulators/scenario.js'
import { World } from '../../simulators/world.js'
import { startTestPlatform } from '../helpers/platform.js'
import { checkManifest, demoSite, peaksOf } from '../helpers/scenario-run.js'

/**
 * Every scenario at high speed over real MQTT against a real platform (embedded store) on the
 * demo site: each of the site's devices is its own client with its own credentials. The platform
 * runs on the simulated clock, so silence and deadlines are judged in simulated time too.
 */
const START = Date.parse('2026-11-20T00:00:00+08:00')

describe.each(scenarioNames())('scenario %s over MQTT', (name) => {
  it('raises exactly the warnings of its manifest, at their levels, and no other', async () => {
    const scenario = loadScenario(name)
    const site = demoSite()
    let runner: SimRunner | undefined
    const t = await startTestPlatform({ site, now: () => runner?.simTime ?? START, alertTickMs: 20 })
    try {
      const devices = simDevices(site)
      const world = new World(devices, scenario, 7, START)
      // about two and a half real seconds, whatever the scenario's length
      // the platform judges as fast as it can: nine days of failure forecasts take it a while to catch up
      runner = new SimRunner({ url: t.mqttUrl, devices, world, speed: scenario.duration / 2500, durationMs: scenario.duration, password: (id) => `${id}-demo`, settleMs: 120_000 })
      await runner.connect()
      const stats = await runner.run()
      expect(stats.errors, stats.lastError).toBe(0)
      expect(stats.acked).toBe(stats.sent)
      // a last turn of the clock at the end of the run (silence, deadlines)
      await t.platform.alerting.tick()
      const peaks = peaksOf(t.platform.alerting.book.all())
      const { missing, unexpected } = checkManifest(scenario, peaks)
      expect(missing, `raised: ${[...peaks].map(([k, l]) => `${k} ${l}`).join(', ')}`).toEqual([])
      expect(unexpected).toEqual([])
      if (name === 'sensor-faults') expect(stats.refused).toBeGreaterThan(0) // the garbage and the skewed clock
    } finally {
      await runner?.close()
      await t.stop()
    }
    // the slope failure's nine days of failure forecasts take the most
  }, 180_000)
})
