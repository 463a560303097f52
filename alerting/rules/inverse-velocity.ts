import { z } from 'zod'
import { alongMovement } from './kinematics/direction.js'
import { EMPTY_TRACK, feed, stepsSchema, type Point, type TrackState } from './kinematics/steps.js'
import { binMeans } from './kinematics/least-squares.js'
import { forecastFailure, type Forecast } from './kinematics/voight.js'
import { clearAfterSchema, monotone, persistenceSchema, specOf, thresholdsSchema } from './levels.js'
import { INITIAL_LEVEL_RULE, componentsOf, judge, pushWindow, sourceSchema, type LevelRuleState } from './series.js'
import type { Evaluate } from './types.js'

export type { Forecast, ForecastReason } from './kinematics/voight.js'

/**
 * inverseVelocity (docs/slope-warnings.md): the failure forecast of the accelerating (tertiary)
 * stage, Voight's law dv/dt = A·v^α (Fukuzono 1985 for α = 2; Voight 1988, 1989), fitted to the
 * displacement along the direction of movement with the daily cycle fitted alongside
 * (kinematics/voight.ts), so that the noise and cycle of a real prism do not drown it the way
 * they drown 1/v from short velocity fits (Carlà et al. 2017).
 *
 * Nothing is forecast until acceleration beats steady movement (the onset test) and a rise that
 * levels off (a rain pulse); every evaluation says why it did or did not forecast. Levels are set
 * on the earliest failure the data allow for any α up to `safeAlpha` (2.2, the top of the field
 * range): the forecast of α = 2 is late for any α above 2, and this margin keeps the warning early
 * for every α up to 2.2 that the data cannot rule out. Steps are bridged first.
 */
export const inverseVelocityRuleSchema = z
  .object({
    kind: z.literal('inverseVelocity'),
    id: z.string().min(1),
    source: sourceSchema.default({ derived: 'total' }),
    /**
     * Seconds of readings fitted. Ten days: α and the failure time trade off in a fit, and only a
     * long stretch of the accelerating stage tells them apart. The information bound says so
     * (docs/slope-warnings.md, "How well the data can know the failure time"): at 24 h lead, with
     * σ = 0.5 mm and α = 2.2 fitted, the failure time's standard deviation is about 16 h on 6 days
     * of a slow start and 9 h on 9 days; shorter windows are tried too (see WINDOWS_DAYS).
     */
    window: z
      .number()
      .positive()
      .default(10 * 86_400),
    /** Seconds between fits (each costs about 10 ms): a forecast of a day or more changes little in 30 minutes. */
    every: z.number().positive().default(1800),
    /** Readings the window needs before anything is forecast. */
    minPoints: z.int().min(8).default(24),
    /** F statistic acceleration must reach against steady movement (corrected for correlated residuals). */
    minF: z.number().positive().default(20),
    /** mm/d: below this the movement is within the instrument's noise, and nothing is forecast. */
    noiseFloor: z.number().nonnegative().default(1),
    /** mm the fitted movement over the window must exceed: the band the daily cycle and noise fill. */
    minMovement: z.number().nonnegative().default(5),
    /** Days: failure times further away than this are not forecast. */
    horizonDays: z.number().positive().default(30),
    /** The largest α allowed for: levels are judged on the earliest failure the data allow for α up to this. */
    safeAlpha: z.number().min(2).max(3).default(2.2),
    /**
     * Seconds a forecast must have stood, fit after fit, before it sets a level: a rain pulse's
     * rise looks like acceleration for some hours, then slows down (DECELERATING); an
     * accelerating stage that ends in failure is forecast for days before it.
     */
    confirm: z
      .number()
      .nonnegative()
      .default(24 * 3600),
    /**
     * Seconds of fits that do not forecast which do not restart the confirmation: near its end a
     * true acceleration's fit now and then misses for a few hours (the noise reads as slowing for
     * an afternoon), while a rain pulse stops forecasting for a day or more once it levels off.
     * Hours without readings are not counted: a gap says nothing.
     */
    confirmGap: z
      .number()
      .nonnegative()
      .default(6 * 3600),
    /** Hours left before the forecast failure time (by `safeAlpha`). */
    thresholds: thresholdsSchema.default({ yellow: 168, orange: 72, red: 24 }),
    /** Hours: a forecast must move this far past a level's threshold to lower it (noise moves it a few hours). */
    clearMargin: z.number().nonnegative().default(12),
    clearAfter: clearAfterSchema.default(6 * 3600),
    persistence: persistenceSchema,
    steps: stepsSchema.default({ minStep: 5, sigmas: 6, confirm: 3 }),
    basis: z.string().default('Voight 加速蠕变模型 (Fukuzono 反速度法的推广), 按 α = 2.2 留余量'),
  })
  .strict()
  .refine((r) => monotone(r.thresholds, 'below'), { message: 'hours left must shrink from blue to red', path: ['thresholds'] })

