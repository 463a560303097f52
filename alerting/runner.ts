import type { DeviceKind } from '../ingest/contract/kinds.js'
import type { Reading } from '../ingest/reading.js'
import { LEVELS, type Level } from './rules/levels.js'
import { RULES, classOf, inputsOf, type Rule } from './rules/index.js'
import { checkSilence, type SilenceState } from './rules/silence.js'
import type { Evaluate, LevelEvent } from './rules/types.js'

/**
 * The rules' side of the engine: one small state per (device, rule), the pure rules run over
 * each reading, level changes out. No book, no I/O, no clock of its own: what it is given is all
 * it knows, so it runs the same in the platform's rule thread (worker.ts) and in a test.
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

export type RuleStates = Record<string, Record<string, unknown>>

/** A rule's level change, with the level its device stands at after it (for items, GB 39496-2020 §5.5.4). */
export interface Fired {
  readonly device: string
  readonly rule: string
  readonly event: LevelEvent
  readonly pointLevel: Level | null
}

/** What a rule last judged (runner.judged): the value in the rule's unit, its level, and a forecast's failure time. */
export interface Judged {
  readonly value: number
  readonly level: Level | null
  readonly failureTs?: number | null
}

/** deviceId → the device's warning level (the highest of its signal rules). */
export type PointLevels = Record<string, Level | null>

export class RuleRunner {
  private devices = new Map<string, EngineDevice>()
  /** deviceId → the (device, rule) pairs its readings feed: its own rules and rules that watch it. */
  private routes = new Map<string, { device: EngineDevice; rule: Rule }[]>()
  /** deviceId → ruleId → the rule's state (plain data, so it can be snapshotted). */
  private states: RuleStates = {}
  /** Rule evaluations, for the benchmark's cost per reading. */
  evaluations = 0

  constructor(devices: readonly EngineDevice[], now: number, restored: RuleStates = {}) {
    this.configure(devices, now, restored)
  }

  /**
   * The devices and their rules from now on (at start, and when the site is administered): a rule
   * whose definition is unchanged keeps its state (a slope's days of readings are not thrown
   * away because a neighbour was added); a new or changed rule starts afresh; a retired device's
   * rules go. `restored` is a snapshot's states, used as they are (at start).
   */
  configure(devices: readonly EngineDevice[], now: number, restored?: RuleStates): void {
    const before = this.devices
    const states: RuleStates = {}
    this.devices = new Map()
    this.routes = new Map()
    for (const d of devices) {
      this.devices.set(d.id, d)
      const saved = restored?.[d.id] ?? {}
      const old = before.get(d.id)
      const kept = (r: Rule) =>
        restored
          ? saved[r.id]
          : old &&
              sameRule(
                old.rules.find((o) => o.id === r.id),
                r,
              )
            ? this.states[d.id]?.[r.id]
            : undefined
      states[d.id] = Object.fromEntries(d.rules.map((r) => [r.id, kept(r) ?? RULES[r.kind].initial(now)]))
      for (const rule of d.rules) for (const source of [d.id, ...inputsOf(rule)]) this.route(source).push({ device: d, rule })
    }
    this.states = states
  }

  private route(deviceId: string): { device: EngineDevice; rule: Rule }[] {
    let list = this.routes.get(deviceId)
    if (!list) this.routes.set(deviceId, (list = []))
    return list
  }

  /** Readings as committed; the level changes they caused, in order. */
  onReadings(readings: readonly Reading[], now: number): Fired[] {
    const out: Fired[] = []
    for (const reading of readings) {
      for (const { device, rule } of this.routes.get(reading.deviceId) ?? []) {
        this.evaluations++
        const states = this.states[device.id]!
        const evaluate = RULES[rule.kind].evaluate as Evaluate<Rule, unknown>
        const { state, events } = evaluate(states[rule.id], reading, rule, now, { mineStatus: device.mineStatus, timeZone: device.timeZone })
        states[rule.id] = state
        if (events.length === 0) continue
        const pointLevel = this.pointLevel(device.id)
        for (const event of events) out.push({ device: device.id, rule: rule.id, event, pointLevel })
      }
    }
    return out
  }

