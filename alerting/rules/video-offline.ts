import { z } from 'zod'
import { INITIAL_CONDITION, conditionFields, judgeCondition, type ConditionState } from './condition.js'
import type { Evaluate } from './types.js'

/**
 * videoOffline (无视频不作业, README, "Warnings"): a camera reporting itself offline (or showing no frames)
 * while its mine is declared producing. Video of the dam and the working areas is required
 * (GB 39496-2020 §5.5.2; 矿安〔2023〕119号); a camera that stops talking altogether raises 断线.
 */
export const videoOfflineRuleSchema = z
  .object({
    kind: z.literal('videoOffline'),
    ...conditionFields,
    level: conditionFields.level.default('yellow'),
    basis: z.string().default('无视频不作业: 生产期间视频监控不得中断'),
  })
  .strict()

export type VideoOfflineRule = z.infer<typeof videoOfflineRuleSchema>

export const initialVideoOffline = (): ConditionState => INITIAL_CONDITION

export const evaluateVideoOffline: Evaluate<VideoOfflineRule, ConditionState> = (state, reading, rule, _now, context) => {
  const { online, fps } = reading.values
  if ((online === undefined && fps === undefined) || reading.ts <= state.lastTs) return { state, events: [] }
  const dark = online === false || fps === 0
  const met = dark && context.mineStatus === 'producing'
  const { level, events } = judgeCondition(state.level, met, reading.ts, rule, { online: online ?? null, fps: fps ?? null, mineStatus: context.mineStatus })
  return { state: { level, lastTs: reading.ts }, events }
}
