import { describe, expect, it } from 'vitest'
import { evaluateInverseVelocity, forecast, initialInverseVelocity, inverseVelocityRuleSchema, type InverseVelocityState } from '../../../alerting/rules/inverse-velocity.js'
import type { Sample } from '../../../alerting/rules/series.js'
import type { LevelEvent } from '../../../alerting/rules/types.js'
import type { Reading } from '../../../ingest/reading.js'
import { seeded } from '../../../simulators/random.js'

/**
 * Synthetic slopes. In the accelerating stage with α = 2, 1/v = A·(tf − t), so the displacement is
 * d(t) = (1/A)·ln((tf − t_start)/(tf − t)) on top of what came before.
 */
const HOUR = 3_600_000
const DAY = 24 * HOUR
const T0 = Date.parse('2026-11-01T00:00:00Z')
const rule = inverseVelocityRuleSchema.parse({ kind: 'inverseVelocity', id: 'iv' })

/**
 * `creepDays` of steady creep at `creep` mm/d, then acceleration (velocity v0 at its start) to
 * failure at `failDays`, one reading every `every` hours, with Gaussian noise σ mm.
 */
function slope(opts: { creepDays: number; creep: number; failDays: number; v0: number; sigma: number; seed: number; hours: number; every?: number }): Sample[] {
  const rnd = seeded(opts.seed)
  const ts = (h: number) => T0 + h * HOUR
  const tAccel = opts.creepDays // days
  const A = 1 / (opts.v0 * (opts.failDays - tAccel)) // so that v = v0 when acceleration starts
  const out: Sample[] = []
  for (let h = 0; h < opts.hours; h += opts.every ?? 1) {
    const t = h / 24
    const creep = Math.min(t, tAccel) * opts.creep
    const accel = t > tAccel ? (1 / A) * Math.log((opts.failDays - tAccel) / (opts.failDays - t)) : 0
    out.push([ts(h), creep + accel + rnd.gaussian(opts.sigma)])
  }
  return out
}

const run = (samples: Sample[]) => {
  let state: InverseVelocityState = initialInverseVelocity()
  const events: LevelEvent[] = []
  for (const [ts, d] of samples) {
    const reading: Reading = { mineId: 'm', deviceId: 'p', kind: 'gnss', ts, values: { dN: d, dE: 0, dU: 0 } }
    const r = evaluateInverseVelocity(state, reading, rule, ts, { mineStatus: 'producing', timeZone: 'Asia/Shanghai' })
    state = r.state
    events.push(...r.events)
  }
  return { state, events }
}

describe('inverse velocity (Fukuzono, α = 2)', () => {
  it.each([1, 2, 3, 4, 5])('forecasts the failure time within a tenth of the time left once 12 accelerating points are in (seed %i)', (seed) => {
    const failDays = 6
    const creepDays = 2
    // creep at 0.5 mm/d, then 6 days of acceleration from 10 mm/d, a reading every 6 h (24 in the
    // stage), σ = 0.1 mm; over 40 seeds the worst error is 9.1% (more noise, less accuracy:
    // 13% at σ = 0.15 mm)
    const samples = slope({ creepDays, creep: 0.5, failDays: creepDays + failDays, v0: 10, sigma: 0.1, seed, hours: (creepDays + failDays - 0.25) * 24, every: 6 })
    const accelStart = samples.findIndex(([ts]) => ts > T0 + creepDays * DAY)
    for (let n = accelStart + 12; n <= samples.length; n++) {
      const window = samples.slice(0, n)
      const f = forecast(window, rule)
      const left = (T0 + (creepDays + failDays) * DAY - window.at(-1)![0]) / HOUR
      expect(f.reason, `after ${n - accelStart} accelerating points: ${f.why}`).toBe('FORECAST')
      const said = `after ${n - accelStart} points: forecast ${f.hoursLeft!.toFixed(1)} h, truth ${left.toFixed(1)} h`
      // in the last day the question is only whether it says "under 24 h" (red)
      if (left >= 24) expect(Math.abs(f.hoursLeft! - left) / left, said).toBeLessThan(0.1)
      else expect(f.hoursLeft!, said).toBeLessThan(24)
    }
  })

  it('warns by how soon: yellow, then orange, then red as the failure nears, with the forecast in the event', () => {
    const samples = slope({ creepDays: 1, creep: 0.5, failDays: 12, v0: 10, sigma: 0.1, seed: 7, hours: 11.9 * 24, every: 6 })
    const { events } = run(samples)
    const rises = events.filter((e) => e.to !== null).map((e) => e.to)
    expect(rises.slice(0, 3)).toEqual(['yellow', 'orange', 'red'])
    const red = events.find((e) => e.to === 'red')!
    expect(red.evidence).toMatchObject({ reason: 'FORECAST', failureTs: expect.any(Number), r2: expect.any(Number) })
    expect(red.value).toBeLessThan(24)
    expect(red.unit).toBe('h')
  })

  it('makes no forecast on steady creep, and says why', () => {
    const samples = slope({ creepDays: 30, creep: 3, failDays: 60, v0: 3, sigma: 0.05, seed: 3, hours: 10 * 24 })
    const { state, events } = run(samples)
    expect(events).toEqual([])
    expect(state.last?.reason).toMatch(/NOT_ACCELERATING|POOR_FIT/)
  })

  it('makes no forecast on noise alone, and says the movement is under the noise floor', () => {
    const samples = slope({ creepDays: 30, creep: 0, failDays: 60, v0: 1, sigma: 0.3, seed: 9, hours: 5 * 24 })
    const { state, events } = run(samples)
    expect(events).toEqual([])
    expect(state.last?.reason).toMatch(/BELOW_NOISE_FLOOR|NOT_ACCELERATING|POOR_FIT/)
  })

  it('says there are too few points at first', () => {
    expect(forecast(slope({ creepDays: 0, creep: 0, failDays: 5, v0: 3, sigma: 0, seed: 1, hours: 5 }), rule)).toMatchObject({ reason: 'TOO_FEW_POINTS', why: expect.stringContaining('数据不足') })
  })
})
