import { z } from 'zod'
import { localHour } from '../../ingest/zone-time.js'
import { INITIAL_CONDITION, conditionFields, judgeCondition, type ConditionState } from './condition.js'
import type { Evaluate } from './types.js'

/**
 * powerDuringSuspension (明停暗开, README, "Warnings"): a mine declared suspended whose power draw rises
 * above its standby baseline, by default only counted at night (20:00–06:00 local), when hidden
 * production shows most plainly. Regulators found such cases from meter data (the national
 * bureau's Hebei office, 2025: night-time peaks during a declared stop).
 */
export const powerDuringSuspensionRuleSchema = z
  .object({
    kind: z.literal('powerDuringSuspension'),
    ...conditionFields,
    level: conditionFields.level.default('orange'),
    /** Standby draw of the suspended mine (pumps, ventilation, lighting), kW. */
    baseline: z.number().nonnegative(),
    /** Counted above baseline × factor. */
    factor: z.number().min(1).default(1.5),
    /** Local hours [from, to) in which it counts; omit for all day. */
    hours: z
      .object({ from: z.int().min(0).max(23), to: z.int().min(0).max(24) })
      .strict()
      .default({ from: 20, to: 6 }),
    persistence: conditionFields.persistence.default({ readings: 3 }),
    basis: z.string().default('明停暗开: 停产期间用电异常 (夜间高于待机负荷)'),
  })
  .strict()

export type PowerDuringSuspensionRule = z.infer<typeof powerDuringSuspensionRuleSchema>

export const initialPowerDuringSuspension = (): ConditionState => INITIAL_CONDITION

/** Whether a local hour falls in [from, to), windows across midnight included. */
export const inHours = (hour: number, { from, to }: { from: number; to: number }) => (from <= to ? hour >= from && hour < to : hour >= from || hour < to)

export const evaluatePowerDuringSuspension: Evaluate<PowerDuringSuspensionRule, ConditionState> = (state, reading, rule, _now, context) => {
  const power = reading.values.power
  if (typeof power !== 'number' || reading.ts <= state.lastTs) return { state, events: [] }
  const hour = localHour(reading.ts, context.timeZone)
  const limit = rule.baseline * rule.factor
  const met = context.mineStatus === 'suspended' && power > limit && inHours(hour, rule.hours)
  const { level, events } = judgeCondition(state.level, met, reading.ts, rule, { power, limit, localHour: hour, mineStatus: context.mineStatus })
  return { state: { level, lastTs: reading.ts }, events: events.map((e) => ({ ...e, value: power, threshold: limit, unit: 'kW' })) }
}
