import { median, medianAbsoluteDeviation } from 'simple-statistics'
import { z } from 'zod'
import { INITIAL_CONDITION, conditionFields, judgeCondition, type ConditionState } from './condition.js'
import { sourceSchema, valueOf, type Sample } from './series.js'
import type { Evaluate } from './types.js'

/**
 * dataQuality: a sensor that is stuck (the same value `flatReadings` times in a row)
 * or that spikes (a robust z-score of the step from the last good reading against the steps of the
 * last `window` readings, |step − median| / (1.4826 · MAD), above `spikeZ`). Bad data is a fault to fix (GB 51108-2015 §10.0.1–10.0.4), reported
 * apart from the signal's warnings, blue by default.
 */
export const dataQualityRuleSchema = z
  .object({
    kind: z.literal('dataQuality'),
    ...conditionFields,
    level: conditionFields.level.default('blue'),
    source: sourceSchema,
    flatReadings: z.int().min(3).default(12),
    window: z.int().min(5).default(20),
    spikeZ: z.number().positive().default(6),
    basis: z.string().default('数据质量: 数值长时间不变或突跳'),
  })
  .strict()

export type DataQualityRule = z.infer<typeof dataQualityRuleSchema>

export interface DataQualityState extends ConditionState {
  readonly samples: readonly Sample[]
}

export const initialDataQuality = (): DataQualityState => ({ ...INITIAL_CONDITION, samples: [] })

/** 1.4826 · MAD estimates σ for normal data. */
const MAD_TO_SIGMA = 1.4826

export const evaluateDataQuality: Evaluate<DataQualityRule, DataQualityState> = (state, reading, rule) => {
  const x = valueOf(reading, rule.source)
  if (x === undefined || reading.ts <= state.lastTs) return { state, events: [] }
  const history = state.samples.map(([, v]) => v)
  const recent = [...history.slice(-(rule.flatReadings - 1)), x]
  const flat = recent.length >= rule.flatReadings && recent.every((v) => v === x)
  // a spike is a jump no step of the recent past comes near: judged on the steps between readings,
  // so that a fast but steady change (a pond filling in a storm) is not taken for one
  let z = 0
  if (history.length >= 6) {
    const steps = history.slice(1).map((v, i) => v - history[i]!)
    const spread = MAD_TO_SIGMA * medianAbsoluteDeviation(steps)
    // with no spread at all (a sensor that was stuck) there is no scale to call anything a spike
    z = spread > 0 ? Math.abs(x - history.at(-1)! - median(steps)) / spread : 0
  }
  const spike = !flat && z > rule.spikeZ
  // a spike is judged against the good data: it does not join the window it is judged by
  const samples = (spike ? state.samples : [...state.samples, [reading.ts, x] as const]).slice(-Math.max(rule.window, rule.flatReadings))
  const { level, events } = judgeCondition(state.level, flat || spike, reading.ts, rule, { problem: flat ? 'flat' : spike ? 'spike' : null, value: x, z })
  return { state: { level, samples, lastTs: reading.ts }, events: events.map((e) => ({ ...e, value: x })) }
}
