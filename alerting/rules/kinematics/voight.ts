import type { Sample } from '../series.js'
import { cycleColumns, daysBefore, fitColumns, solve } from './least-squares.js'

/**
 * The failure forecast (inverse velocity; docs/slope-warnings.md), fitted to the displacement itself.
 *
 * Voight's law of the accelerating (tertiary) stage, dv/dt = A·v^α (Voight 1988, 1989; Fukuzono
 * 1985 for α = 2), integrates to a velocity v = K·(t_f − t)^(−p) with p = 1/(α − 1), which grows
 * without bound at the failure time t_f. Fukuzono's method fits a line to 1/v, which needs
 * velocities, and velocities from noisy, cyclic readings are what make it fail in practice
 * (Carlà et al. 2017): differencing a σ = 0.5 mm series over 30 min gives ±30 mm/d.
 *
 * So the model is fitted to the displacement, where the noise is smallest:
 *
 *     d(t) = a + K·G_p(t_f − t) + c·cos ωt + s·sin ωt
 *
 * with G_p(s) = s^(1−p)/(p − 1) (−ln s when p = 1), so that dG/dt = s^(−p), and the daily cycle
 * (ω = 2π/day) fitted alongside (harmonic regression). For each α of a grid (1.4 … 2.6) and each
 * candidate t_f, a, K, c and s are linear least squares; the pair (α, t_f) with the least
 * residual is the forecast. Fitting α removes the bias of a straight 1/v line, which reaches zero
 * early for α < 2 and late for α > 2.
 *
 * Before anything is forecast, the accelerating model must beat steady movement
 * (d = a + b·t + cycle) by an F-test at `minF`: this is the onset-of-acceleration test (Carlà et al.
 * 2017, IJRMMS 93), so that creep, noise and a decaying (regressive) movement forecast nothing.
 * The interval is every (α, t_f) whose residual is within an F-test margin of the best: the
 * earliest and latest failure times the data allow.
 */
export type ForecastReason = 'TOO_FEW_POINTS' | 'NOT_ACCELERATING' | 'UNCONFIRMED' | 'BELOW_NOISE_FLOOR' | 'BEYOND_HORIZON' | 'FORECAST'

export interface Forecast {
  readonly reason: ForecastReason
  /** Why, in words (Chinese first, for the alert record). */
  readonly why: string
  /** When the forecast was made (the newest reading's time). */
  readonly ts: number
  readonly points: number
  /** mm/d now, by the fitted model (or the steady fit when nothing accelerates). */
  readonly velocity?: number
  /** F statistic of accelerating against steady movement, corrected for correlated residuals. */
  readonly f?: number
  /** The forecast failure time for α = 2 (Fukuzono), and the hours left until it. */
  readonly failureTs?: number
  readonly hoursLeft?: number
  /** The failure time if α were `safeAlpha` (earlier for any α below it): what the levels judge. */
  readonly safeTs?: number
  readonly safeHoursLeft?: number
  /** The interval: the earliest and latest failure times the data allow for α from 1.5 to `safeAlpha`. */
  readonly earliestTs?: number
  readonly latestTs?: number
}

export interface VoightParams {
  /** Readings needed in the fit window. */
  readonly minPoints: number
  /** Seconds the readings must span (a daily cycle is told from a trend over about two days). */
  readonly window: number
  /** F statistic the accelerating model must reach against steady movement. */
  readonly minF: number
  /** mm/d: below this the movement is within the instrument's noise. */
  readonly noiseFloor: number
  /** mm the fitted movement over the window must exceed (the band the daily cycle and noise fill). */
  readonly minMovement: number
  /** Days: failure times further away than this are not forecast. */
  readonly horizonDays: number
  /** The largest α allowed for: levels are judged on the failure time this α gives (2.2). */
  readonly safeAlpha: number
}

const DAY = 86_400_000
/** α of the point forecast (Fukuzono), and the others tried for the interval. */
const POINT_ALPHA = 2
const LOW_ALPHA = 1.5
/** Candidate times to failure (days from the newest reading): 1 h to the horizon, 8% apart. */
const FIRST_CANDIDATE = 1 / 24
/** Share of the window the readings must span before anything is forecast. */
const MIN_SPAN = 0.95
const STEP = 1.08

/** The daily cycle's columns: the solar day and its first overtone (a thermal day is not a sine). */
const harmonics = (ts: number, x: number): number[] => {
  const [c1, s1] = cycleColumns(ts)
  // the cycle's size changes with the weather: its amplitude may drift across the window
  return [c1, s1, c1 * c1 - s1 * s1, 2 * s1 * c1, x * c1, x * s1]
}
const H = 6

interface Prepared {
  readonly x: number[]
  readonly y: number[]
  readonly h: number[][]
  /** Gram matrix and Xᵀy of the columns [1, h…] (the candidate's G joins as column 1). */
  readonly gram: number[][]
  readonly xty: number[]
  readonly yy: number
}

