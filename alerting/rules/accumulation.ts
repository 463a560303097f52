import { z } from 'zod'
import { monotone, persistenceSchema, thresholdsSchema } from './levels.js'
import { INITIAL_LEVEL_RULE, judge, pushWindow, sourceSchema, unitOf, valueOf, type LevelRuleState, type Sample } from './series.js'
import type { Evaluate } from './types.js'

/**
 * accumulation: the sum over a rolling window, for rainfall (each reading is the rain
 * since the previous one). Windows of 1 h, 12 h and 24 h are the meteorological ones; the default
 * is yellow at 50 mm in 24 h, the 暴雨 amount (GB/T 28592-2012; GB 51108-2015 §8.3.7).
 */
export const accumulationRuleSchema = z
  .object({
    kind: z.literal('accumulation'),
    id: z.string().min(1),
    source: sourceSchema.default({ metric: 'rainfall' }),
    /** Rolling window, seconds (3600, 43200, 86400). */
    window: z.number().positive().default(86_400),
    thresholds: thresholdsSchema.default({ yellow: 50 }),
    clearMargin: z.number().nonnegative().default(0),
    persistence: persistenceSchema,
    basis: z.string().default('暴雨 50 mm/24 h (GB/T 28592-2012, GB 51108-2015 §8.3.7)'),
  })
  .strict()
  .refine((r) => monotone(r.thresholds, 'above'), { message: 'thresholds must grow from blue to red', path: ['thresholds'] })

export type AccumulationRule = z.infer<typeof accumulationRuleSchema>

export interface AccumulationState extends LevelRuleState {
  readonly samples: readonly Sample[]
}

export const initialAccumulation = (): AccumulationState => ({ ...INITIAL_LEVEL_RULE, samples: [] })

export const evaluateAccumulation: Evaluate<AccumulationRule, AccumulationState> = (state, reading, rule) => {
  const value = valueOf(reading, rule.source)
  if (value === undefined || reading.ts <= state.lastTs) return { state, events: [] }
  // the window holds readings in (ts − window, ts]; up to 24 h of 1-minute rain readings
  const samples = pushWindow(state.samples, [reading.ts, value], rule.window * 1000, 2000)
  const sum = samples.reduce((s, [, v]) => s + v, 0)
  const { level, events } = judge(state.level, sum, reading.ts, { ...rule, direction: 'above' }, rule.id, unitOf(reading, rule.source), {
    windowSeconds: rule.window,
    readings: samples.length,
  })
  return { state: { level, samples, lastTs: reading.ts, judged: sum }, events }
}
