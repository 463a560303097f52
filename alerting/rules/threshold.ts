import { z } from 'zod'
import { monotone, persistenceSchema, thresholdsSchema } from './levels.js'
import { INITIAL_LEVEL_RULE, judge, sourceSchema, unitOf, valueOf, type LevelRuleState } from './series.js'
import type { Evaluate } from './types.js'

/**
 * threshold (README, "Warnings"): a value above (or below) up to four level thresholds, with a clear
 * margin and optional persistence. E.g. phreatic burial depth below its red control depth, with
 * orange at 1.1 × red (GB 51108-2015 §8.3.4); a pond level above its flood-season control level.
 */
export const thresholdRuleSchema = z
  .object({
    kind: z.literal('threshold'),
    id: z.string().min(1),
    source: sourceSchema,
    direction: z.enum(['above', 'below']).default('above'),
    thresholds: thresholdsSchema,
    clearMargin: z.number().nonnegative().default(0),
    persistence: persistenceSchema,
    /** Where the numbers come from (design institute, standard clause): shown with the alert. */
    basis: z.string().optional(),
  })
  .strict()
  .refine((r) => monotone(r.thresholds, r.direction), { message: 'thresholds must grow more extreme from blue to red in the rule direction', path: ['thresholds'] })

export type ThresholdRule = z.infer<typeof thresholdRuleSchema>

export const initialThreshold = (): LevelRuleState => INITIAL_LEVEL_RULE

export const evaluateThreshold: Evaluate<ThresholdRule, LevelRuleState> = (state, reading, rule) => {
  const value = valueOf(reading, rule.source)
  if (value === undefined || reading.ts <= state.lastTs) return { state, events: [] }
  const { level, events } = judge(state.level, value, reading.ts, rule, rule.id, unitOf(reading, rule.source))
  return { state: { level, lastTs: reading.ts, judged: value }, events }
}