export type InverseVelocityRule = z.infer<typeof inverseVelocityRuleSchema>

/** One forecast as kept for the trend: made at, central failure time, with the margin, earliest, latest. */
export type ForecastPoint = readonly [ts: number, failureTs: number, safeTs: number, earliestTs: number, latestTs: number]

export interface InverseVelocityState extends LevelRuleState {
  readonly track: TrackState<Point>
  /** When the fit last ran. */
  readonly evaluatedAt: number
  /** Since when the fits have forecast a failure, with no pause longer than `confirmGap` (0: none now). */
  readonly forecastSince: number
  /** Since when the fits have not forecast (0: the last one did); a gap in the readings is not a pause. */
  readonly pausedSince?: number
  readonly last: Forecast | null
  /** The forecasts of the last days, oldest first: how the predicted failure time converged. */
  readonly history: readonly ForecastPoint[]
}

export const initialInverseVelocity = (): InverseVelocityState => ({
  level: INITIAL_LEVEL_RULE.level,
  lastTs: INITIAL_LEVEL_RULE.lastTs,
  track: EMPTY_TRACK,
  evaluatedAt: 0,
  forecastSince: 0,
  pausedSince: 0,
  last: null,
  history: [],
})

/** The fit takes 40-minute means of the readings. */
const BIN_MS = 40 * 60_000
/**
 * Readings the window keeps: every one (10 days of 10-minute readings; of 5-minute ones, the last 7 days), not one per half hour as the
 * rate rules keep. The fit's 40-minute means are what tell a slow acceleration from noise and the
 * daily cycle; thinning to one reading per mean doubles their noise and cost a day of lead on the
 * slowest (α = 2.2) test series. Readings of a burst (a round measured again within minutes) count once.
 */
const MAX_POINTS = 2000
const BURST_MS = 4 * 60_000
/** Forecasts kept for the trend. */
const HISTORY = 200

/** Days of the trailing windows tried, up to the rule's `window`. */
const WINDOWS_DAYS = [2, 4, 6]

/**
 * The forecast on a window of bridged points (components). Pure. A long window tells α from the
 * failure time best, but one that reaches back past the start of the accelerating stage (a slope
 * that crept for weeks, then began to accelerate) mixes two regimes the model cannot fit; so
 * trailing windows of 2, 4, 6 and 10 days are tried, and the one whose acceleration stands out most
 * (the largest F, which a misfit's correlated residuals deflate) is the forecast.
 */
