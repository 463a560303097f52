import { z } from 'zod'
import { monotone, persistenceSchema, thresholdsSchema } from './levels.js'
import { INITIAL_LEVEL_RULE, WINDOW_SAMPLES, judge, pushWindow, slope, sourceSchema, unitOf, valueOf, type LevelRuleState, type Sample } from './series.js'
import type { Evaluate } from './types.js'

/**
 * rate (DESIGN §4): velocity as the least-squares slope of the value over a trailing time window,
 * in units per day or per hour; levels on its magnitude (a slope moving either way is movement).
 * Reference rates from slope practice: > 10 mm/d mean, ≥ 5 mm/h on a working slope. A slope
 * needs `minPoints` readings spanning at least half the window before it is judged, so that two
 * noisy points a minute apart cannot raise a warning.
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
    minPoints: z.int().min(2).default(3),
    basis: z.string().optional(),
  })
  .strict()
  .refine((r) => monotone(r.thresholds, 'above'), { message: 'thresholds must grow from blue to red', path: ['thresholds'] })

export type RateRule = z.infer<typeof rateRuleSchema>

export interface RateState extends LevelRuleState {
  readonly samples: readonly Sample[]
}

export const initialRate = (): RateState => ({ ...INITIAL_LEVEL_RULE, samples: [] })

const PER_MS = { day: 86_400_000, hour: 3_600_000 }

export const evaluateRate: Evaluate<RateRule, RateState> = (state, reading, rule) => {
  const value = valueOf(reading, rule.source)
  if (value === undefined || reading.ts <= state.lastTs) return { state, events: [] }
  const windowMs = rule.window * 1000
  const samples = pushWindow(state.samples, [reading.ts, value], windowMs, 2 * WINDOW_SAMPLES, windowMs / WINDOW_SAMPLES)
  const base = { samples, lastTs: reading.ts }
  const span = samples.at(-1)![0] - samples[0]![0]
  if (samples.length < rule.minPoints || span < windowMs / 2) return { state: { ...base, level: state.level }, events: [] }
  const velocity = slope(samples) * PER_MS[rule.per]
  const unit = `${unitOf(reading, rule.source)}/${rule.per === 'day' ? 'd' : 'h'}`
  const { level, events } = judge(state.level, Math.abs(velocity), reading.ts, { ...rule, direction: 'above' }, rule.id, unit, { velocity, points: samples.length, spanSeconds: span / 1000 })
  return { state: { ...base, level }, events }
}
