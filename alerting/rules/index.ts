import { z } from 'zod'
import { accumulationRuleSchema, evaluateAccumulation, initialAccumulation } from './accumulation.js'
import { evaluateInverseVelocity, initialInverseVelocity, inverseVelocityRuleSchema } from './inverse-velocity.js'
import { evaluateRate, initialRate, rateRuleSchema } from './rate.js'
import { evaluateSilence, initialSilence, silenceRuleSchema } from './silence.js'
import { evaluateThreshold, initialThreshold, thresholdRuleSchema } from './threshold.js'
import type { Evaluate } from './types.js'

/**
 * Every rule kind in one map (DESIGN §7, ThingsBoard's rule-node registry): its config schema,
 * its initial state and its evaluation. Adding a kind is one file and one line here.
 */
export const ruleSchema = z.discriminatedUnion('kind', [thresholdRuleSchema, rateRuleSchema, accumulationRuleSchema, inverseVelocityRuleSchema, silenceRuleSchema])
export type Rule = z.infer<typeof ruleSchema>
export type RuleKind = Rule['kind']

type Entry<R extends Rule> = { readonly initial: (now: number) => unknown; readonly evaluate: Evaluate<R, any> }

export const RULES: { readonly [K in RuleKind]: Entry<Extract<Rule, { kind: K }>> } = {
  threshold: { initial: initialThreshold, evaluate: evaluateThreshold },
  rate: { initial: initialRate, evaluate: evaluateRate },
  accumulation: { initial: initialAccumulation, evaluate: evaluateAccumulation },
  inverseVelocity: { initial: initialInverseVelocity, evaluate: evaluateInverseVelocity },
  silence: { initial: initialSilence, evaluate: evaluateSilence },
}

/** Alert classes: a warning from the signal, or a device that stopped reporting (断线). */
export const classOf = (rule: Rule): 'warning' | 'offline' => (rule.kind === 'silence' ? 'offline' : 'warning')
