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
 * 2017, IJRMMS 93), so that creep, noise and a decaying (regressive) movement forecast nothing;
 * and it must beat a rise that levels off towards a ceiling (a rain pulse), see levellingOffSse.
 * The interval is every (α, t_f) whose residual is within an F-test margin of the best: the
 * earliest and latest failure times the data allow.
 */
export type ForecastReason = 'TOO_FEW_POINTS' | 'NOT_ACCELERATING' | 'DECELERATING' | 'LEVELLING_OFF' | 'UNCONFIRMED' | 'BELOW_NOISE_FLOOR' | 'BEYOND_HORIZON' | 'FORECAST'

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
  /** α of the best fit. */
  readonly alpha?: number
  /** The forecast failure time (by the fitted α), and the hours left until it. */
  readonly failureTs?: number
  readonly hoursLeft?: number
  /** The earliest failure time the data allow for any α up to `safeAlpha` (no later than the forecast): what the levels judge. */
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
/** α tried: the range found in the field (about 1.5 to 2.2; Intrieri et al. 2019) and beyond it, so that its ends are not favoured. */
const ALPHAS = [1.4, 1.6, 1.8, 2, 2.2, 2.4, 2.6]
/** Candidate times to failure (days from the newest reading): 1 h to the horizon, 12% apart, then refined. */
const FIRST_CANDIDATE = 1 / 24
/** Days the readings must span before anything is forecast: two daily cycles tell a cycle from a trend. */
const MIN_SPAN_DAYS = 2
const STEP = 1.12

/**
 * The daily cycle's columns, as many as the readings can carry: the solar day, its first overtone
 * (a thermal day is not a sine) and a drift of the amplitude across the window (the cycle's size
 * changes with the weather) with a dozen readings a day or more; the solar day alone with four or
 * more; none below (readings 6 h apart or sparser cannot tell a cycle from noise).
 */
function harmonicsFor(perDay: number): (ts: number, x: number) => number[] {
  if (perDay >= 12)
    return (ts, x) => {
      const [c1, s1] = cycleColumns(ts)
      return [c1, s1, c1 * c1 - s1 * s1, 2 * s1 * c1, x * c1, x * s1]
    }
  if (perDay >= 4) return (ts) => cycleColumns(ts)
  return () => []
}

interface Prepared {
  /** Cycle columns per row. */
  readonly H: number
  readonly x: number[]
  readonly y: number[]
  readonly h: number[][]
  /** Gram matrix and Xᵀy of the columns [1, h…] (the candidate's G joins as column 1). */
  readonly gram: number[][]
  readonly xty: number[]
  readonly yy: number
}

function prepare(samples: readonly Sample[], harmonics: (ts: number, x: number) => number[]): Prepared {
  const x = daysBefore(samples)
  const y = samples.map(([, v]) => v)
  const h = samples.map(([t], i) => harmonics(t, x[i]!))
  const H = h[0]!.length
  const col = (k: number, i: number) => (k === 0 ? 1 : h[i]![k - 1]!)
  const gram = Array.from({ length: H + 1 }, (_, a) => Array.from({ length: H + 1 }, (_, b) => x.reduce((sum, _v, i) => sum + col(a, i) * col(b, i), 0)))
  const xty = Array.from({ length: H + 1 }, (_, a) => x.reduce((sum, _v, i) => sum + col(a, i) * y[i]!, 0))
  return { H, x, y, h, gram, xty, yy: y.reduce((sum, v) => sum + v * v, 0) }
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
  // exp and log rather than a fractional power: the fit calls this a few hundred thousand times
  return p === 1 ? -Math.log(s) : Math.exp((1 - p) * Math.log(s)) / (p - 1)
}

/** Least squares of d = a + K·G(t_f − t) + cycle for one (α, t_f); undefined unless K > 0. */
function fitCandidate(pr: Prepared, alpha: number, days: number): Candidate | undefined {
  const n = pr.x.length
  const H = pr.H
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
  // within one coarse step either side of the coarse best: a bound that moved with the best walked
  // on for hundreds of steps wherever the residual keeps falling (steady creep, whose best failure
  // time is "never"), 7 times the work, and past the horizon where nothing is forecast anyway
  const centre = best.days
  for (let s = centre / STEP; s <= centre * STEP; s *= 1.01) {
    const c = fitCandidate(pr, alpha, s)
    if (c && c.sse < best.sse) best = c
  }
  return best
}

