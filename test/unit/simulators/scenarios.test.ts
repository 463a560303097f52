import { describe, expect, it } from 'vitest'
import { RANK, type Level } from '../../../alerting/rules/levels.js'
import { loadScenario, scenarioNames } from '../../../simulators/scenario.js'
import { checkManifest, runScenario } from '../../helpers/scenario-run.js'

const START = Date.parse('2026-11-20T00:00:00+08:00')

describe('every scenario against the platform decoder and the demo site rules (simulated time)', () => {
  it('has the scenarios the issue asks for', () => {
    expect(scenarioNames()).toEqual(['camera-offline', 'network-drop', 'normal', 'power-outage', 'pump-failure', 'rainstorm', 'secret-production', 'sensor-faults', 'slope-failure'])
  })

  it.each(scenarioNames())('%s: causes the warnings of its manifest, and nothing else at orange or red', (name) => {
    const scenario = loadScenario(name)
    const { peaks, misjudged } = runScenario(scenario, 7, START)
    expect(misjudged, 'a payload the simulator meant as valid was refused, or the reverse').toBe(0)
    const { missing, unexpected } = checkManifest(scenario, peaks)
    expect(missing, `raised: ${[...peaks].map(([k, l]) => `${k} ${l}`).join(', ')}`).toEqual([])
    expect(unexpected).toEqual([])
  })

  it('sensor-faults: the deliberately bad payloads fail with the codes they should', () => {
    const { codes, refused } = runScenario(loadScenario('sensor-faults'), 7, START)
    expect([...codes].sort()).toEqual(['CLOCK_SKEW', 'NOT_FINITE'])
    expect(refused).toBe(14) // 12 NaN payloads (an hour at 5 min) and 2 from the skewed clock (an hour at 30 min)
  })

  it('slope-failure: the seat hears yellow first, then orange, then red, each well before the failure', () => {
    const scenario = loadScenario('slope-failure')
    const { rings } = runScenario(scenario, 7, START)
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
    const { peaks } = runScenario(loadScenario('normal'), 7, START)
    expect([...peaks.keys()]).toEqual([])
  })
})