export function forecast(
  points: readonly Point[],
  rule: Pick<InverseVelocityRule, 'window' | 'minPoints' | 'minF' | 'noiseFloor' | 'minMovement' | 'horizonDays' | 'safeAlpha'>,
): Forecast & { direction?: number[]; windowDays?: number } {
  const { samples, direction } = alongMovement(points)
  const now = samples.at(-1)?.[0] ?? 0
  const days = [...WINDOWS_DAYS.filter((d) => d * 86_400 < rule.window), rule.window / 86_400]
  let chosen: (Forecast & { windowDays: number }) | undefined
  for (const d of days) {
    const from = now - d * 86_400_000
    const f = forecastFailure(
      binMeans(
        samples.filter(([t]) => t > from),
        BIN_MS,
      ),
      { ...rule, window: d * 86_400 },
    )
    // a movement slowing down is regressive whatever window shows it (the trend now is the same data in each)
    if (f.reason === 'DECELERATING') {
      chosen = { ...f, windowDays: d }
      break
    }
    // a window that forecasts (having beaten steady movement and a rise that levels off) wins over
    // one that does not: a long window that reaches back past a sudden onset sees a jump in
    // velocity that the law cannot fit and a ceiling can, while the days since are plain
    // acceleration; among forecasts, the clearest acceleration (largest F) wins
    const better = !chosen || (f.reason === 'FORECAST' && (chosen.reason !== 'FORECAST' || (f.f ?? 0) > (chosen.f ?? 0))) || (chosen.reason !== 'FORECAST' && (f.f ?? -1) > (chosen.f ?? -1))
    if (better) chosen = { ...f, windowDays: d }
  }
  const f = chosen!
  // the forecast is made with the newest reading, whichever bin it fell in
  return { ...f, ts: now, ...(f.failureTs !== undefined ? { hoursLeft: (f.failureTs - now) / 3_600_000, safeHoursLeft: (f.safeTs! - now) / 3_600_000 } : {}), direction }
}

/**
 * Whether a forecast has stood long enough to set a level. Pure. The count starts at the first fit
 * that forecasts and restarts once the fits have said "no failure" for longer than `confirmGap`;
 * hours without readings (a gap) say nothing either way.
 */
export function confirmation(
  state: Pick<InverseVelocityState, 'forecastSince' | 'pausedSince'>,
  forecasting: boolean,
  ts: number,
  rule: Pick<InverseVelocityRule, 'confirm' | 'confirmGap'>,
): { forecastSince: number; pausedSince: number; confirmed: boolean } {
  const pausedSince = forecasting ? 0 : state.pausedSince || ts
  const forecastSince = forecasting ? state.forecastSince || ts : ts - pausedSince > rule.confirmGap * 1000 ? 0 : state.forecastSince
  return { forecastSince, pausedSince, confirmed: forecasting && forecastSince > 0 && ts - forecastSince >= rule.confirm * 1000 }
}

export const evaluateInverseVelocity: Evaluate<InverseVelocityRule, InverseVelocityState> = (saved, reading, rule) => {
  // a snapshot from before the forecast worked on components starts afresh
  const state = 'track' in saved ? saved : initialInverseVelocity()
  const values = componentsOf(reading, rule.source)
  if (values === undefined || reading.ts <= state.lastTs) return { state, events: [] }
  const windowMs = rule.window * 1000
  const fed = feed(state.track, reading.ts, values, rule.steps, (points, p) => pushWindow(points, p, windowMs, MAX_POINTS, BURST_MS))
  // every reading comes here: a literal in the state's field order, not a spread (track.ts, trackState)
  const next: InverseVelocityState = {
    level: state.level,
    lastTs: reading.ts,
    track: fed.state,
    evaluatedAt: state.evaluatedAt,
    forecastSince: state.forecastSince,
    pausedSince: state.pausedSince ?? 0,
    last: state.last,
    history: state.history,
  }
  if (fed.added.length === 0 || reading.ts - state.evaluatedAt < rule.every * 1000) return { state: next, events: [] }
  const f = forecast(fed.state.samples, rule)
  const history = f.reason === 'FORECAST' ? [...state.history, [f.ts, f.failureTs!, f.safeTs!, f.earliestTs!, f.latestTs!] as const].slice(-HISTORY) : state.history
  // too little to judge, or a bump in the newest readings waiting for the next: the level stands
  if (f.reason === 'TOO_FEW_POINTS' || f.reason === 'UNCONFIRMED') return { state: { ...next, evaluatedAt: reading.ts, last: f, history }, events: [] }
  const { forecastSince, pausedSince, confirmed } = confirmation(state, f.reason === 'FORECAST', reading.ts, rule)
  const evaluated = { ...next, evaluatedAt: reading.ts, forecastSince, pausedSince, last: f, history }
  const hours = confirmed ? f.safeHoursLeft! : Number.POSITIVE_INFINITY
  const { direction: _direction, ...evidence } = f
  const { level, events } = judge(state.level, hours, reading.ts, specOf(rule, 'below'), rule.id, 'h', { ...evidence, forecastSince })
  return { state: { ...evaluated, level }, events }
}
