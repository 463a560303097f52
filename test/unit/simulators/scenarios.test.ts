import { describe, expect, it } from 'vitest'
import { RANK, type Level } from '../../../alerting/rules/levels.js'
import { loadScenario, scenarioNames } from '../../../simulators/scenario.js'
import { checkManifest, runScenario } from '../../helpers/scenario-run.js'

const START = Date.parse('2026-11-20T00:00:00+08:00')
/** Each scenario is run once (seed 7) and looked at by several tests: the slope failure's nine days take a while. */
const runs = new Map<string, ReturnType<typeof runScenario>>()
const run7 = (name: string) => runs.get(name) ?? runs.set(name, runScenario(loadScenario(name), 7, START)).get(name)!

describe('every scenario against the platform decoder and the demo site rules (simulated time)', () => {
  it('has the scenarios the issue asks for', () => {
    expect(scenarioNames()).toEqual(['camera-offline', 'network-drop', 'normal', 'power-outage', 'pump-failure', 'rainstorm', 'secret-production', 'sensor-faults', 'slope-failure'])
  })

  it.each(scenarioNames())(
    '%s: causes exactly the warnings of its manifest, at their levels, and no other',
    (name) => {
      const scenario = loadScenario(name)
      const { peaks, misjudged } = run7(name)
      expect(misjudged, 'a payload the simulator meant as valid was refused, or the reverse').toBe(0)
      const { missing, unexpected } = checkManifest(scenario, peaks)
      expect(missing, `raised: ${[...peaks].map(([k, l]) => `${k} ${l}`).join(', ')}`).toEqual([])
      expect(unexpected).toEqual([])
    },
    90_000,
  )

  it('sensor-faults: the deliberately bad payloads fail with the codes they should', () => {
    const { codes, refused } = run7('sensor-faults')
    expect([...codes].sort()).toEqual(['CLOCK_SKEW', 'NOT_FINITE'])
    expect(refused).toBe(14) // 12 NaN payloads (an hour at 5 min) and 2 from the skewed clock (an hour at 30 min)
  })

  it('slope-failure: the seat hears yellow first, then orange, then red, each well before the failure', () => {
    const scenario = loadScenario('slope-failure')
    const { rings } = run7('slope-failure')
    const failAt = START + scenario.duration + 3_600_000
    const first = (level: Level) => rings.find((r) => RANK[r.level] >= RANK[level])!
    expect(first('yellow').level).toBe('yellow')
    expect(first('yellow').at).toBeLessThan(first('orange').at)
    expect(first('orange').at).toBeLessThan(first('red').at)
    // red a day ahead, by the forecast
    expect(first('red')).toMatchObject({ rule: 'inverse-velocity' })
    expect(failAt - first('red').at).toBeGreaterThanOrEqual(24 * 3_600_000)
  })

  it('normal: not even a blue warning, and no device silent', () => {
    const { peaks } = run7('normal')
    expect([...peaks.keys()]).toEqual([])
  })
})
