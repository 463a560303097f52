import { describe, expect, it } from 'vitest'
import {
  confirmation,
  evaluateInverseVelocity,
  forecast,
  initialInverseVelocity,
  inverseVelocityRuleSchema,
  type InverseVelocityRule,
  type InverseVelocityState,
} from '../../../alerting/rules/inverse-velocity.js'
import type { LevelEvent } from '../../../alerting/rules/types.js'
import { makeSeries, type Series } from '../../../simulators/families.js'

/**
 * The failure forecast on the evaluation's families (simulators/families.ts): prism readings with
 * σ = 0.5 mm per component, a ±1.5 mm daily cycle that changes with the weather, outliers, gaps and
 * irregular intervals. `npm run eval:slopes` writes the full figures to docs/alerting-evaluation.md.
 */
const HOUR = 3_600_000
const rule = inverseVelocityRuleSchema.parse({ kind: 'inverseVelocity', id: 'iv' })

const pointsAt = (s: Series, t: number, r: InverseVelocityRule = rule) => s.readings.filter((x) => x.ts <= t && x.ts > t - r.window * 1000).map((x) => [x.ts, x.values.dN, x.values.dE, x.values.dH])

function run(s: Series, r: InverseVelocityRule) {
  let state: InverseVelocityState = initialInverseVelocity()
  const events: LevelEvent[] = []
  for (const x of s.readings) {
    const out = evaluateInverseVelocity(state, { mineId: 'm', deviceId: 'p', kind: 'prism', ts: x.ts, values: x.values }, r, x.ts, { mineStatus: 'producing', timeZone: 'Asia/Shanghai' })
    state = out.state
    events.push(...out.events)
  }
  return { state, events }
}

describe('failure forecast (Voight, fitted to the displacement along the movement)', () => {
  it.each([
    [2, 1],
    [2, 2],
    [1.8, 1],
    [2.2, 2],
  ])('α = %s (seed %i): 24 h before failure it forecasts, the interval holds the failure, the levels judge an earlier time', (alpha, seed) => {
    const s = makeSeries({ family: 'voight', alpha, seed })
    const t = s.failAt! - 24 * HOUR
    const f = forecast(pointsAt(s, t), rule)
    expect(f.reason, f.why).toBe('FORECAST')
    expect(f.earliestTs!).toBeLessThanOrEqual(s.failAt!)
    expect(f.latestTs!).toBeGreaterThanOrEqual(s.failAt!)
    // the margin for α up to 2.2: what the levels judge is no later than the central forecast
    expect(f.safeHoursLeft!).toBeLessThanOrEqual(f.hoursLeft! + 1e-9)
    expect(f.safeHoursLeft!).toBeLessThan(36)
  })

  it.each([1, 2, 3])('steady creep below the rate threshold, with the daily cycle, forecasts nothing for 10 days (seed %i)', (seed) => {
    const s = makeSeries({ family: 'stable', seed, days: 10 })
    const reasons = new Set<string>()
    for (let t = s.start + 48 * HOUR; t <= s.end; t += 6 * HOUR) reasons.add(forecast(pointsAt(s, t), rule).reason)
    expect([...reasons].filter((r) => r === 'FORECAST')).toEqual([])
  })

  it('no movement at all: the length of the displacement would fold noise and cycle into a rising curve; along the movement it stays noise', () => {
    const s = makeSeries({ family: 'noise', seed: 4, days: 6 })
    for (let t = s.start + 48 * HOUR; t <= s.end; t += 6 * HOUR) expect(forecast(pointsAt(s, t), rule).reason).toMatch(/BELOW_NOISE_FLOOR|NOT_ACCELERATING|TOO_FEW_POINTS/)
  })

  it('a rain pulse’s rise (regressive movement) levels off: never forecast for as long as `confirm`', () => {
    // seed 1's first pulse: about 30 mm rising over a day from day 4, then decaying
    const s = makeSeries({ family: 'regressive', seed: 1, days: 8 })
    const reasons: string[] = []
    let run = 0
    let longest = 0
    for (let t = s.start + 72 * HOUR; t <= s.end; t += 2 * HOUR) {
      const f = forecast(pointsAt(s, t), rule)
      reasons.push(f.reason)
      run = f.reason === 'FORECAST' ? run + 2 : 0
      longest = Math.max(longest, run)
    }
    expect(reasons).toContain('LEVELLING_OFF')
    expect(longest).toBeLessThan(rule.confirm / 3600)
  })

  it('a forecast sets a level only once it has stood for `confirm`', () => {
    const s = makeSeries({ family: 'voight', alpha: 2, seed: 1, days: 10 })
    const often = { ...rule, every: 3 * 3600 }
    const shipped = run(s, often)
    const first = shipped.events.find((e) => e.to !== null)!
    expect(first.ts - (first.evidence!.forecastSince as number)).toBeGreaterThanOrEqual(rule.confirm * 1000)
    expect(run(s, { ...often, confirm: 30 * 86_400 }).events).toEqual([])
  })

  it('confirms a forecast after `confirm` of fits, through a short pause and a data gap, not through a long pause', () => {
    const h = 3_600_000
    // a fit every half hour: forecast, forecast, …; verdicts as [hour, forecasting]
    const walk = (verdicts: [number, boolean][]) => {
      let st = { forecastSince: 0, pausedSince: 0 }
      const out: boolean[] = []
      for (const [hour, forecasting] of verdicts) {
        const c = confirmation(st, forecasting, (1000 + hour) * h, rule)
        st = c
        out.push(c.confirmed)
      }
      return out
    }
    const every = (from: number, to: number, forecasting: boolean): [number, boolean][] => Array.from({ length: (to - from) * 2 }, (_, i) => [from + i / 2, forecasting])
    // 24 h of forecasts: confirmed at hour 24
    expect(walk(every(0, 25, true)).indexOf(true)).toBe(48)
    // a 4-hour pause at hour 10 (no failure said) does not restart the count
    expect(walk([...every(0, 10, true), ...every(10, 14, false), ...every(14, 25, true)]).at(-1)).toBe(true)
    // a 6-hour gap without readings (no fits at all) does not either
    expect(walk([...every(0, 10, true), ...every(16, 25, true)]).at(-1)).toBe(true)
    // an 8-hour pause does: the count starts again at hour 18
    const long = walk([...every(0, 10, true), ...every(10, 18, false), ...every(18, 43, true)])
    expect(long.at(-1)).toBe(true)
    expect(long.indexOf(true)).toBe(20 + 16 + 48)
  })

  it('says there are too few points at first', () => {
    const s = makeSeries({ family: 'voight', alpha: 2, seed: 1 })
    expect(forecast(pointsAt(s, s.start + 5 * HOUR), rule)).toMatchObject({ reason: 'TOO_FEW_POINTS', why: expect.stringContaining('数据') })
  })
})
