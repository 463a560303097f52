import { describe, expect, it } from 'vitest'
import { accumulationRuleSchema, evaluateAccumulation, initialAccumulation } from '../../../alerting/rules/accumulation.js'
import { stepLevel, NO_LEVEL, type LevelSpec, type LevelState } from '../../../alerting/rules/levels.js'
import { evaluateRate, initialRate, rateRuleSchema } from '../../../alerting/rules/rate.js'
import { checkSilence, evaluateSilence, initialSilence, silenceRuleSchema } from '../../../alerting/rules/silence.js'
import { evaluateThreshold, initialThreshold, thresholdRuleSchema } from '../../../alerting/rules/threshold.js'
import type { Evaluate, LevelEvent } from '../../../alerting/rules/types.js'
import type { DeviceKind } from '../../../ingest/contract/kinds.js'
import type { Reading } from '../../../ingest/reading.js'

const T0 = Date.parse('2026-11-20T00:00:00+08:00')
const MIN = 60_000
const HOUR = 60 * MIN

/** Runs a rule over readings and lists its level changes as "from→to@index". */
function run<C, S>(evaluate: Evaluate<C, S>, initial: S, rule: C, readings: Reading[]) {
  let state = initial
  const events: LevelEvent[] = []
  const changes: string[] = []
  readings.forEach((r, i) => {
    const out = evaluate(state, r, rule, r.ts, { mineStatus: 'producing', timeZone: 'Asia/Shanghai' })
    state = out.state
    for (const e of out.events) {
      events.push(e)
      changes.push(`${e.from ?? '-'}→${e.to ?? '-'}@${i}`)
    }
  })
  return { state, events, changes }
}

const reading = (kind: DeviceKind, ts: number, values: Reading['values']): Reading => ({ mineId: 'm', deviceId: 'd', kind, ts, values })
const series = (kind: DeviceKind, metric: string, values: (number | undefined)[], every = MIN) => values.map((v, i) => reading(kind, T0 + i * every, v === undefined ? { other: 1 } : { [metric]: v }))

describe('level logic', () => {
  const spec: LevelSpec = { thresholds: { blue: 10, yellow: 20, orange: 30, red: 40 }, direction: 'above', clearMargin: 2 }
  const walk = (values: number[], s: LevelSpec = spec) => {
    let state: LevelState = NO_LEVEL
    return values.map((v, i) => (state = stepLevel(state, v, T0 + i * MIN, s)).level)
  }
  it.each([
    ['exactly at a threshold reaches it', [10], ['blue']],
    ['just under stays clear', [9.999], [null]],
    ['the highest level reached wins', [41], ['red']],
    ['a level holds within the clear margin', [21, 19, 18.01], ['yellow', 'yellow', 'yellow']],
    ['and falls once past it', [21, 17.9], ['yellow', 'blue']],
    ['falling straight through clears', [41, 0], ['red', null]],
    ['flapping around a threshold does not flap the level', [20, 19.5, 20.2, 18.5, 20, 19], ['yellow', 'yellow', 'yellow', 'yellow', 'yellow', 'yellow']],
  ])('%s', (_name, values, levels) => {
    expect(walk(values as number[])).toEqual(levels)
  })

  it('below: the smaller the value, the higher the level (phreatic burial depth)', () => {
    const below: LevelSpec = { thresholds: { orange: 4.4, red: 4 }, direction: 'below', clearMargin: 0.1 }
    expect(walk([5, 4.4, 4.45, 4.51, 3.9, 4.05, 4.2], below)).toEqual([null, 'orange', 'orange', null, 'red', 'red', 'orange'])
  })

  it('persistence: a rise counts after N readings in a row, a fall at once', () => {
    expect(walk([25, 25, 25, 5, 25], { ...spec, persistence: { readings: 3 } })).toEqual([null, null, 'yellow', null, null])
  })

  it('persistence: a rise counts after T seconds; each level has its own run', () => {
    // yellow from 0 min, red from 1 min; 2 min needed
    expect(walk([25, 45, 45, 45, 25], { ...spec, persistence: { seconds: 120 } })).toEqual([null, null, 'yellow', 'red', 'yellow'])
  })
})