function prepare(samples: readonly Sample[]): Prepared {
  const x = daysBefore(samples)
  const y = samples.map(([, v]) => v)
  const h = samples.map(([t], i) => harmonics(t, x[i]!))
  const col = (k: number, i: number) => (k === 0 ? 1 : h[i]![k - 1]!)
  const gram = Array.from({ length: H + 1 }, (_, a) => Array.from({ length: H + 1 }, (_, b) => x.reduce((sum, _v, i) => sum + col(a, i) * col(b, i), 0)))
  const xty = Array.from({ length: H + 1 }, (_, a) => x.reduce((sum, _v, i) => sum + col(a, i) * y[i]!, 0))
  return { x, y, h, gram, xty, yy: y.reduce((sum, v) => sum + v * v, 0) }
}

interface Candidate {
  readonly sse: number
  readonly coef: number[]
  readonly alpha: number
  readonly days: number
}

/** G_p(s) = s^(1−p)/(p − 1), or −ln s for p = 1: its time derivative is s^(−p), the velocity shape. */
function basis(alpha: number, s: number): number {
  const p = 1 / (alpha - 1)
  return p === 1 ? -Math.log(s) : s ** (1 - p) / (p - 1)
}

/** Least squares of d = a + K·G(t_f − t) + cycle for one (α, t_f); undefined unless K > 0. */
function fitCandidate(pr: Prepared, alpha: number, days: number): Candidate | undefined {
  const n = pr.x.length
  let sg = 0
  let sgg = 0
  let sgy = 0
  const sgh = new Array<number>(H).fill(0)
  for (let i = 0; i < n; i++) {
    const g = basis(alpha, days - pr.x[i]!)
    sg += g
    sgg += g * g
    sgy += g * pr.y[i]!
    const hi = pr.h[i]!
    for (let k = 0; k < H; k++) sgh[k]! += g * hi[k]!
  }
  // columns: 1, G, h1…h4
  const m = H + 2
  const a = Array.from({ length: m }, () => new Array<number>(m).fill(0))
  const idx = (k: number) => (k === 0 ? 0 : k - 1) // column k (≠ 1) in the prepared Gram
  for (let r = 0; r < m; r++)
    for (let c = 0; c < m; c++) {
      if (r === 1 && c === 1) a[r]![c] = sgg
      else if (r === 1) a[r]![c] = c === 0 ? sg : sgh[c - 2]!
      else if (c === 1) a[r]![c] = r === 0 ? sg : sgh[r - 2]!
      else a[r]![c] = pr.gram[idx(r)]![idx(c)]!
    }
  const rhs = [pr.xty[0]!, sgy, ...pr.xty.slice(1)]
  const coef = solve(
    a.map((row) => [...row]),
    [...rhs],
  )
  if (!coef || !(coef[1]! > 0)) return undefined
  const sse = pr.yy - coef.reduce((sum, v, i) => sum + v * rhs[i]!, 0)
  return { sse: Math.max(sse, 0), coef, alpha, days }
}

/** The best failure time for one α: a coarse grid, then a finer one around its best. */
function bestFor(pr: Prepared, alpha: number, horizonDays: number, all: Candidate[]): Candidate | undefined {
  let best: Candidate | undefined
  for (let s = FIRST_CANDIDATE; s <= horizonDays; s *= STEP) {
    const c = fitCandidate(pr, alpha, s)
    if (!c) continue
    all.push(c)
    if (!best || c.sse < best.sse) best = c
  }
  if (!best) return undefined
  for (let s = best.days / STEP; s <= best.days * STEP; s *= 1.01) {
    const c = fitCandidate(pr, alpha, s)
    if (c && c.sse < best.sse) best = c
  }
  return best
}

/** Residual lag-1 autocorrelation of a candidate's fit (≥ 0). */
function residualCorrelation(pr: Prepared, c: Candidate): number {
  let prev: number | undefined
  let num = 0
  let den = 0
  for (let i = 0; i < pr.x.length; i++) {
    const hi = pr.h[i]!
    let f = c.coef[0]! + c.coef[1]! * basis(c.alpha, c.days - pr.x[i]!)
    for (let k = 0; k < H; k++) f += c.coef[k + 2]! * hi[k]!
    const r = pr.y[i]! - f
    den += r * r
    if (prev !== undefined) num += r * prev
    prev = r
  }
  return den > 0 ? Math.max(0, num / den) : 0
}

/** F quantile used for the interval (F(0.95; 2, ∞) ≈ 3.0). */
const F_INTERVAL = 3