  /**
   * Readings seen before a restart but after the last snapshot: they move the rules' state on,
   * and the warnings they caused are in the book already, so nothing is returned.
   */
  warm(readings: readonly Reading[], now: number): void {
    for (const reading of readings) {
      for (const { device, rule } of this.routes.get(reading.deviceId) ?? []) {
        const states = this.states[device.id]!
        const evaluate = RULES[rule.kind].evaluate as Evaluate<Rule, unknown>
        states[rule.id] = evaluate(states[rule.id], reading, rule, now, { mineStatus: device.mineStatus, timeZone: device.timeZone }).state
      }
    }
  }

  /** The clock: devices gone silent. */
  tick(now: number): Fired[] {
    const out: Fired[] = []
    for (const device of this.devices.values()) {
      for (const rule of device.rules) {
        if (rule.kind !== 'silence') continue
        const states = this.states[device.id]!
        const { state, events } = checkSilence(states[rule.id] as SilenceState, rule, now, device.intervalMs)
        states[rule.id] = state
        for (const event of events) out.push({ device: device.id, rule: rule.id, event, pointLevel: this.pointLevel(device.id) })
      }
    }
    return out
  }

  /**
   * These devices' rules from saved states (cluster mode: a mine's new owner loads what the last
   * one saved); a rule without a saved state starts afresh.
   */
  load(deviceIds: Iterable<string>, saved: RuleStates, now: number): void {
    for (const id of deviceIds) {
      const device = this.devices.get(id)
      if (device) this.states[id] = Object.fromEntries(device.rules.map((r) => [r.id, saved[id]?.[r.id] ?? RULES[r.kind].initial(now)]))
    }
  }

  /** Starts these devices' rules afresh, as if they had just been installed (the demo's drills). */
  reset(deviceIds: Iterable<string>, now: number): void {
    for (const id of deviceIds) {
      const device = this.devices.get(id)
      if (device) this.states[id] = Object.fromEntries(device.rules.map((r) => [r.id, RULES[r.kind].initial(now)]))
    }
  }

  /** A point's warning level: the highest its signal rules stand at (断线 and data quality do not count). */
  pointLevel(deviceId: string): Level | null {
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

  /** Every device's warning level as the rules stand. */
  pointLevels(): PointLevels {
    return Object.fromEntries([...this.devices.keys()].map((id) => [id, this.pointLevel(id)]))
  }

  /**
   * What each rule of these devices last judged, with its level: the boards' figures (a rate in
   * mm/d, a 24-h sum, a depth; the forecast's hours left with the margin while it forecasts).
   */
  judged(deviceIds: readonly string[]): Record<string, Record<string, Judged>> {
    const out: Record<string, Record<string, Judged>> = {}
    for (const id of deviceIds) {
      const device = this.devices.get(id)
      if (!device) continue
      const rules: Record<string, Judged> = {}
      for (const rule of device.rules) {
        const s = this.states[id]?.[rule.id] as { judged?: unknown; level?: { level?: Level | null }; last?: { reason?: string; safeHoursLeft?: number; failureTs?: number } | null } | undefined
        const level = s?.level?.level ?? null
        if (typeof s?.judged === 'number') rules[rule.id] = { value: s.judged, level }
        else if (s?.last?.reason === 'FORECAST' && typeof s.last.safeHoursLeft === 'number') rules[rule.id] = { value: s.last.safeHoursLeft, level, failureTs: s.last.failureTs ?? null }
      }
      out[id] = rules
    }
    return out
  }

  /** One rule's state as it stands (read-only: the trend's live forecast, the evaluation). */
  peek(deviceId: string, ruleId: string): unknown {
    return this.states[deviceId]?.[ruleId]
  }

  /** The rules' state, for a snapshot that survives a restart. */
  snapshot(): RuleStates {
    return structuredClone(this.states)
  }

  /** The rules' state itself, for a caller that copies it anyway (postMessage): not to be kept or changed. */
  current(): Readonly<RuleStates> {
    return this.states
  }
}

/** The same rule, field for field (a rule is plain data from the site file). */
function sameRule(a: Rule | undefined, b: Rule): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b)
}
