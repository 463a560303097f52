import { z } from 'zod'
import { INITIAL_CONDITION, conditionFields, judgeCondition, type ConditionState } from './condition.js'
import type { Evaluate } from './types.js'

/**
 * pumpFailure (README, "Warnings"): a drainage pump not running, or running with no flow, while the level
 * it drains rises past a threshold. Set on the pump; readings of the linked level device (a
 * reservoir or sump gauge) reach it too. Storm inflow must be drained (GB 39496-2020 §6.4.2:
 * within 72 h), so a pump that fails when the water comes is a warning of its own.
 */
export const pumpFailureRuleSchema = z
  .object({
    kind: z.literal('pumpFailure'),
    ...conditionFields,
    level: conditionFields.level.default('orange'),
    /** The level the pump drains: a device of the same mine, its metric, and the level that matters, m. */
    watch: z.object({ device: z.string().min(1), metric: z.string().min(1).default('level'), above: z.number() }).strict(),
    /** m³/h: running below this counts as no flow. */
    minFlow: z.number().nonnegative().default(1),
    basis: z.string().default('排水泵站: 水位超限时水泵未运行或无流量'),
  })
  .strict()

export type PumpFailureRule = z.infer<typeof pumpFailureRuleSchema>

export interface PumpFailureState extends ConditionState {
  readonly running?: boolean
  readonly flow?: number
  readonly water?: number
  /** The last reading taken of each device: a level reading is late only against the level's own, not the pump's. */
  readonly waterTs?: number
  readonly pumpTs?: number
}

export const initialPumpFailure = (): PumpFailureState => INITIAL_CONDITION

/** Judged on the pump's readings and on the watched device's (whichever comes, with the latest of the other). */
export const evaluatePumpFailure: Evaluate<PumpFailureRule, PumpFailureState> = (state, reading, rule) => {
  // two devices report on their own clocks and paths: a level read at 10:00:00 that arrives after
  // the pump's 10:00:30 is still the latest level (it was dropped as late against the pump's time
  // when one time served both, found with a Modbus pump polled beside a published gauge)
  const watched = reading.deviceId === rule.watch.device
  // a state saved before the two were kept apart has only lastTs, which then stands for both
  const older = state.waterTs === undefined && state.pumpTs === undefined ? state.lastTs : Number.NEGATIVE_INFINITY
  if (reading.ts <= ((watched ? state.waterTs : state.pumpTs) ?? older)) return { state, events: [] }
  let next: PumpFailureState = state
  if (watched) {
    const water = reading.values[rule.watch.metric]
    if (typeof water !== 'number') return { state, events: [] }
    next = { ...state, water, waterTs: reading.ts }
  } else {
    const { running, flow } = reading.values
    if (typeof running !== 'boolean' && typeof flow !== 'number') return { state, events: [] }
    next = { ...state, ...(typeof running === 'boolean' ? { running } : {}), ...(typeof flow === 'number' ? { flow } : {}), pumpTs: reading.ts }
  }
  // judged at the latest time either has reached: the condition's clock never runs backwards
  const at = Math.max(reading.ts, state.lastTs)
  const rising = next.water !== undefined && next.water > rule.watch.above
  const failing = next.running === false || (next.running === true && next.flow !== undefined && next.flow < rule.minFlow)
  const { level, events } = judgeCondition(state.level, rising && failing, at, rule, { running: next.running ?? null, flow: next.flow ?? null, water: next.water ?? null })
  return { state: { ...next, level, lastTs: at }, events: events.map((e) => ({ ...e, value: next.water ?? NaN, threshold: rule.watch.above, unit: 'm' })) }
}

/** The other devices whose readings this rule needs. */
export const pumpFailureInputs = (rule: PumpFailureRule): string[] => [rule.watch.device]
