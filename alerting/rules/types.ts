import type { Reading } from '../../ingest/reading.js'
import type { Level } from './levels.js'

/**
 * The contract of every rule (README, "Layout"): `(state, reading, rule, now) → {state, events}`,
 * pure, no I/O, no clock of its own. State is small and serializable (plain numbers and arrays),
 * so the engine can snapshot it and rebuild it after a restart.
 */
export interface LevelEvent {
  readonly type: 'level'
  /** The rule's id (from the site file). */
  readonly rule: string
  readonly from: Level | null
  readonly to: Level | null
  /** The value the rule judged (a metric, a velocity, a sum, hours to failure), in `unit`. */
  readonly value: number
  readonly threshold?: number | undefined
  readonly unit: string
  /** When it happened: the reading's time (or `now` for silence). */
  readonly ts: number
  /** What the rule saw, for the alert's record (e.g. the forecast failure time and the fit). */
  readonly evidence?: Readonly<Record<string, unknown>> | undefined
}

export interface Evaluation<S> {
  readonly state: S
  readonly events: readonly LevelEvent[]
}

/** What a rule may know beyond the reading: its mine's declared status and time zone. */
export interface RuleContext {
  readonly mineStatus: 'producing' | 'suspended'
  readonly timeZone: string
}

export type Evaluate<C, S> = (state: S, reading: Reading, rule: C, now: number, context: RuleContext) => Evaluation<S>
