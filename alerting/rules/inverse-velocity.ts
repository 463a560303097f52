import { z } from 'zod'
import { monotone, persistenceSchema, thresholdsSchema } from './levels.js'
import { INITIAL_LEVEL_RULE, WINDOW_SAMPLES, judge, pushWindow, slope, sourceSchema, valueOf, type LevelRuleState, type Sample } from './series.js'
import type { Evaluate } from './types.js'

/**
 * inverseVelocity (DESIGN §4): Fukuzono's method (Fukuzono 1985; Voight 1988). In the accelerating
 * (tertiary) stage of a slope failure with α ≈ 2, the inverse of the velocity falls linearly with
 * time and reaches zero at the failure time. So: velocities from a sliding least-squares slope of
 * the displacement (which smooths the noise of single differences), a straight line fitted to
 * 1/v over the last `fitPoints` of them, and the forecast where that line crosses zero.
 *
 * A forecast is made only when the velocity is above the noise floor, 1/v is falling and the fit
 * is good (R²); every evaluation says which gate it stopped at. 1/v is fitted by weighted least
 * squares: each velocity has about the same error, so 1/v has an error ∝ 1/v², and the weight
 * v⁴ (inverse variance) keeps the slow, noisiest points from steering the line. Levels are set on the hours left
 * (default red < 24 h, orange < 72 h, yellow < 168 h), and the forecast goes with the alert.
 */
export const inverseVelocityRuleSchema = z
  .object({
    kind: z.literal('inverseVelocity'),
    id: z.string().min(1),
    source: sourceSchema.default({ derived: 'total' }),
    /**
     * Readings kept for the method, seconds of history: enough for velocityPoints + fitPoints − 1
     * readings at the slowest reporting interval in use (4 days covers 12 readings 6 h apart).
     */
    window: z.number().positive().default(4 * 86_400),
    /** Readings per velocity estimate (a sliding least-squares slope: 4 halves the noise of 2). */
    velocityPoints: z.int().min(2).default(4),
    /**
     * Velocity estimates in the 1/v fit, the trailing stretch that must be accelerating. With the
     * defaults a forecast needs 12 readings (4 + 9 − 1) of the accelerating stage.
     */
    fitPoints: z.int().min(3).default(9),
    /** Seconds: with frequent readings, the fit takes every run that ends in this trailing span. */
    fitWindow: z.number().positive().default(86_400),
    /** mm/d: below this the movement is within the instrument's noise, and nothing is forecast. */
    noiseFloor: z.number().nonnegative().default(1),
    minR2: z.number().min(0).max(1).default(0.8),
    /** Hours left before the forecast failure time. */
    thresholds: thresholdsSchema.default({ yellow: 168, orange: 72, red: 24 }),
    /** Hours: a forecast must move this far past a level's threshold to lower it (noise moves it a few hours). */
    clearMargin: z.number().nonnegative().default(12),
    persistence: persistenceSchema,
    basis: z.string().default('Fukuzono 反速度法 (α = 2)'),
  })
  .strict()
  .refine((r) => monotone(r.thresholds, 'below'), { message: 'hours left must shrink from blue to red', path: ['thresholds'] })

export type InverseVelocityRule = z.infer<typeof inverseVelocityRuleSchema>

export type ForecastReason = 'TOO_FEW_POINTS' | 'BELOW_NOISE_FLOOR' | 'NOT_ACCELERATING' | 'POOR_FIT' | 'FORECAST'

export interface Forecast {
  readonly reason: ForecastReason
  /** Why, in words (Chinese first, for the alert record). */
  readonly why: string
  readonly velocity?: number
  readonly r2?: number
  readonly failureTs?: number
  readonly hoursLeft?: number
}

export interface InverseVelocityState extends LevelRuleState {
  readonly samples: readonly Sample[]
  readonly last: Forecast | null
}

export const initialInverseVelocity = (): InverseVelocityState => ({ ...INITIAL_LEVEL_RULE, samples: [], last: null })

const DAY = 86_400_000

