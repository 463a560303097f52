import { z } from 'zod'
import { LEVELS, NO_LEVEL, persistenceSchema, type Level, type LevelState } from './levels.js'
import { judge } from './series.js'
import type { LevelEvent } from './types.js'

/**
 * Rules whose verdict is a condition (a pump stopped while the water rises, a camera dark while
 * the mine works) rather than a number: one configured level while the condition holds, cleared
 * when it no longer does, with the same persistence as the number rules.
 */
export const conditionFields = {
  id: z.string().min(1),
  level: z.enum(LEVELS),
  persistence: persistenceSchema,
  basis: z.string().optional(),
}

export interface ConditionState {
  readonly level: LevelState
  readonly lastTs: number
}

export const INITIAL_CONDITION: ConditionState = { level: NO_LEVEL, lastTs: 0 }

export function judgeCondition(
  state: LevelState,
  met: boolean,
  ts: number,
  rule: { readonly id: string; readonly level: Level; readonly persistence?: { readings?: number | undefined; seconds?: number | undefined } | undefined },
  evidence: Record<string, unknown>,
): { level: LevelState; events: LevelEvent[] } {
  return judge(state, met ? 1 : 0, ts, { thresholds: { [rule.level]: 1 }, direction: 'above', clearMargin: 0, persistence: rule.persistence }, rule.id, '', evidence)
}
