import { median, medianAbsoluteDeviation } from 'simple-statistics'
import { z } from 'zod'
import { INITIAL_CONDITION, conditionFields, judgeCondition, type ConditionState } from './condition.js'
import { sourceSchema, valueOf, type Sample } from './series.js'
import type { Evaluate } from './types.js'

/**
 * dataQuality: a sensor that is stuck (the same value `flatReadings` times in a row)
 * or that spikes (a robust z-score of the step from the last good reading against the steps of the
 * last `window` readings, |step − median| / (1.4826 · MAD), above `spikeZ`, and then the next
 * reading comes back). Bad data is a fault to fix (GB 51108-2015 §10.0.1–10.0.4), reported
 * apart from the signal's warnings, blue by default.
 *
 * A jump is held until the next reading says what it was: back near the last good value, it was
 * a spike; on from the jump, it was the signal changing faster than it had (a phreatic line
 * starting to rise in a storm), which is the warnings' business, not a fault. So a spike is
 * reported one reading late, and a change of pace is not reported at all.
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
  /** A jump waiting for the next reading to tell a spike from a change (with its z). */
  readonly held?: { readonly sample: Sample; readonly z: number } | null
}

export const initialDataQuality = (): DataQualityState => ({ ...INITIAL_CONDITION, samples: [], held: null })

/** 1.4826 · MAD estimates σ for normal data. */
const MAD_TO_SIGMA = 1.4826

/** Robust z of a new value's step from the last of `history` against the steps within it. */
function spikeZ(history: readonly number[], x: number): number {
  if (history.length < 6) return 0
  const steps = history.slice(1).map((v, i) => v - history[i]!)
  const spread = MAD_TO_SIGMA * medianAbsoluteDeviation(steps)
  // with no spread at all (a sensor that was stuck) there is no scale to call anything a spike
  return spread > 0 ? Math.abs(x - history.at(-1)! - median(steps)) / spread : 0
}

export const evaluateDataQuality: Evaluate<DataQualityRule, DataQualityState> = (state, reading, rule) => {
  const x = valueOf(reading, rule.source)
  if (x === undefined || reading.ts <= state.lastTs) return { state, events: [] }
  const keep = Math.max(rule.window, rule.flatReadings)
  let samples = state.samples
  let spike: { z: number; value: number } | undefined
  const held = state.held ?? null
  if (held) {
    const last = samples.at(-1)![1]
    // back nearer the last good value than the jump: the jump was a spike, and is left out
    if (Math.abs(x - last) < Math.abs(x - held.sample[1])) spike = { z: held.z, value: held.sample[1] }
    else samples = [...samples, held.sample].slice(-keep)
  }
  const history = samples.map(([, v]) => v)
  const recent = [...history.slice(-(rule.flatReadings - 1)), x]
  const flat = recent.length >= rule.flatReadings && recent.every((v) => v === x)
  // judged on the steps between readings, so that a fast but steady change (a pond filling in a
  // storm) is not taken for one
  const z = flat || spike ? 0 : spikeZ(history, x)
  if (z > rule.spikeZ) return { state: { ...state, samples, held: { sample: [reading.ts, x], z }, lastTs: reading.ts }, events: [] }
  const next = [...samples, [reading.ts, x] as const].slice(-keep)
  const { level, events } = judgeCondition(state.level, flat || spike !== undefined, reading.ts, rule, { problem: flat ? 'flat' : spike ? 'spike' : null, value: spike?.value ?? x, z: spike?.z ?? z })
  return { state: { level, samples: next, held: null, lastTs: reading.ts }, events: events.map((e) => ({ ...e, value: spike?.value ?? x })) }
}
