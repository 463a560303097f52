import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadScenario } from '../../simulators/scenario.js'
import { simDevices } from '../../simulators/plan.js'
import { SimRunner } from '../../simulators/runner.js'
import { World } from '../../simulators/world.js'
import { demoSite } from '../helpers/scenario-run.js'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'

/**
 * The simulators' runner can be stopped at any moment (a drill stopped, the demo shut down): a
 * timer that went on publishing on clients `close()` had ended threw inside MQTT.js and took the
 * whole platform down with it.
 */
let t: TestPlatform
beforeAll(async () => {
  t = await startTestPlatform({ site: demoSite() })
})
afterAll(async () => {
  await t?.stop()
})

describe('SimRunner', () => {
  it('stops cleanly when closed in the middle of a run, at many different moments', async () => {
    const site = demoSite()
    const devices = simDevices(site)
    const scenario = loadScenario('rainstorm')
    for (let i = 0; i < 12; i++) {
      const start = Date.now() - scenario.duration
      const runner = new SimRunner({
        url: t.mqttUrl,
        devices,
        world: new World(devices, scenario, i, start),
        speed: scenario.duration / 4000,
        durationMs: scenario.duration,
        password: (id) => `${id}-demo`,
        tickMs: 5,
      })
      await runner.connect()
      const run = runner.run()
      // wait for the run to be under way, then close it between two of its ticks, a little later each time
      const sent = runner.stats.sent
      await new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (runner.stats.sent > sent + i * 5) {
            clearInterval(check)
            resolve()
          }
        }, 1)
      })
      await runner.close()
      // the run ends at its next tick; anything it did after close() would throw here or as an uncaught error
      const stats = await run
      expect(stats.sent).toBeGreaterThan(0)
      const after = runner.stats.sent
      // nothing more is sent once closed: a step now sends nothing
      expect(runner.step()).toEqual([])
      expect(runner.stats.sent).toBe(after)
    }
  }, 60_000)
})