export function forecastFailure(samples: readonly Sample[], params: VoightParams): Forecast {
  const now = samples.at(-1)?.[0] ?? 0
  const n = samples.length
  const base = { ts: now, points: n }
  if (n < params.minPoints) return { ...base, reason: 'TOO_FEW_POINTS', why: `数据不足: ${n} 个测点, 需 ${params.minPoints} 个` }
  const span = now - samples[0]![0]
  if (span < MIN_SPAN * params.window * 1000) return { ...base, reason: 'TOO_FEW_POINTS', why: `数据跨度 ${(span / 3_600_000).toFixed(1)} h, 需 ${((MIN_SPAN * params.window) / 3600).toFixed(0)} h 才能分离日周期与趋势` }
  const x = daysBefore(samples)
  const steady = fitColumns(
    samples.map(([t], i) => [1, x[i]!, ...harmonics(t, x[i]!)]),
    samples.map(([, v]) => v),
  )
  if (!steady) return { ...base, reason: 'TOO_FEW_POINTS', why: '测点时间过于集中, 无法拟合' }
  const steadyVelocity = steady.coef[1]!
  const pr = prepare(samples)
  const all: Candidate[] = []
  const point = bestFor(pr, POINT_ALPHA, params.horizonDays, all)
  const safe = bestFor(pr, params.safeAlpha, params.horizonDays, all)
  const low = bestFor(pr, LOW_ALPHA, params.horizonDays, all)
  const best = [point, safe, low].reduce<Candidate | undefined>((b, c) => (c && (!b || c.sse < b.sse) ? c : b), undefined)
  // residuals of a daily cycle that changes with the weather are correlated: n readings then
  // carry the information of fewer, and the F statistic is deflated by (1 − ρ)/(1 + ρ)
  const dof = n - (H + 3)
  const rho = best ? residualCorrelation(pr, best) : 0
  const f = best ? (((steady.sse - best.sse) / 2 / (best.sse / dof)) * (1 - rho)) / (1 + rho) : 0
  const fText = Number.isFinite(f) ? f.toFixed(1) : '∞'
  if (!point || !safe || !(f >= params.minF)) {
    return { ...base, reason: 'NOT_ACCELERATING', why: `未检出加速变形 (加速模型 F = ${best ? fText : '—'}, 需 ≥ ${params.minF}); 速度 ${steadyVelocity.toFixed(2)} mm/d`, velocity: steadyVelocity, f }
  }
  const velocity = point.coef[1]! * point.days ** (-1 / (POINT_ALPHA - 1))
  if (!(velocity > params.noiseFloor)) {
    return { ...base, reason: 'BELOW_NOISE_FLOOR', why: `速度 ${velocity.toFixed(2)} mm/d 未超过噪声阈值 ${params.noiseFloor} mm/d`, velocity, f }
  }
  const moved = point.coef[1]! * (basis(POINT_ALPHA, point.days) - basis(POINT_ALPHA, point.days - daysBefore(samples)[0]!))
  if (!(moved >= params.minMovement)) {
    return { ...base, reason: 'BELOW_NOISE_FLOOR', why: `拟合位移 ${moved.toFixed(1)} mm 未超过 ${params.minMovement} mm (日周期与噪声的范围)`, velocity, f }
  }
  // the data asking for a failure sooner than the nearest candidate is a bump in the newest few
  // readings (the afternoon peak of the daily cycle, a gust), not yet an acceleration: the next
  // readings confirm it; a real failure has been forecast long before it gets this close
  if (point.days <= FIRST_CANDIDATE * STEP) {
    return { ...base, reason: 'UNCONFIRMED', why: `加速仅见于最近几个测点, 待后续数据确认 (F = ${fText})`, velocity, f }
  }
  if (point.days * STEP > params.horizonDays) {
    return { ...base, reason: 'BEYOND_HORIZON', why: `加速, 但 ${params.horizonDays} d 内无失稳迹象 (F = ${fText})`, velocity, f }
  }
  const limit = best!.sse * (1 + (2 * F_INTERVAL) / dof)
  let earliest = Math.min(point.days, safe.days)
  let latest = point.days
  for (const c of all) {
    if (c.sse > limit) continue
    earliest = Math.min(earliest, c.days)
    latest = Math.max(latest, c.days)
  }
  const hoursLeft = point.days * 24
  const safeHoursLeft = Math.min(point.days, safe.days) * 24
  return {
    ...base,
    reason: 'FORECAST',
    why: `Voight 加速模型预测 ${hoursLeft.toFixed(1)} h 后失稳 (α = 2; α = ${params.safeAlpha} 时 ${safeHoursLeft.toFixed(1)} h), 区间 ${(earliest * 24).toFixed(1)}–${(latest * 24).toFixed(1)} h, F = ${fText}`,
    velocity,
    f,
    failureTs: now + point.days * DAY,
    hoursLeft,
    safeTs: now + safeHoursLeft * 3_600_000,
    safeHoursLeft,
    earliestTs: now + earliest * DAY,
    latestTs: now + latest * DAY,
  }
}
