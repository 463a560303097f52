import { describe, expect, it } from 'vitest'
import { rulesFor } from '../../../alerting/config.js'
import { feedTrack, EMPTY_TRACK, type TrackState } from '../../../alerting/rules/kinematics/track.js'
import { NO_LEVEL, stepLevel, type LevelState } from '../../../alerting/rules/levels.js'
import { evaluateRate, initialRate, type RateRule } from '../../../alerting/rules/rate.js'
import { evaluateStep, initialStep, type StepRule } from '../../../alerting/rules/step.js'
import type { Evaluate, LevelEvent } from '../../../alerting/rules/types.js'
import { makeSeries, type Series } from '../../../simulators/families.js'

/**
 * The slope rules on series with what real prisms deliver (simulators/signal.ts): σ = 0.5 mm per
 * component, a ±1.5 mm daily cycle whose size changes with the weather, outliers, two 6-hour gaps,
 * irregular 5–15 min intervals and bursts. The rules are the built-in defaults of a prism.
 */
const ctx = { mineStatus: 'producing' as const, timeZone: 'Asia/Shanghai' }
const defaults = rulesFor('prism', {}, {}, [])
const rateDay = defaults.find((r) => r.id === 'rate-day') as RateRule
const rateHour = defaults.find((r) => r.id === 'rate-hour') as RateRule
const stepRule = defaults.find((r) => r.id === 'step') as StepRule

/** A rule over a series, reading by reading, as the engine runs it: every level event it gave. */
function run<C, S>(evaluate: Evaluate<C, S>, initial: S, rule: C, series: Series): LevelEvent[] {
  let state = initial
  const out: LevelEvent[] = []
  for (const r of series.readings) {
    const e = evaluate(state, { deviceId: 'p', mineId: 'm', kind: 'prism', ts: r.ts, values: r.values }, rule, r.ts, ctx)
    state = e.state
    out.push(...e.events)
  }
  return out
}
const runRate = (rule: RateRule, series: Series) => run(evaluateRate, initialRate(), rule, series)
const runStep = (series: Series) => run(evaluateStep, initialStep(), stepRule, series)

const raises = (events: readonly LevelEvent[]) => events.filter((e) => e.from === null && e.to !== null)

describe('rate-day on steady creep with a daily cycle', () => {
  it.each([1, 2, 3])('raises no yellow on 30 days of creep below 10 mm/d (seed %i)', (seed) => {
    const series = makeSeries({ family: 'stable', seed, days: 30 })
    expect(series.params.creep).toBeLessThan(10)
    expect(raises(runRate(rateDay, series))).toEqual([])
  })

  it.each([1, 6])(
    'the shipped rate-day (daily cycle and its overtone fitted out, 6 h clear delay) rings at most once a month at 8 mm/d, where a plain 24 h slope rings almost daily (seed %i)',
    (seed) => {
      // 8 mm/d along the movement with the ±1.5 mm cycle: a plain 24 h least-squares slope swings by about ±3 mm/d
      const series = makeSeries({ family: 'noise', seed, days: 30 })
      const creep = {
        ...series,
        readings: series.readings.map((r) => ({
          ts: r.ts,
          values: { ...r.values, dN: r.values.dN + (0.6 * 8 * (r.ts - series.start)) / 86_400_000, dE: r.values.dE + (0.8 * 8 * (r.ts - series.start)) / 86_400_000 },
        })),
      }
      const plain = raises(runRate({ ...rateDay, dailyCycle: false, clearAfter: 0 }, creep)).length
      const fitted = raises(runRate(rateDay, creep)).length
      expect(plain).toBeGreaterThanOrEqual(15)
      expect(fitted).toBeLessThanOrEqual(1)
    },
  )

  it('is not judged before its readings span nearly a day: part of a ±4 mm cycle (GNSS multipath) is not 10 mm/d', () => {
    const start = Date.parse('2026-06-01T00:00:00+08:00')
    const readings = Array.from({ length: 23 * 6 }, (_, i) => {
      const ts = start + i * 600_000
      return { ts, values: { dN: 20 + 4 * Math.sin((2 * Math.PI * ts) / 86_400_000), dE: 0, dH: 0 } }
    })
    const series = { ...makeSeries({ family: 'noise', seed: 1, days: 1 }), readings }
    expect(raises(runRate(rateDay, series))).toEqual([])
    // the same readings do swing a half-day slope past the threshold
    expect(raises(runRate({ ...rateDay, window: 12 * 3600 }, series)).length).toBeGreaterThan(0)
  })

  it('still sees real movement above the threshold', () => {
    const series = makeSeries({ family: 'noise', seed: 5, days: 4 })
    const fast = { ...series, readings: series.readings.map((r) => ({ ts: r.ts, values: { ...r.values, dE: r.values.dE + (14 * (r.ts - series.start)) / 86_400_000 } })) }
    const first = raises(runRate(rateDay, fast))[0]
    expect(first).toMatchObject({ to: 'yellow' })
    expect(first!.value).toBeGreaterThan(10)
    expect(first!.value).toBeLessThan(18)
  })
})

