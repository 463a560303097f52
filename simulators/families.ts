import { seeded } from './random.js'
import { instrument, instrumentError, prismModel, regressiveDisplacement, sendSchedule, voightDisplacement } from './signal.js'

/**
 * Seeded families of prism series for the slope rules' evaluation (`npm run eval:slopes`,
 * docs/alerting-evaluation.md) and their tests: slopes that fail (generalised Voight, α from 1.5
 * to 2.2), and slopes that do not (steady creep below the rate threshold, a step, pure noise,
 * regressive movement after rain). Every series carries the instrument's noise and daily cycle;
 * with `rough` it also has two 6-hour gaps, irregular 5–15 min intervals and bursts.
 */
export type Family = 'voight' | 'stable' | 'step' | 'noise' | 'regressive'
export const FAMILIES: readonly Family[] = ['voight', 'stable', 'step', 'noise', 'regressive']

export interface SeriesOptions {
  readonly family: Family
  readonly seed: number
  readonly alpha?: number
  /** σ per component, mm (0.5). */
  readonly sigma?: number
  /** Daily cycle amplitude, mm (1.5). */
  readonly cycle?: number
  readonly rough?: boolean
  /** Creep of the stable family, mm/d (drawn from 2–8 when not given). */
  readonly creep?: number
  /** Length in days (a failing series ends at the failure). */
  readonly days?: number
}

export interface SeriesReading {
  readonly ts: number
  readonly values: { dN: number; dE: number; dH: number }
}

export interface Series {
  readonly name: string
  readonly family: Family
  readonly alpha?: number
  readonly seed: number
  readonly start: number
  readonly end: number
  /** When the slope fails (failing series only). */
  readonly failAt?: number
  readonly readings: readonly SeriesReading[]
  /** What was put in, for the report. */
  readonly params: Record<string, number>
}

const HOUR = 3_600_000
const DAY = 24 * HOUR
/** A fixed Monday 00:00 in China, so that local hours are known. */
export const FAMILY_EPOCH = Date.parse('2026-06-01T00:00:00+08:00')

/** Direction of movement: mostly north-east and slightly down, as on an east wall. */
const DIRECTION = { dN: 0.6, dE: 0.77, dH: -0.2 }

export function makeSeries(o: SeriesOptions): Series {
  const rnd = seeded(o.seed * 7919 + o.family.length * 104729 + Math.round((o.alpha ?? 0) * 1000))
  const days = o.days ?? (o.family === 'voight' ? 10 : 30)
  const start = FAMILY_EPOCH + Math.floor(rnd.next() * 7) * DAY
  const end = start + days * DAY
  const rough = o.rough ?? true
  const params: Record<string, number> = { sigma: o.sigma ?? 0.5, cycle: o.cycle ?? 1.5, rough: rough ? 1 : 0 }
  let move: (t: number) => number
  switch (o.family) {
    case 'voight': {
      const alpha = o.alpha ?? 2
      // 0.5–2 mm/d when the series starts, ten days before the failure
      const v0 = (params.v0 = 0.5 + 1.5 * rnd.next())
      move = (t) => voightDisplacement(t - start, alpha, v0, end - start)
      break
    }
    case 'stable': {
      // steady creep below the 10 mm/d rate threshold
      const drawn = 2 + 6 * rnd.next()
      const v = (params.creep = o.creep ?? drawn)
      move = (t) => (v * (t - start)) / DAY
      break
    }
    case 'step': {
      const v = (params.creep = 1 + 3 * rnd.next())
      const size = (params.step = (rnd.next() < 0.5 ? -1 : 1) * (5 + 25 * rnd.next()))
      const at = (params.stepDay = 3 + Math.floor(rnd.next() * 20)) * DAY + start + rnd.next() * DAY
      move = (t) => (v * (t - start)) / DAY + (t >= at ? size : 0)
      break
    }
    case 'noise':
      move = () => 0
      break
    case 'regressive': {
      // rain every 5–10 days sets off a pulse of 10–40 mm that rises over 6–24 h and decays over 1–3 days
      const base = (params.creep = 0.5 + 1.5 * rnd.next())
      const pulses: { at: number; total: number; rise: number; decay: number }[] = []
      for (let t = start + (2 + 3 * rnd.next()) * DAY; t < end; t += (5 + 5 * rnd.next()) * DAY)
        pulses.push({ at: t, total: 10 + 30 * rnd.next(), rise: 6 + 18 * rnd.next(), decay: 24 + 48 * rnd.next() })
      params.pulses = pulses.length
      move = (t) => (base * (t - start)) / DAY + pulses.reduce((s, p) => s + regressiveDisplacement(t - p.at, p.total, p.rise, p.decay), 0)
      break
    }
  }
  const gaps: [number, number][] = []
  if (rough)
    for (let i = 0; i < 2; i++) {
      const a = start + (1 + rnd.next() * (days - 2.5)) * DAY
      gaps.push([a, a + 6 * HOUR])
    }
  const times = sendSchedule(rnd, start, end, { meanMs: 10 * 60_000, jitter: rough ? 0.5 : 0, gaps, burstRate: rough ? 0.01 : 0 })
  const model = { ...prismModel(0), sigma: { dN: params.sigma!, dE: params.sigma!, dV: params.sigma! }, cycle: { dN: params.cycle!, dE: 0.6 * params.cycle!, dV: 0.8 * params.cycle! } }
  const st = instrument(rnd)
  const round = (x: number) => Math.round(x * 100) / 100
  const readings = times.map((ts) => {
    const d = move(ts)
    const localHour = ((ts - FAMILY_EPOCH) / HOUR) % 24
    const e = instrumentError(st, model, ts, localHour)
    return { ts, values: { dN: round(DIRECTION.dN * d + e.dN), dE: round(DIRECTION.dE * d + e.dE), dH: round(DIRECTION.dH * d + e.dV) } }
  })
  const label = `${o.family === 'voight' ? `voight α=${o.alpha}` : o.family} seed ${o.seed}${rough ? '' : ' regular'}`
  return { name: label, family: o.family, seed: o.seed, start, end, readings, params, ...(o.alpha === undefined ? {} : { alpha: o.alpha }), ...(o.family === 'voight' ? { failAt: end } : {}) }
}
