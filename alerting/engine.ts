import type { DeviceKind } from '../ingest/contract/kinds.js'
import { isDrillId } from '../ingest/contract/ids.js'
import type { Reading } from '../ingest/reading.js'
import type { AlertEvent } from './book/alert.js'
import type { AlertBook } from './book/book.js'
import { describe, describeItem } from './book/messages.js'
import { aggregate, type Item } from './rules/aggregation.js'
import { LEVELS, type Level } from './rules/levels.js'
import { RULES, classOf, inputsOf, type Rule } from './rules/index.js'
import { checkSilence, type SilenceState } from './rules/silence.js'
import type { Evaluate, LevelEvent } from './rules/types.js'

/**
 * The rule engine: readings in (from the journal's commit, never from the database), alert events
 * out. For every device it keeps one small state per rule, runs the pure rules, and turns level
 * changes into transitions of the warning book. The silence timer and the overdue clock come in
 * through `tick(now)`; the engine owns no timer and reads no clock.
 */
export interface EngineDevice {
  readonly id: string
  readonly name: string
  readonly kind: DeviceKind
  readonly mineId: string
  readonly timeZone: string
  /** The mine's quiet period (ms): see LevelContext. */
  readonly quietMs?: number
  readonly intervalMs: number
  readonly mineStatus: 'producing' | 'suspended'
  readonly rules: readonly Rule[]
}

/** A monitoring item of a mine (GB 39496-2020 §5.5.4): points whose levels escalate together. */
export interface EngineItem extends Item {
  readonly mineId: string
  readonly timeZone: string
  readonly quietMs?: number
}

export type RuleStates = Record<string, Record<string, unknown>>

/** The rule id under which an item's escalation is booked. */
export const ITEM_RULE = 'gb39496-item'

export class AlertEngine {
  private readonly devices = new Map<string, EngineDevice>()
  /** deviceId → the (device, rule) pairs its readings feed: its own rules and rules that watch it. */
  private readonly routes = new Map<string, { device: EngineDevice; rule: Rule }[]>()
  /** deviceId → ruleId → the rule's state (plain data, so it can be snapshotted). */
  private states: RuleStates = {}
  /** Rule evaluations, for the benchmark's cost per reading. */
  evaluations = 0
  /** deviceId → the items it belongs to; itemId → the item's escalated level. */
  private readonly itemsOf = new Map<string, EngineItem[]>()
  private readonly itemLevels = new Map<string, Level | null>()
  private readonly itemById = new Map<string, EngineItem>()

  constructor(
    devices: readonly EngineDevice[],
    private readonly book: AlertBook,
    now: number,
    restored: RuleStates = {},
    items: readonly EngineItem[] = [],
  ) {
    for (const d of devices) {
      this.devices.set(d.id, d)
      const saved = restored[d.id] ?? {}
      this.states[d.id] = Object.fromEntries(d.rules.map((r) => [r.id, saved[r.id] ?? RULES[r.kind].initial(now)]))
      for (const rule of d.rules) for (const source of [d.id, ...inputsOf(rule)]) this.route(source).push({ device: d, rule })
    }
    for (const item of items) {
      this.itemById.set(item.id, item)
      for (const id of item.devices) this.itemsOf.set(id, [...(this.itemsOf.get(id) ?? []), item])
      // restored rule states already carry the points' levels: the item starts where it was
      this.itemLevels.set(
        item.id,
        aggregate(
          item.devices.map((id) => this.pointLevel(id)),
          item.escalation,
        ).level,
      )
    }
  }

  /** A point's warning level: the highest its signal rules stand at (断线 and data quality do not count). */
  private pointLevel(deviceId: string): Level | null {
    const device = this.devices.get(deviceId)
    if (!device) return null
    let best: Level | null = null
    for (const rule of device.rules) {
      if (classOf(rule) !== 'warning') continue
      const level = (this.states[deviceId]![rule.id] as { level?: { level?: Level | null } } | undefined)?.level?.level ?? null
      if (level && (best === null || LEVELS.indexOf(level) > LEVELS.indexOf(best))) best = level
    }
    return best
  }