describe('threshold rule', () => {
  const rule = thresholdRuleSchema.parse({
    kind: 'threshold',
    id: 'depth',
    source: { metric: 'depth' },
    direction: 'below',
    thresholds: { orange: 4.4, red: 4.0 },
    clearMargin: 0.05,
    basis: '浸润线埋深控制值 4.0 m (设计); 橙色 = 1.1 × 红色 (GB 51108-2015 §8.3.4)',
  })

  it('raises, escalates and clears with the value, threshold and unit', () => {
    const { events, changes } = run(evaluateThreshold, initialThreshold(), rule, series('piezometer', 'depth', [5, 4.4, 4.2, 3.99, 4.5]))
    expect(changes).toEqual(['-→orange@1', 'orange→red@3', 'red→-@4'])
    expect(events[1]).toMatchObject({ rule: 'depth', value: 3.99, threshold: 4.0, unit: 'm', ts: T0 + 3 * MIN })
    expect(events[2]).toMatchObject({ to: null, threshold: 4.0 })
  })

  it('ignores readings without the metric', () => {
    expect(run(evaluateThreshold, initialThreshold(), rule, series('piezometer', 'depth', [5, undefined, 3.9, undefined])).changes).toEqual(['-→red@2'])
  })

  it('does not let a late (out-of-order) reading rewrite the present', () => {
    const readings = [reading('piezometer', T0 + 2 * MIN, { depth: 3.9 }), reading('piezometer', T0 + MIN, { depth: 5 }), reading('piezometer', T0 + 2 * MIN, { depth: 5 })]
    expect(run(evaluateThreshold, initialThreshold(), rule, readings).changes).toEqual(['-→red@0'])
  })

  it('walks a backlog upload in its own time order', () => {
    const backlog = series('piezometer', 'depth', [5, 4.3, 3.9, 4.6], HOUR)
    expect(run(evaluateThreshold, initialThreshold(), rule, backlog).changes).toEqual(['-→orange@1', 'orange→red@2', 'red→-@3'])
  })

  it('refuses thresholds that do not grow more extreme towards red', () => {
    const bad = thresholdRuleSchema.safeParse({ kind: 'threshold', id: 'x', source: { metric: 'depth' }, direction: 'below', thresholds: { orange: 4, red: 4.4 } })
    expect(bad.success).toBe(false)
    expect(bad.error?.issues[0]?.message).toMatch(/more extreme from blue to red/)
  })
})

describe('rate rule', () => {
  const rule = rateRuleSchema.parse({ kind: 'rate', id: 'v3d', source: { derived: 'total' }, window: 6 * 3600, per: 'day', thresholds: { yellow: 5, orange: 10, red: 20 } })
  const prism = (i: number, total: number) => reading('prism', T0 + i * HOUR, { dN: total * 0.6, dE: total * 0.8, dH: 0 })

  it('judges the least-squares velocity of the 3-D displacement over the window, in mm/d', () => {
    // 0.5 mm/h = 12 mm/d: orange
    const { events, changes } = run(
      evaluateRate,
      initialRate(),
      rule,
      Array.from({ length: 8 }, (_, i) => prism(i, i * 0.5)),
    )
    expect(changes).toEqual(['-→orange@3'])
    expect(events[0]!.value).toBeCloseTo(12, 6)
    expect(events[0]).toMatchObject({ unit: 'mm/d', threshold: 10 })
  })

  it('waits for enough points over half the window before judging', () => {
    expect(run(evaluateRate, initialRate(), rule, [prism(0, 0), prism(1, 5), prism(2, 10)]).changes).toEqual([])
  })

  it('treats movement either way as movement', () => {
    const r = rateRuleSchema.parse({ ...rule, source: { metric: 'dN' } })
    const falling = Array.from({ length: 8 }, (_, i) => reading('prism', T0 + i * HOUR, { dN: -i }))
    const first = run(evaluateRate, initialRate(), r, falling).events[0]
    expect(first).toMatchObject({ to: 'red' })
    expect(first!.evidence!.velocity).toBeCloseTo(-24, 9)
  })

  it('horizontal uses dN and dE only; a reading without them is skipped', () => {
    const r = rateRuleSchema.parse({ ...rule, source: { derived: 'horizontal' } })
    const readings = Array.from({ length: 8 }, (_, i) => reading('gnss', T0 + i * HOUR, i === 4 ? { sats: 9 } : { dN: 0, dE: 0, dU: i * 10 }))
    expect(run(evaluateRate, initialRate(), r, readings).changes).toEqual([])
  })
})