/** Residual lag-1 autocorrelation of a candidate's fit (≥ 0). */
function residualCorrelation(pr: Prepared, c: Candidate): number {
  const H = pr.H
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

/** Days of the short and long velocity averages, and the ratio below which movement is slowing. */
const SHORT_DAYS = 0.5
const LONG_DAYS = 1.5
const DECELERATION = 0.8

/** The readings with the fitted daily cycle taken out. */
function detrended(pr: Prepared, c: Candidate): number[] {
  return pr.y.map((y, i) => {
    let cyc = 0
    for (let k = 0; k < pr.H; k++) cyc += c.coef[k + 2]! * pr.h[i]![k]!
    return y - cyc
  })
}

/** Least-squares slope (per day) of the points at x ≥ from (days before the newest), and its standard error. */
function slopeSince(x: readonly number[], y: readonly number[], from: number): { slope: number; se: number } {
  const at: number[] = []
  for (let i = 0; i < x.length; i++) if (x[i]! >= from) at.push(i)
  const n = at.length
  if (n < 4) return { slope: Number.NaN, se: Number.NaN }
  const mx = at.reduce((s, i) => s + x[i]!, 0) / n
  const my = at.reduce((s, i) => s + y[i]!, 0) / n
  let num = 0
  let den = 0
  for (const i of at) {
    num += (x[i]! - mx) * (y[i]! - my)
    den += (x[i]! - mx) ** 2
  }
  if (!(den > 0)) return { slope: Number.NaN, se: Number.NaN }
  const slope = num / den
  const sse = at.reduce((s, i) => s + (y[i]! - my - slope * (x[i]! - mx)) ** 2, 0)
  return { slope, se: Math.sqrt(sse / (n - 2) / den) }
}

/** Onset times tried by the levelling-off model: every 2 h, at least 6 h inside the window. */
const ONSET_STEP_DAYS = 1 / 12
/** Days over which a levelling-off velocity approaches its limit (3 h to 2 d). */
const LEVELLING_TAUS = [0.125, 0.25, 0.5, 1, 2]
/** F the levelling-off model must reach against the accelerating one (F(0.95; 1, ∞) ≈ 3.84). */
const LEVELLING_F = 4

/**
 * The least residual of the levelling-off alternative: steady movement until an onset x0, then a
 * velocity that rises by Δ > 0 towards a limit, v = b + Δ·(1 − e^(−(x − x0)/τ)), with the cycle
 * alongside. This is how a slope answers rain (the pore pressure rises, then drains: regressive
 * movement, Zavodni & Broadbent 1980): its velocity rises concave, towards a ceiling, while the
 * velocity of Voight's accelerating stage rises convex, without bound. Where the ceiling fits the
 * data better than the unbounded law, by more than noise would, the data do not show a failure
 * coming.
 */
function levellingOffSse(pr: Prepared): number {
  const n = pr.x.length
  // the columns every candidate shares (1, x, the cycle) are summed once; each candidate adds
  // its ramp column's sums, as fitCandidate does: a few hundred candidates on a 10-day window
  const base = pr.x.map((x, i) => [1, x, ...pr.h[i]!])
  const m = base[0]!.length
  if (n <= m + 1) return Number.POSITIVE_INFINITY
  const gram = Array.from({ length: m }, (_, a) => Array.from({ length: m }, (_, b) => base.reduce((sum, r) => sum + r[a]! * r[b]!, 0)))
  const bty = Array.from({ length: m }, (_, a) => base.reduce((sum, r, i) => sum + r[a]! * pr.y[i]!, 0))
  const first = pr.x[0]!
  let best = Number.POSITIVE_INFINITY
  const sgb = new Array<number>(m)
  for (let x0 = first + 0.25; x0 <= -0.25; x0 += ONSET_STEP_DAYS)
    for (const tau of LEVELLING_TAUS) {
      let sgg = 0
      let sgy = 0
      sgb.fill(0)
      for (let i = 0; i < n; i++) {
        const u = pr.x[i]! - x0
        if (u <= 0) continue
        const g = u - tau * (1 - Math.exp(-u / tau))
        sgg += g * g
        sgy += g * pr.y[i]!
        const r = base[i]!
        for (let k = 0; k < m; k++) sgb[k]! += g * r[k]!
      }
      const a = [...gram.map((row, k) => [...row, sgb[k]!]), [...sgb, sgg]]
      const rhs = [...bty, sgy]
      const coef = solve(a, [...rhs])
      if (!coef || !(coef[m]! > 0)) continue
      const sse = Math.max(0, pr.yy - coef.reduce((sum, v, i) => sum + v * rhs[i]!, 0))
      if (sse < best) best = sse
    }
  return best
}

/** F quantile used for the interval (F(0.95; 2, ∞) ≈ 3.0). */
const F_INTERVAL = 3

export function forecastFailure(samples: readonly Sample[], params: VoightParams): Forecast {
  const now = samples.at(-1)?.[0] ?? 0
  const n = samples.length
  const base = { ts: now, points: n }
  if (n < params.minPoints) return { ...base, reason: 'TOO_FEW_POINTS', why: `数据不足: ${n} 个测点, 需 ${params.minPoints} 个` }
  const span = now - samples[0]![0]
  if (span < Math.min(MIN_SPAN_DAYS * DAY, 0.95 * params.window * 1000))
    return { ...base, reason: 'TOO_FEW_POINTS', why: `数据跨度 ${(span / 3_600_000).toFixed(1)} h, 需 ${MIN_SPAN_DAYS * 24} h 才能分离日周期与趋势` }
  const x = daysBefore(samples)
  const harmonics = harmonicsFor((n - 1) / (span / DAY))
  const steady = fitColumns(
    samples.map(([t], i) => [1, x[i]!, ...harmonics(t, x[i]!)]),
    samples.map(([, v]) => v),
  )
  if (!steady) return { ...base, reason: 'TOO_FEW_POINTS', why: '测点时间过于集中, 无法拟合' }
  const steadyVelocity = steady.coef[1]!
  // a window that has not moved by half the movement asked for cannot hold an acceleration worth
  // forecasting: most prisms most of the time, and the fit below costs a few milliseconds
  if (!(Math.abs(steadyVelocity) * (span / DAY) >= params.minMovement / 2)) {
    return {
      ...base,
      reason: 'BELOW_NOISE_FLOOR',
      why: `窗口内位移约 ${(Math.abs(steadyVelocity) * (span / DAY)).toFixed(1)} mm, 未超过 ${params.minMovement} mm (日周期与噪声的范围)`,
      velocity: steadyVelocity,
    }
  }
  const pr = prepare(samples, harmonics)
  const all: Candidate[] = []
  // α is fitted (a profile over the grid): the forecast of one fixed α is early for any smaller
  // α and late for any larger one (+41% of the time left at α = 2.2 when α = 2 is assumed)
  const byAlpha = ALPHAS.map((a) => bestFor(pr, a, params.horizonDays, all))
  const point = byAlpha.reduce<Candidate | undefined>((b, c) => (c && (!b || c.sse < b.sse) ? c : b), undefined)
  const best = point
  // residuals of a daily cycle that changes with the weather are correlated: n readings then
  // carry the information of fewer, and the F statistic is deflated by (1 − ρ)/(1 + ρ)
  const dof = n - (pr.H + 4)
  const rho = best ? residualCorrelation(pr, best) : 0
  const f = best ? (((steady.sse - best.sse) / 3 / (best.sse / dof)) * (1 - rho)) / (1 + rho) : 0
  const fText = Number.isFinite(f) ? f.toFixed(1) : '∞'
  if (!point || !(f >= params.minF)) {
    return { ...base, reason: 'NOT_ACCELERATING', why: `未检出加速变形 (加速模型 F = ${best ? fText : '—'}, 需 ≥ ${params.minF}); 速度 ${steadyVelocity.toFixed(2)} mm/d`, velocity: steadyVelocity, f }
  }
  const velocity = point.coef[1]! * point.days ** (-1 / (point.alpha - 1))
  if (!(velocity > params.noiseFloor)) {
    return { ...base, reason: 'BELOW_NOISE_FLOOR', why: `速度 ${velocity.toFixed(2)} mm/d 未超过噪声阈值 ${params.noiseFloor} mm/d`, velocity, f }
  }
  const moved = point.coef[1]! * (basis(point.alpha, point.days) - basis(point.alpha, point.days - x[0]!))
  if (!(moved >= params.minMovement)) {
    return { ...base, reason: 'BELOW_NOISE_FLOOR', why: `拟合位移 ${moved.toFixed(1)} mm 未超过 ${params.minMovement} mm (日周期与噪声的范围)`, velocity, f }
  }
  // the data asking for a failure sooner than the nearest candidate is a bump in the newest few
  // readings (the afternoon peak of the daily cycle, a gust), not yet an acceleration: the next
  // readings confirm it; a real failure has been forecast long before it gets this close
  if (point.days <= FIRST_CANDIDATE * STEP) {
    return { ...base, reason: 'UNCONFIRMED', why: `加速仅见于最近几个测点, 待后续数据确认 (F = ${fText})`, velocity, f }
  }
  // the levelling-off alternative (a rain pulse's rise, concave) against the unbounded law (convex):
  // it must fit better by more than noise does (an F of one parameter, deflated as above), or a
  // window too short to tell the two apart would veto true accelerations by chance
  const levelling = (((point.sse - levellingOffSse(pr)) / (point.sse / dof)) * (1 - rho)) / (1 + rho)
  if (levelling >= LEVELLING_F) {
    return { ...base, reason: 'LEVELLING_OFF', why: `速度增长趋缓, 趋于上限 (回落型变形的上升段, 拟合优于加速模型 F = ${levelling.toFixed(1)}): 不预测失稳`, velocity, f }
  }
  // the trend now, against the trend over the last days (short and long averages of velocity,
  // Dick et al. 2015; Carlà et al. 2017): a movement that has begun to slow down is regressive
  // (after rain or a blast), whatever shape the whole window has, and forecasts nothing
  const trend = detrended(pr, point)
  const recent = slopeSince(x, trend, -SHORT_DAYS)
  const longer = slopeSince(x, trend, -LONG_DAYS)
  // slower by more than the short slope's own noise (two standard errors): at a few mm/d the
  // slope of 12 hours scatters by about 1 mm/d, and a true acceleration must not read as slowing
  if (recent.slope + 2 * recent.se < DECELERATION * longer.slope) {
    return {
      ...base,
      reason: 'DECELERATING',
      why: `变形正在减速 (近 ${SHORT_DAYS * 24} h ${recent.slope.toFixed(1)} mm/d, 近 ${LONG_DAYS * 24} h ${longer.slope.toFixed(1)} mm/d): 回落型变形, 不预测失稳`,
      velocity: recent.slope,
      f,
    }
  }
  if (point.days * STEP > params.horizonDays) {
    return { ...base, reason: 'BEYOND_HORIZON', why: `加速, 但 ${params.horizonDays} d 内无失稳迹象 (F = ${fText})`, velocity, f }
  }
  // the data rarely tell α from the failure time (the two trade off): rather than the single best
  // α, each α of the field range counts by its likelihood (model averaging, in log time left)
  const scale = (2 * (best!.sse / dof) * (1 + rho)) / (1 - rho)
  let wSum = 0
  let logSum = 0
  for (const c of byAlpha) {
    if (!c) continue
    const w = Math.exp(-(c.sse - best!.sse) / scale)
    wSum += w
    logSum += w * Math.log(c.days)
  }
  const days = Math.exp(logSum / wSum)
  // the interval: every (α, t_f) within an F margin of the best, the margin widened for correlated
  // residuals as the F test is, and the ends by half the candidates' spacing
  const limit = best!.sse * (1 + ((2 * F_INTERVAL) / dof) * ((1 + rho) / (1 - rho)))
  let earliest = days
  let latest = days
  // the margin: the earliest failure the data allow for any α up to `safeAlpha`. A larger α than
  // the fitted one gives an earlier failure (the same rise of velocity reached with a gentler
  // power), so this covers an α up to 2.2 where the data cannot rule it out, and adds nothing
  // where they can (for α = 1.5, assuming 2.2 would put the failure at 0.4 of the time left)
  let safeDays = days
  for (const c of all) {
    if (c.sse > limit) continue
    earliest = Math.min(earliest, c.days)
    latest = Math.max(latest, c.days)
    if (c.alpha <= params.safeAlpha) safeDays = Math.min(safeDays, c.days)
  }
  earliest /= Math.sqrt(STEP)
  latest *= Math.sqrt(STEP)
  const hoursLeft = days * 24
  const safeHoursLeft = safeDays * 24
  return {
    ...base,
    reason: 'FORECAST',
    why: `Voight 加速模型预测 ${hoursLeft.toFixed(1)} h 后失稳 (拟合 α = ${point.alpha.toFixed(1)}; 按 α = ${params.safeAlpha} 留余量 ${safeHoursLeft.toFixed(1)} h), 区间 ${(earliest * 24).toFixed(1)}–${(latest * 24).toFixed(1)} h, F = ${fText}`,
    velocity,
    f,
    alpha: point.alpha,
    failureTs: now + days * DAY,
    hoursLeft,
    safeTs: now + safeHoursLeft * 3_600_000,
    safeHoursLeft,
    earliestTs: now + earliest * DAY,
    latestTs: now + latest * DAY,
  }
}