  private reaggregate(deviceId: string, now: number): AlertEvent[] {
    const out: AlertEvent[] = []
    for (const item of this.itemsOf.get(deviceId) ?? []) {
      const before = this.itemLevels.get(item.id) ?? null
      const { level, counts } = aggregate(
        item.devices.map((id) => this.pointLevel(id)),
        item.escalation,
      )
      if (level === before) continue
      this.itemLevels.set(item.id, level)
      const e: LevelEvent = { type: 'level', rule: ITEM_RULE, from: before, to: level, value: level ? counts[LEVELS[LEVELS.indexOf(level) - 1]!] : 0, unit: '个测点', ts: now, evidence: { counts } }
      out.push(
        ...this.book.onLevel(
          {
            mineId: item.mineId,
            subject: { type: 'item', id: item.id, name: item.name, ...(isDrillId(item.id) ? { drill: true as const } : {}) },
            ruleKind: 'aggregation',
            class: 'warning',
            timeZone: item.timeZone,
            quietMs: item.quietMs,
            message: describeItem(item, e),
            basis: 'GB 39496-2020 §5.5.4: 4 蓝 → 黄, 3 黄 → 橙, 2 橙 → 红',
          },
          e,
          now,
        ),
      )
    }
    return out
  }

  private route(deviceId: string): { device: EngineDevice; rule: Rule }[] {
    let list = this.routes.get(deviceId)
    if (!list) this.routes.set(deviceId, (list = []))
    return list
  }

  /** Readings as committed; returns the alert events they caused, in order. */
  onReadings(readings: readonly Reading[], now: number): AlertEvent[] {
    const out: AlertEvent[] = []
    for (const reading of readings) {
      for (const { device, rule } of this.routes.get(reading.deviceId) ?? []) {
        this.evaluations++
        const states = this.states[device.id]!
        const evaluate = RULES[rule.kind].evaluate as Evaluate<Rule, unknown>
        const { state, events } = evaluate(states[rule.id], reading, rule, now, { mineStatus: device.mineStatus, timeZone: device.timeZone })
        states[rule.id] = state
        for (const e of events) out.push(...this.toBook(device, rule, e, now))
        if (events.length > 0 && classOf(rule) === 'warning') out.push(...this.reaggregate(device.id, now))
      }
    }
    return out
  }

  /**
   * Readings seen before a restart but after the last snapshot: they move the rules' state on,
   * and the warnings they caused are in the book already, so nothing is booked again.
   */
  warm(readings: readonly Reading[], now: number): void {
    for (const reading of readings) {
      for (const { device, rule } of this.routes.get(reading.deviceId) ?? []) {
        const states = this.states[device.id]!
        const evaluate = RULES[rule.kind].evaluate as Evaluate<Rule, unknown>
        states[rule.id] = evaluate(states[rule.id], reading, rule, now, { mineStatus: device.mineStatus, timeZone: device.timeZone }).state
      }
    }
    this.refreshItems()
  }

  /** The clock: devices gone silent, and warnings past their deadline. */
  tick(now: number): AlertEvent[] {
    const out: AlertEvent[] = []
    for (const device of this.devices.values()) {
      for (const rule of device.rules) {
        if (rule.kind !== 'silence') continue
        const states = this.states[device.id]!
        const { state, events } = checkSilence(states[rule.id] as SilenceState, rule, now, device.intervalMs)
        states[rule.id] = state
        for (const e of events) out.push(...this.toBook(device, rule, e, now))
      }
    }
    out.push(...this.book.tick(now))
    return out
  }

  /**
   * Starts these devices' rules afresh, as if they had just been installed: the demo's drills
   * replay a scenario's past readings into devices that were reporting live a moment before.
   * Open warnings stay in the book; only people close them.
   */
  reset(deviceIds: Iterable<string>, now: number): void {
    for (const id of deviceIds) {
      const device = this.devices.get(id)
      if (device) this.states[id] = Object.fromEntries(device.rules.map((r) => [r.id, RULES[r.kind].initial(now)]))
    }
    this.refreshItems()
  }

  /** Each item's level from its points' levels as they now stand (after a warm-up or a reset). */
  private refreshItems(): void {
    for (const [id, item] of this.itemById)
      this.itemLevels.set(
        id,
        aggregate(
          item.devices.map((d) => this.pointLevel(d)),
          item.escalation,
        ).level,
      )
  }

  /** One rule's state as it stands (read-only: the trend's live forecast, the evaluation). */
  peek(deviceId: string, ruleId: string): unknown {
    return this.states[deviceId]?.[ruleId]
  }

  /** The rules' state, for a snapshot that survives a restart. */
  snapshot(): RuleStates {
    return structuredClone(this.states)
  }

  private toBook(device: EngineDevice, rule: Rule, e: LevelEvent, now: number): AlertEvent[] {
    return this.book.onLevel(
      {
        mineId: device.mineId,
        subject: { type: 'device', id: device.id, name: device.name, ...(isDrillId(device.id) ? { drill: true as const } : {}) },
        ruleKind: rule.kind,
        class: classOf(rule),
        timeZone: device.timeZone,
        quietMs: device.quietMs,
        message: describe(rule, device.kind, device.name, e, (id) => this.devices.get(id)?.name),
        basis: 'basis' in rule ? rule.basis : undefined,
      },
      e,
      now,
    )
  }
}