/** The method itself, on [ts, displacement mm] samples. Pure. */
export function forecast(samples: readonly Sample[], rule: Pick<InverseVelocityRule, 'velocityPoints' | 'fitPoints' | 'fitWindow' | 'noiseFloor' | 'minR2'>): Forecast {
  const k = rule.velocityPoints
  const needed = k + rule.fitPoints - 1
  if (samples.length < needed) return { reason: 'TOO_FEW_POINTS', why: `数据不足: ${samples.length} 个测点, 需 ${needed} 个` }
  const t0 = samples[0]![0]
  // the fit takes the runs ending in the last fitWindow, and never fewer than fitPoints of them:
  // dense readings give a long stretch to extrapolate from, sparse ones still give a forecast
  const since = samples.at(-1)![0] - rule.fitWindow * 1000
  let first = samples.length - rule.fitPoints
  while (first > k - 1 && samples[first - 1]![0] >= since) first--
  // velocity (mm/d) of each run of k readings, placed at the run's mean time: a least-squares
  // slope estimates the velocity there, and placing it at the run's end would push the forecast late
  const velocities: [number, number][] = []
  for (let i = first; i < samples.length; i++) {
    let mean = 0
    for (let j = i - k + 1; j <= i; j++) mean += (samples[j]![0] - t0) / DAY
    velocities.push([mean / k, slope(samples, i - k + 1, i + 1) * DAY])
  }
  const latest = velocities.at(-1)![1]
  if (!(latest > rule.noiseFloor)) {
    return { reason: 'BELOW_NOISE_FLOOR', why: `速度 ${latest.toFixed(2)} mm/d 未超过噪声阈值 ${rule.noiseFloor} mm/d`, velocity: latest }
  }
  if (velocities.some(([, v]) => v <= 0)) {
    return { reason: 'NOT_ACCELERATING', why: '拟合区间内位移未持续增加', velocity: latest }
  }
  // every velocity carries about the same error σv, so 1/v carries σv/v²: weigh each point by v⁴
  // (inverse variance), or the slow early points, the noisiest in 1/v, would steer the line
  const line = weightedLine(velocities.map(([t, v]) => [t, 1 / v, v ** 4]))
  const r2 = line.r2
  if (!(line.m < 0)) return { reason: 'NOT_ACCELERATING', why: '反速度未随时间下降, 不处于加速变形阶段', velocity: latest, r2 }
  if (!(r2 >= rule.minR2)) return { reason: 'POOR_FIT', why: `反速度线性拟合 R² = ${r2.toFixed(2)}, 低于 ${rule.minR2}`, velocity: latest, r2 }
  const failureTs = t0 + (-line.b / line.m) * DAY
  const hoursLeft = Math.max(0, (failureTs - samples.at(-1)![0]) / 3_600_000)
  return { reason: 'FORECAST', why: `反速度法预测失稳时间距今 ${hoursLeft.toFixed(1)} h (R² = ${r2.toFixed(2)})`, velocity: latest, r2, failureTs, hoursLeft }
}

export const evaluateInverseVelocity: Evaluate<InverseVelocityRule, InverseVelocityState> = (state, reading, rule) => {
  const value = valueOf(reading, rule.source)
  if (value === undefined || reading.ts <= state.lastTs) return { state, events: [] }
  // the fit window holds at most about WINDOW_SAMPLES readings, however often the device reports
  const samples = pushWindow(state.samples, [reading.ts, value], rule.window * 1000, 4 * WINDOW_SAMPLES, (rule.fitWindow * 1000) / WINDOW_SAMPLES)
  const f = forecast(samples, rule)
  // a poor fit says nothing either way: the level stands (it would flap with every noisy reading);
  // a slope back under the noise floor, or no longer accelerating, clears it
  if (f.reason === 'POOR_FIT' || f.reason === 'TOO_FEW_POINTS') return { state: { level: state.level, samples, lastTs: reading.ts, last: f }, events: [] }
  const hours = f.hoursLeft ?? Number.POSITIVE_INFINITY
  const { level, events } = judge(state.level, hours, reading.ts, { ...rule, direction: 'below' }, rule.id, 'h', { ...f })
  return { state: { level, samples, lastTs: reading.ts, last: f }, events }
}

/** Weighted least squares y = m·x + b over [x, y, weight], with the weighted R². */
export function weightedLine(points: readonly (readonly [number, number, number])[]): { m: number; b: number; r2: number } {
  let sw = 0
  let sx = 0
  let sy = 0
  for (const [x, y, w] of points) {
    sw += w
    sx += w * x
    sy += w * y
  }
  const mx = sx / sw
  const my = sy / sw
  let sxy = 0
  let sxx = 0
  let syy = 0
  for (const [x, y, w] of points) {
    sxy += w * (x - mx) * (y - my)
    sxx += w * (x - mx) ** 2
    syy += w * (y - my) ** 2
  }
  const m = sxy / sxx
  const b = my - m * mx
  let sse = 0
  for (const [x, y, w] of points) sse += w * (y - (m * x + b)) ** 2
  return { m, b, r2: syy === 0 ? 0 : 1 - sse / syy }
}