describe('a step is a data-quality event, not a velocity', () => {
  it.each([1, 2, 3, 4])('a re-set step raises the step warning once, and neither rate rule (seed %i)', (seed) => {
    const series = makeSeries({ family: 'step', seed, days: 30 })
    expect(Math.abs(series.params.step!)).toBeGreaterThanOrEqual(5)
    expect(raises(runRate(rateHour, series))).toEqual([])
    expect(raises(runRate(rateDay, series))).toEqual([])
    const found = raises(runStep(series))
    expect(found).toHaveLength(1)
    // the size is the step of the 3-D displacement (a step against the movement can shrink it)
    expect(Math.abs(found[0]!.value)).toBeGreaterThanOrEqual(5)
  })

  it('without bridging the same step rings orange within the hour', () => {
    const series = makeSeries({ family: 'step', seed: 1, days: 30 })
    const { steps: _bridge, ...unbridged } = rateHour
    expect(raises(runRate(unbridged as RateRule, series)).length).toBeGreaterThan(0)
  })

  it('movement that continues after a step is still seen', () => {
    const samples: (readonly [number, number])[] = []
    let track: TrackState = EMPTY_TRACK
    const params = { minStep: 5, stepSigmas: 6, confirm: 3 }
    for (let i = 0; i < 60; i++) {
      const t = i * 600_000
      // 1 mm per reading, then a 20 mm step at reading 30, then 1 mm per reading on
      const raw = i + (i >= 30 ? 20 : 0)
      const r = feedTrack(track, t, raw, params, (list, s) => [...list, s])
      track = r.state
      samples.push(...r.added)
    }
    expect(track.offset[0]).toBeCloseTo(-20, 0)
    const last = track.samples.at(-1)!
    expect(last[1]).toBeCloseTo(59, 0)
  })

  it('a single outlier is left out, not bridged', () => {
    let track: TrackState = EMPTY_TRACK
    let outliers = 0
    const params = { minStep: 5, stepSigmas: 6, confirm: 3 }
    for (let i = 0; i < 40; i++) {
      const r = feedTrack(track, i * 600_000, i === 20 ? 30 : 0.1 * (i % 3), params, (list, s) => [...list, s])
      track = r.state
      outliers += r.outliers
    }
    expect(outliers).toBe(1)
    expect(track.offset.every((o) => o === 0)).toBe(true)
    expect(track.samples.some(([, v]) => v > 1)).toBe(false)
  })
})

describe('the first readings of a new track', () => {
  it('leave out an outlier among them: a prism whose very first reading is 20 mm off raises no step and no rate warning (noise seed 5)', () => {
    const whole = makeSeries({ family: 'noise', seed: 5 })
    const series = { ...whole, readings: whole.readings.filter((r) => r.ts < whole.start + 2 * 86_400_000) }
    expect(Math.abs(series.readings[0]!.values.dN)).toBeGreaterThan(15)
    expect(raises(runRate(rateHour, series))).toEqual([])
    expect(raises(runRate(rateDay, series))).toEqual([])
    expect(raises(runStep(series))).toEqual([])
  })
})

describe('clearAfter: a level falls only after the value has stayed back', () => {
  const spec = { thresholds: { yellow: 10 }, direction: 'above' as const, clearMargin: 0, clearAfter: 3600 }
  const at = (m: number) => m * 60_000
  it('keeps yellow through short dips, and lowers it an hour after the value went back', () => {
    let s: LevelState = NO_LEVEL
    const trace: (string | null)[] = []
    for (const [m, v] of [
      [0, 11],
      [10, 9],
      [20, 11],
      [30, 9],
      [60, 9],
      [89, 9],
      [90, 9],
      [100, 11],
    ] as const) {
      s = stepLevel(s, v, at(m), spec)
      trace.push(s.level)
    }
    // back at 30 min: still yellow at 89, cleared at 90; up again at 100
    expect(trace).toEqual(['yellow', 'yellow', 'yellow', 'yellow', 'yellow', 'yellow', null, 'yellow'])
  })
})
