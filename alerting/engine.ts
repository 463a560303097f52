import { isDrillId } from '../ingest/contract/ids.js'
import type { Reading } from '../ingest/reading.js'
import type { AlertEvent } from './book/alert.js'
import type { AlertBook } from './book/book.js'
import { describe, describeItem } from './book/messages.js'
import { aggregate, type Item } from './rules/aggregation.js'
import { LEVELS, type Level } from './rules/levels.js'
import { classOf, type Rule } from './rules/index.js'
import type { LevelEvent } from './rules/types.js'
import { RuleRunner, type EngineDevice, type Fired, type PointLevels, type RuleStates } from './runner.js'

export type { EngineDevice, Fired, PointLevels, RuleStates }

/**
 * The rule engine: readings in (from the journal's commit, never from the database), alert events
 * out. The rules run in a RuleRunner (runner.ts), in the platform on a thread of their own
 * (worker.ts); Booking turns their level changes into transitions of the warning book and
 * escalates items. AlertEngine puts the two together in one thread, for tests, the benchmark and
 * the slope evaluation. The silence timer and the overdue clock come in through `tick(now)`; the
 * engine owns no timer and reads no clock.
 */

/** A monitoring item of a mine (GB 39496-2020 §5.5.4): points whose levels escalate together. */
export interface EngineItem extends Item {
  readonly mineId: string
  readonly timeZone: string
  readonly quietMs?: number
}

/** The rule id under which an item's escalation is booked. */
export const ITEM_RULE = 'gb39496-item'

/** The book's side of the engine: level changes → warning book transitions, and item escalation. */
export class Booking {
  private readonly devices = new Map<string, EngineDevice>()
  private readonly rules = new Map<string, Map<string, Rule>>()
  /** deviceId → its warning level, as the rules last told it. */
  private readonly levels = new Map<string, Level | null>()
  /** deviceId → the items it belongs to; itemId → the item's escalated level. */
  private readonly itemsOf = new Map<string, EngineItem[]>()
  private readonly itemLevels = new Map<string, Level | null>()
  private readonly itemById = new Map<string, EngineItem>()

  constructor(
    devices: readonly EngineDevice[],
    private readonly book: AlertBook,
    levels: PointLevels,
    items: readonly EngineItem[] = [],
  ) {
    this.configure(devices, items, levels)
  }

  /**
   * The devices, rules and items from now on, with the points' levels as the rules now stand (at
   * start, and when the site is administered). Restored or kept rule states carry the levels: the
   * items start where they stand, without an event.
   */
  configure(devices: readonly EngineDevice[], items: readonly EngineItem[], levels: PointLevels): void {
    this.devices.clear()
    this.rules.clear()
    this.levels.clear()
    this.itemsOf.clear()
    this.itemById.clear()
    this.itemLevels.clear()
    for (const d of devices) {
      this.devices.set(d.id, d)
      this.rules.set(d.id, new Map(d.rules.map((r) => [r.id, r])))
    }
    for (const item of items) {
      this.itemById.set(item.id, item)
      for (const id of item.devices) this.itemsOf.set(id, [...(this.itemsOf.get(id) ?? []), item])
    }
    this.setLevels(levels)
  }

  /** The points' levels as they now stand (at start, after a warm-up or a reset): items follow without an event. */
  setLevels(levels: PointLevels): void {
    for (const [id, level] of Object.entries(levels)) this.levels.set(id, level)
    for (const [id, item] of this.itemById)
      this.itemLevels.set(
        id,
        aggregate(
          item.devices.map((d) => this.levels.get(d) ?? null),
          item.escalation,
        ).level,
      )
  }

  /** The kind of a device's rule (undefined: no such rule). */
  kindOf(deviceId: string, ruleId: string): string | undefined {
    return this.rules.get(deviceId)?.get(ruleId)?.kind
  }

  /** The rules' level changes, in the order they happened: the alert events they cause. */
  apply(fired: readonly Fired[], now: number): AlertEvent[] {
    const out: AlertEvent[] = []
    for (const f of fired) {
      const device = this.devices.get(f.device)
      const rule = this.rules.get(f.device)?.get(f.rule)
      if (!device || !rule) continue
      out.push(...this.toBook(device, rule, f.event, now))
      if (classOf(rule) !== 'warning') continue
      this.levels.set(f.device, f.pointLevel)
      out.push(...this.reaggregate(f.device, now))
    }
    return out
  }

  /** Warnings past their deadline (in cluster mode, of the mines `mine` says this node owns). */
  tick(now: number, mine?: (mineId: string) => boolean): AlertEvent[] {
    return this.book.tick(now, mine)
  }

  private reaggregate(deviceId: string, now: number): AlertEvent[] {
    const out: AlertEvent[] = []
    for (const item of this.itemsOf.get(deviceId) ?? []) {
      const before = this.itemLevels.get(item.id) ?? null
      const { level, counts } = aggregate(
        item.devices.map((id) => this.levels.get(id) ?? null),
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

/** The rules and the book in one thread. */
export class AlertEngine {
  private readonly runner: RuleRunner
  private readonly booking: Booking

  constructor(devices: readonly EngineDevice[], book: AlertBook, now: number, restored: RuleStates = {}, items: readonly EngineItem[] = []) {
    this.runner = new RuleRunner(devices, now, restored)
    this.booking = new Booking(devices, book, this.runner.pointLevels(), items)
  }

  /** Rule evaluations, for the benchmark's cost per reading. */
  get evaluations(): number {
    return this.runner.evaluations
  }

  /** Readings as committed; returns the alert events they caused, in order. */
  onReadings(readings: readonly Reading[], now: number): AlertEvent[] {
    return this.booking.apply(this.runner.onReadings(readings, now), now)
  }

  /** Readings before a restart, after the last snapshot: state moves on, nothing is booked again. */
  warm(readings: readonly Reading[], now: number): void {
    this.runner.warm(readings, now)
    this.booking.setLevels(this.runner.pointLevels())
  }

  /** The clock: devices gone silent, and warnings past their deadline. */
  tick(now: number): AlertEvent[] {
    return [...this.booking.apply(this.runner.tick(now), now), ...this.booking.tick(now)]
  }

  /** Starts these devices' rules afresh; open warnings stay in the book (only people close them). */
  reset(deviceIds: Iterable<string>, now: number): void {
    this.runner.reset(deviceIds, now)
    this.booking.setLevels(this.runner.pointLevels())
  }

  peek(deviceId: string, ruleId: string): unknown {
    return this.runner.peek(deviceId, ruleId)
  }

  snapshot(): RuleStates {
    return this.runner.snapshot()
  }
}
