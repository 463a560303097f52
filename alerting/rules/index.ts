import { z } from 'zod'
import { accumulationRuleSchema, evaluateAccumulation, initialAccumulation } from './accumulation.js'
import { evaluateInverseVelocity, initialInverseVelocity, inverseVelocityRuleSchema } from './inverse-velocity.js'
import { evaluateRate, initialRate, rateRuleSchema } from './rate.js'
import { evaluateStep, initialStep, stepRuleSchema } from './step.js'
import { evaluateSilence, initialSilence, silenceRuleSchema } from './silence.js'
import { evaluateThreshold, initialThreshold, thresholdRuleSchema } from './threshold.js'
import type { Evaluate } from './types.js'
import { dataQualityRuleSchema, evaluateDataQuality, initialDataQuality } from './data-quality.js'
import { evaluatePowerDuringSuspension, initialPowerDuringSuspension, powerDuringSuspensionRuleSchema } from './power-during-suspension.js'
import { evaluatePumpFailure, initialPumpFailure, pumpFailureInputs, pumpFailureRuleSchema } from './pump-failure.js'
import { evaluateVideoOffline, initialVideoOffline, videoOfflineRuleSchema } from './video-offline.js'

/**
 * Every rule kind in one map (README, "Layout", ThingsBoard's rule-node registry): its config schema,
 * its initial state and its evaluation. Adding a kind is one file and one line here.
 */
export const ruleSchema = z.discriminatedUnion('kind', [
  thresholdRuleSchema,
  rateRuleSchema,
  accumulationRuleSchema,
  inverseVelocityRuleSchema,
  silenceRuleSchema,
  pumpFailureRuleSchema,
  powerDuringSuspensionRuleSchema,
  videoOfflineRuleSchema,
  dataQualityRuleSchema,
  stepRuleSchema,
])
export type Rule = z.infer<typeof ruleSchema>
export type RuleKind = Rule['kind']

type Entry<R extends Rule> = {
  readonly initial: (now: number) => unknown
  // each kind has its own state type, which a map of all kinds cannot name (the state is both read and returned)
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly evaluate: Evaluate<R, any>
  /** Other devices whose readings the rule reads (a pump's level gauge). */
  readonly inputs?: (rule: R) => string[]
}

export const RULES: { readonly [K in RuleKind]: Entry<Extract<Rule, { kind: K }>> } = {
  threshold: { initial: initialThreshold, evaluate: evaluateThreshold },
  rate: { initial: initialRate, evaluate: evaluateRate },
  accumulation: { initial: initialAccumulation, evaluate: evaluateAccumulation },
  inverseVelocity: { initial: initialInverseVelocity, evaluate: evaluateInverseVelocity },
  silence: { initial: initialSilence, evaluate: evaluateSilence },
  pumpFailure: { initial: initialPumpFailure, evaluate: evaluatePumpFailure, inputs: pumpFailureInputs },
  powerDuringSuspension: { initial: initialPowerDuringSuspension, evaluate: evaluatePowerDuringSuspension },
  videoOffline: { initial: initialVideoOffline, evaluate: evaluateVideoOffline },
  dataQuality: { initial: initialDataQuality, evaluate: evaluateDataQuality },
  step: { initial: initialStep, evaluate: evaluateStep },
}

/** The devices a rule on `deviceId` listens to: itself and its inputs. */
export function inputsOf(rule: Rule): string[] {
  const entry = RULES[rule.kind] as Entry<Rule>
  return entry.inputs?.(rule) ?? []
}

/** Alert classes: a warning from the signal, or a device that stopped reporting (断线). */
export const classOf = (rule: Rule): 'warning' | 'offline' | 'quality' => (rule.kind === 'silence' ? 'offline' : rule.kind === 'dataQuality' || rule.kind === 'step' ? 'quality' : 'warning')
