import type { Level } from '../rules/levels.js'

/**
 * A warning in the book: one open alert per (subject, rule). The state is what people
 * did (open → acknowledged 签收 → assigned 指派 → resolved 处置完成); whether the signal is back to
 * normal is a flag beside it, because only a person closes a warning. Due by the end of the day it
 * was raised, in the mine's time zone.
 */
export type AlertState = 'open' | 'acknowledged' | 'assigned' | 'resolved'
/** A warning from the signal; a device that stopped reporting (断线); data that cannot be trusted. */
export type AlertClass = 'warning' | 'offline' | 'quality'

export interface Subject {
  /** A device, a monitoring item (GB 39496-2020 §5.5.4), or a mine platform's link to this one (联网, alerting/links.ts). */
  readonly type: 'device' | 'item' | 'link'
  readonly id: string
  readonly name: string
  /** A drill's shadow of a device or item (docs/drills.md): a drill's warning, not the mine's own. */
  readonly drill?: true
}

export interface Alert {
  readonly id: string
  readonly mineId: string
  readonly subject: Subject
  readonly rule: string
  readonly ruleKind: string
  readonly class: AlertClass
  /** The level now (the last one the rule gave; kept when the signal went back to normal). */
  readonly level: Level
  /** The highest level it reached. */
  readonly peak: Level
  readonly state: AlertState
  /** The signal is back under every threshold (the warning stays until someone resolves it). */
  readonly normal: boolean
  /** When the signal went back to normal (while `normal`). */
  readonly normalSince?: number
  readonly raisedAt: number
  readonly updatedAt: number
  /** The end of the day it was raised, in the mine's time zone. */
  readonly deadline: number
  readonly overdue: boolean
  readonly value: number
  readonly threshold?: number | undefined
  readonly unit: string
  /** The latest description, in Chinese, with the value, the threshold and the rule. */
  readonly message: string
  readonly basis?: string | undefined
  readonly evidence?: Readonly<Record<string, unknown>> | undefined
  readonly acknowledged?: { readonly by: string; readonly at: number }
  readonly assigned?: { readonly by: string; readonly to: string; readonly at: number }
  readonly resolved?: { readonly by: string; readonly at: number; readonly note: string }
}

export type AlertEventType = 'raised' | 'level' | 'normal' | 'acknowledged' | 'assigned' | 'resolved' | 'overdue'

/**
 * Every transition, with who and when: appended to the store, never edited or deleted. It carries
 * the alert as it is after the transition, so the book can be rebuilt by replaying the events.
 */
export interface AlertEvent {
  readonly type: AlertEventType
  readonly alertId: string
  readonly mineId: string
  readonly at: number
  /** A user id, or 'system' for what the rules and the clock did. */
  readonly actor: string
  /** A rise (or a recurrence) is told to people again: the seat sounds until signed. */
  readonly notify: boolean
  readonly from?: Level | null
  readonly to?: Level | null
  readonly alert: Alert
}
