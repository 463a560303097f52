import { z } from 'zod'
import { velocity } from './kinematics/least-squares.js'
import { EMPTY_TRACK, feed, stepsSchema, type TrackState } from './kinematics/steps.js'
import { clearAfterSchema, monotone, persistenceSchema, specOf, thresholdsSchema } from './levels.js'
import { INITIAL_LEVEL_RULE, WINDOW_SAMPLES, judge, pushWindow, sourceSchema, unitOf, valueOf, type LevelRuleState } from './series.js'
import type { Evaluate } from './types.js'

/**
 * rate: velocity as the least-squares slope of the value over a trailing time window,
 * in units per day or per hour; levels on its magnitude (a slope moving either way is movement).
 * Reference rates from slope practice: > 10 mm/d mean, ≥ 5 mm/h on a working slope. A slope
 * needs `minPoints` readings spanning at least half the window before it is judged, so that two
 * noisy points a minute apart cannot raise a warning.
 *
 * Real instruments (docs/slope-warnings.md): with `dailyCycle` (default) and a window of 18 h
 * or more, the daily thermal/refraction cycle is fitted alongside the slope (harmonic regression),
 * so that a ±1.5 mm swing does not add ±3 mm/d; shorter windows cannot tell a cycle from a trend,
 * and their thresholds (5 mm/h) lie far above a cycle's 0.4 mm/h. With `steps`, a re-set or
 * re-targeting step is bridged (a data-quality event, rule `step`) and single outliers are left
 * out, so neither reads as velocity.
 */
export const rateRuleSchema = z
  .object({
    kind: z.literal('rate'),
    id: z.string().min(1),
    source: sourceSchema,
    /** Trailing window, seconds. */
    window: z.number().positive(),
    per: z.enum(['day', 'hour']).default('day'),
    thresholds: thresholdsSchema,
    clearMargin: z.number().nonnegative().default(0),
    persistence: persistenceSchema,
    clearAfter: clearAfterSchema.optional(),
    minPoints: z.int().min(2).default(3),
    dailyCycle: z.boolean().default(true),
    steps: stepsSchema.optional(),
    basis: z.string().optional(),
  })
  .strict()
  .refine((r) => monotone(r.thresholds, 'above'), { message: 'thresholds must grow from blue to red', path: ['thresholds'] })

export type RateRule = z.infer<typeof rateRuleSchema>

export interface RateState extends LevelRuleState {
  readonly track: TrackState
}

export const initialRate = (): RateState => ({ level: INITIAL_LEVEL_RULE.level, lastTs: INITIAL_LEVEL_RULE.lastTs, track: EMPTY_TRACK, judged: undefined })

const PER_MS = { day: 86_400_000, hour: 3_600_000 }
/** A window this long or longer has the daily cycle fitted out. */
const CYCLE_WINDOW_MS = 18 * 3_600_000
/** The share of its window a cycle-fitting window must span before it is judged (a day less 2.4 h). */
const FULL_CYCLE = 0.9

export const evaluateRate: Evaluate<RateRule, RateState> = (state, reading, rule) => {
  const value = valueOf(reading, rule.source)
  if (value === undefined || reading.ts <= state.lastTs) return { state, events: [] }
  const windowMs = rule.window * 1000
  const fed = feed(state.track, reading.ts, value, rule.steps, (samples, s) => pushWindow(samples, s, windowMs, 2 * WINDOW_SAMPLES, windowMs / WINDOW_SAMPLES))
  // states are literals in one field order, never spread (track.ts, trackState)
  const held = (): RateState => ({ level: state.level, lastTs: reading.ts, track: fed.state, judged: state.judged })
  // a held reading (a possible step or outlier) is judged when the next ones tell which it was
  if (fed.added.length === 0) return { state: held(), events: [] }
  const samples = fed.state.samples
  const span = samples.at(-1)![0] - samples[0]![0]
  // a window that fits the daily cycle is judged only once it spans nearly a whole one: over part
  // of a day a cycle and a trend trade off (a GNSS station's ±4 mm multipath read as 10 mm/d in
  // its first 18 hours); a shorter window needs half its length
  const cycleWindow = rule.dailyCycle && windowMs >= CYCLE_WINDOW_MS
  if (samples.length < rule.minPoints || span < (cycleWindow ? Math.max(windowMs / 2, FULL_CYCLE * windowMs) : windowMs / 2)) return { state: held(), events: [] }
  const cycle = cycleWindow && span >= CYCLE_WINDOW_MS
  const v = (velocity(samples, cycle) * PER_MS[rule.per]) / PER_MS.day
  if (!Number.isFinite(v)) return { state: held(), events: [] }
  const unit = `${unitOf(reading, rule.source)}/${rule.per === 'day' ? 'd' : 'h'}`
  const { level, events } = judge(state.level, Math.abs(v), reading.ts, specOf(rule, 'above'), rule.id, unit, {
    velocity: v,
    points: samples.length,
    spanSeconds: span / 1000,
    dailyCycle: cycle,
  })
  return { state: { level, lastTs: reading.ts, track: fed.state, judged: v }, events }
}
