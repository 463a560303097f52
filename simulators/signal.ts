import type { Random } from './random.js'

/**
 * What slope instruments really deliver (docs/slope-warnings.md): the
 * movement, plus the instrument's noise, its daily cycle, steps, outliers, gaps and irregular
 * reporting. Used by the simulated world (demo and scenarios), the tests and the evaluation
 * (`npm run eval:slopes`). Pure functions of a seeded source.
 *
 * - Robotic total station (prism): σ per component grows with the sight distance, about
 *   0.3 mm + 0.8 mm per km (1 mm + 1.5 ppm instruments, and the atmosphere along the line of
 *   sight), capped at 2 mm; the daily thermal/refraction cycle moves the apparent position by
 *   ±1–3 mm, strongest in the afternoon, with an amplitude that changes from day to day with the
 *   weather (cloudy days ±40%); the vertical component carries most of the refraction.
 * - GNSS: σ 2–3 mm horizontal and 4–6 mm vertical; multipath repeats with the satellite
 *   geometry, every sidereal day (23 h 56 min).
 */
const HOUR = 3_600_000
const DAY = 24 * HOUR
const SIDEREAL_DAY = 86_164_091

export interface Noise3 {
  readonly dN: number
  readonly dE: number
  readonly dV: number
}

export interface InstrumentModel {
  /** σ per component, mm. */
  readonly sigma: Noise3
  /** Daily cycle amplitude per component, mm (the swing is ±amplitude). */
  readonly cycle: Noise3
  /** Period of the cycle, ms: a solar day for thermal and refraction, a sidereal day for multipath. */
  readonly periodMs: number
  /** Local hour at which the cycle peaks. */
  readonly peakHour: number
  /** Day-to-day change of the cycle's amplitude (0.4: between 60% and 140%). */
  readonly weather: number
  /** Share of readings that are outliers (a wrong target, a person in the line of sight), and their size σ, mm. */
  readonly outlierRate: number
  readonly outlierMm: number
}

/** A prism at `distanceM` from the robotic total station. */
export function prismModel(distanceM: number, cycleMm = 1.5): InstrumentModel {
  const s = Math.min(2, 0.3 + (0.8 * distanceM) / 1000)
  return {
    sigma: { dN: s, dE: s, dV: s },
    cycle: { dN: cycleMm, dE: 0.6 * cycleMm, dV: 0.8 * cycleMm },
    periodMs: DAY,
    peakHour: 15,
    weather: 0.4,
    outlierRate: 0.003,
    outlierMm: 10,
  }
}

export function gnssModel(): InstrumentModel {
  return {
    sigma: { dN: 2.5, dE: 2.5, dV: 5 },
    cycle: { dN: 2, dE: 2, dV: 4 },
    periodMs: SIDEREAL_DAY,
    peakHour: 10,
    weather: 0.1,
    outlierRate: 0.002,
    outlierMm: 20,
  }
}

/** Per-instrument state: a day's weather factor, drawn once per day. */
export interface InstrumentState {
  readonly rnd: Random
  readonly dayFactor: Map<number, number>
}

export const instrument = (rnd: Random): InstrumentState => ({ rnd, dayFactor: new Map() })

function weatherOf(st: InstrumentState, day: number, spread: number): number {
  let f = st.dayFactor.get(day)
  if (f === undefined) {
    f = 1 + spread * (2 * st.rnd.next() - 1)
    st.dayFactor.set(day, f)
    if (st.dayFactor.size > 8) st.dayFactor.delete(st.dayFactor.keys().next().value!)
  }
  return f
}

/**
 * The instrument's error at time t (ms) for a given local hour (0–24): noise, daily cycle and, now
 * and then, an outlier. Add it to the true movement of each component.
 */
export function instrumentError(st: InstrumentState, model: InstrumentModel, t: number, localHour: number): Noise3 {
  // the weather factor eases from one day to the next, so the cycle has no kink at midnight
  const day = Math.floor(t / DAY)
  const frac = (t - day * DAY) / DAY
  const w = weatherOf(st, day, model.weather) * (1 - frac) + weatherOf(st, day + 1, model.weather) * frac
  const phase = model.periodMs === DAY ? ((localHour - model.peakHour) / 24) * 2 * Math.PI : (2 * Math.PI * t) / model.periodMs
  // a thermal day is not a sine: a second harmonic sharpens the afternoon peak
  const shape = Math.cos(phase) + 0.25 * Math.cos(2 * phase)
  const outlier = st.rnd.next() < model.outlierRate ? st.rnd.gaussian(model.outlierMm) : 0
  return {
    dN: w * model.cycle.dN * shape + st.rnd.gaussian(model.sigma.dN) + outlier,
    dE: w * model.cycle.dE * shape + st.rnd.gaussian(model.sigma.dE),
    dV: w * model.cycle.dV * shape + st.rnd.gaussian(model.sigma.dV),
  }
}

/**
 * Displacement (mm) of the generalised Voight law dv/dt = A·v^α, from velocity v0 (mm/d) at time
 * 0 to failure at `failAt` (ms after 0): v(t) = v0·(1 − t/t_f)^(−1/(α−1)).
 */
export function voightDisplacement(t: number, alpha: number, v0: number, failAt: number): number {
  if (t <= 0) return 0
  const tf = failAt / DAY
  const x = Math.min(t, failAt - 60_000) / DAY
  const p = 1 / (alpha - 1)
  const u = 1 - x / tf
  return p === 1 ? -v0 * tf * Math.log(u) : (v0 * tf * (u ** (1 - p) - 1)) / (p - 1)
}

/** Velocity (mm/d) of the same law. */
export function voightVelocity(t: number, alpha: number, v0: number, failAt: number): number {
  return v0 * (1 - Math.max(0, t) / failAt) ** (-1 / (alpha - 1))
}

/**
 * Regressive movement after rain (Dick et al. 2015): a pulse of velocity that rises over
 * `riseH` hours and decays with time constant `decayH`, moving `total` mm in all.
 * Velocity ∝ (1 − e^(−t/rise))·e^(−t/decay).
 */
export function regressiveDisplacement(t: number, total: number, riseH: number, decayH: number): number {
  if (t <= 0) return 0
  const r = riseH * HOUR
  const d = decayH * HOUR
  // ∫₀^t (1 − e^(−u/r)) e^(−u/d) du, normalised by its value at ∞
  const k = 1 / r + 1 / d
  const integral = d * (1 - Math.exp(-t / d)) - (1 - Math.exp(-k * t)) / k
  const whole = d - 1 / k
  return (total * integral) / whole
}

/**
 * Send times from `start` to `end`: every `meanMs` ± `jitter` (0.5: 5–15 min around 10 min),
 * without the given gaps, and now and then a burst (a re-measured round: two more readings
 * within a minute).
 */
export function sendSchedule(rnd: Random, start: number, end: number, opts: { meanMs: number; jitter: number; gaps?: readonly (readonly [number, number])[]; burstRate?: number }): number[] {
  const out: number[] = []
  for (let t = start; t < end; t += opts.meanMs * (1 + opts.jitter * (2 * rnd.next() - 1))) {
    if (opts.gaps?.some(([a, b]) => t >= a && t < b)) continue
    out.push(Math.round(t))
    if (rnd.next() < (opts.burstRate ?? 0)) out.push(Math.round(t + 20_000), Math.round(t + 40_000))
  }
  return out
}
