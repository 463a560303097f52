import { z } from 'zod'
import { LEVELS, NO_LEVEL, monotone, thresholdsSchema, type Level, type LevelState } from './levels.js'
import { judge } from './series.js'
import type { Evaluate, Evaluation } from './types.js'

/**
 * silence (断线, README, "Warnings"): no reading for k × the device's reporting interval. Its own alert
 * class: a device that stops talking is a data-link fault to fix (GB 51108-2015 §10.0.3: within
 * 7 days), not a signal from the slope. Checked on a timer with an injected `now`; any reading
 * clears it. The thresholds are multiples of the interval (default yellow at 3 ×).
 */
export const silenceRuleSchema = z
  .object({
    kind: z.literal('silence'),
    id: z.string().min(1),
    thresholds: thresholdsSchema.default({ yellow: 3 }),
    basis: z.string().default('联网数据传输: 超过 3 个上报周期无数据'),
  })
  .strict()
  .refine((r) => monotone(r.thresholds, 'above'), { message: 'thresholds must grow from blue to red', path: ['thresholds'] })

export type SilenceRule = z.infer<typeof silenceRuleSchema>

export interface SilenceState {
  readonly level: LevelState
  /** When the device was last heard from (arrival time: a device clock may be wrong). */
  readonly lastSeen: number
}

/** A device is given k intervals from the start before its silence counts. */
export const initialSilence = (now: number): SilenceState => ({ level: NO_LEVEL, lastSeen: now })

const spec = (rule: SilenceRule) => ({ thresholds: rule.thresholds, direction: 'above' as const, clearMargin: 0 })

/** A reading arrived: the device is heard; an open silence clears. */
export const evaluateSilence: Evaluate<SilenceRule, SilenceState> = (state, _reading, rule, now) => {
  const lastSeen = Math.max(state.lastSeen, now)
  if (state.level.level === null) return { state: { level: state.level, lastSeen }, events: [] }
  const { level, events } = judge(state.level, 0, now, spec(rule), rule.id, '个周期')
  return { state: { level, lastSeen }, events }
}

/** The timer's check: how many intervals has the device been silent? */
export function checkSilence(state: SilenceState, rule: SilenceRule, now: number, intervalMs: number): Evaluation<SilenceState> {
  const periods = (now - state.lastSeen) / intervalMs
  const { level, events } = judge(state.level, periods, now, spec(rule), rule.id, '个周期', { lastSeen: state.lastSeen, intervalSeconds: intervalMs / 1000 })
  return { state: { level, lastSeen: state.lastSeen }, events }
}

/** The first level this rule can raise (for tests and docs). */
export const lowestLevel = (rule: SilenceRule): Level | undefined => LEVELS.find((l) => rule.thresholds[l] !== undefined)