describe('accumulation rule', () => {
  const rule = accumulationRuleSchema.parse({ kind: 'accumulation', id: 'rain24' })
  it('defaults to yellow at 50 mm in 24 h (暴雨), and the window rolls', () => {
    // 10 mm an hour for 6 hours, then dry for a day
    const readings = [...Array.from({ length: 6 }, (_, i) => reading('rain', T0 + i * HOUR, { rainfall: 10 })), reading('rain', T0 + 30 * HOUR, { rainfall: 0 })]
    const { events, changes } = run(evaluateAccumulation, initialAccumulation(), rule, readings)
    expect(changes).toEqual(['-→yellow@4', 'yellow→-@6'])
    expect(events[0]).toMatchObject({ value: 50, threshold: 50, unit: 'mm' })
    expect(rule.basis).toContain('GB 51108-2015 §8.3.7')
  })
})

describe('silence rule (断线)', () => {
  const rule = silenceRuleSchema.parse({ kind: 'silence', id: 'silence' })
  const interval = 10 * MIN
  it('fires after 3 intervals without a reading, on the timer; a reading clears it', () => {
    let state = initialSilence(T0)
    expect(checkSilence(state, rule, T0 + 29 * MIN, interval).events).toEqual([])
    const fired = checkSilence(state, rule, T0 + 30 * MIN, interval)
    expect(fired.events).toMatchObject([{ from: null, to: 'yellow', value: 3, threshold: 3, ts: T0 + 30 * MIN }])
    state = fired.state
    expect(checkSilence(state, rule, T0 + 40 * MIN, interval).events).toEqual([])
    const back = evaluateSilence(state, reading('rain', T0 - HOUR, { rainfall: 0 }), rule, T0 + 41 * MIN, { mineStatus: 'producing', timeZone: 'Asia/Shanghai' })
    expect(back.events).toMatchObject([{ from: 'yellow', to: null }])
    expect(back.state.lastSeen).toBe(T0 + 41 * MIN)
  })
})

describe('the one-pass least-squares slope', () => {
  it('agrees with simple-statistics on uneven, noisy samples, on a sub-range too', async () => {
    const { linearRegression } = await import('simple-statistics')
    const { slope } = await import('../../../alerting/rules/series.js')
    const samples = Array.from({ length: 50 }, (_, i) => [T0 + i * 1000 + (i % 3) * 137, 0.002 * i + Math.sin(i) * 0.01] as const)
    const ref = (from: number, to: number) => linearRegression(samples.slice(from, to).map(([t, v]) => [t - samples[from]![0], v])).m
    expect(slope(samples)).toBeCloseTo(ref(0, 50), 12)
    expect(slope(samples, 10, 14)).toBeCloseTo(ref(10, 14), 12)
    expect(slope(samples, 3, 4)).toBeNaN()
  })
})

describe('the velocity of every component at once', () => {
  it('gives exactly the figures of one velocity fit per component, with and without the daily cycle, NaN where the fit cannot be made', async () => {
    const { velocities, velocity } = await import('../../../alerting/rules/kinematics/least-squares.js')
    // uneven 10-minute readings over 3 days, with a trend, a daily cycle and noise per component
    const points = Array.from({ length: 400 }, (_, i) => {
      const t = T0 + i * 600_000 + (i % 7) * 20_000
      return [t, 0.01 * i + 1.5 * Math.sin(i / 24), -0.004 * i + Math.cos(i * 1.7), 0.3 * Math.sin(i * 0.37)]
    })
    for (const [n, cycle] of [
      [400, true],
      [400, false],
      [30, true],
      [7, true],
      [6, true],
      [2, false],
      [1, false],
    ] as const) {
      const some = points.slice(-n)
      const one = [0, 1, 2].map((k) =>
        velocity(
          some.map((p) => [p[0]!, p[k + 1]!] as const),
          cycle,
        ),
      )
      expect(velocities(some, 3, cycle)).toEqual(one)
    }
  })
})

describe('dense readings', () => {
  it('a trend window holds a bounded number of samples however often a device reports, and still judges the same velocity', () => {
    const rule = rateRuleSchema.parse({ kind: 'rate', id: 'v', source: { metric: 'dN' }, window: 3 * 3600, per: 'hour', thresholds: { orange: 5 } })
    // one reading a second for 3 hours, moving 6 mm/h
    const readings = Array.from({ length: 3 * 3600 }, (_, i) => reading('prism', T0 + i * 1000, { dN: (6 * i) / 3600 }))
    const { state, events } = run(evaluateRate, initialRate(), rule, readings)
    expect(state.track.samples.length).toBeLessThanOrEqual(2 * 240)
    expect(events[0]).toMatchObject({ to: 'orange' })
    expect(events[0]!.value).toBeCloseTo(6, 6)
  })
})
