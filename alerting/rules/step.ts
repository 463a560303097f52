import { z } from 'zod'
import { INITIAL_CONDITION, conditionFields, judgeCondition, type ConditionState } from './condition.js'
import { EMPTY_TRACK, feed, stepsSchema, type TrackState } from './kinematics/steps.js'
import { clearAfterSchema } from './levels.js'
import { WINDOW_SAMPLES, pushWindow, sourceSchema, valueOf } from './series.js'
import type { Evaluate } from './types.js'

/**
 * step (docs/slope-warnings.md): a level shift in a displacement series, one reading to the next,
 * with no movement before it and none explaining it (track.ts). A total station re-set or
 * re-targeted, a knocked prism, an antenna moved, or a real slip: only a person can tell, so it is
 * a data-quality warning that asks for a check, and the velocity rules bridge it rather than read
 * it as movement. It stands until `clearAfter` passes without another step.
 */
export const stepRuleSchema = z
  .object({
    kind: z.literal('step'),
    ...conditionFields,
    level: conditionFields.level.default('yellow'),
    source: sourceSchema.default({ derived: 'total' }),
    steps: stepsSchema.default({ minStep: 5, sigmas: 6, confirm: 3 }),
    clearAfter: clearAfterSchema.default(24 * 3600),
    basis: z.string().default('位移突变: 仪器重设、换站、棱镜碰动或真实滑移, 需人工核查'),
  })
  .strict()

export type StepRule = z.infer<typeof stepRuleSchema>

export interface StepState extends ConditionState {
  readonly track: TrackState
  /** When the last step was found. */
  readonly stepAt: number
}

export const initialStep = (): StepState => ({ ...INITIAL_CONDITION, track: EMPTY_TRACK, stepAt: 0 })

const DAY = 86_400_000

export const evaluateStep: Evaluate<StepRule, StepState> = (state, reading, rule) => {
  const x = valueOf(reading, rule.source)
  if (x === undefined || reading.ts <= state.lastTs) return { state, events: [] }
  const fed = feed(state.track, reading.ts, x, rule.steps, (samples, s) => pushWindow(samples, s, DAY, WINDOW_SAMPLES, DAY / WINDOW_SAMPLES))
  const stepAt = fed.step ? fed.step.ts : state.stepAt
  const met = stepAt > 0 && reading.ts - stepAt < rule.clearAfter * 1000
  const evidence = fed.step ? { problem: 'step', size: fed.step.size, at: fed.step.ts, tolerance: fed.step.tolerance } : { problem: met ? 'step' : null }
  const { level, events } = judgeCondition(state.level, met, reading.ts, rule, evidence)
  // a new step while the warning stands is told as its own event, with its size
  const extra =
    fed.step && state.level.level !== null && level.level !== null
      ? [{ type: 'level' as const, rule: rule.id, from: level.level, to: level.level, value: fed.step.size, unit: 'mm', ts: reading.ts, evidence }]
      : []
  return { state: { level, lastTs: reading.ts, track: fed.state, stepAt }, events: [...events.map((e) => ({ ...e, value: fed.step?.size ?? e.value, unit: 'mm' })), ...extra] }
}
