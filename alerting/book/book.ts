import { endOfDay } from '../../ingest/zone-time.js'
import { RANK, rank, type Level } from '../rules/levels.js'
import type { LevelEvent } from '../rules/types.js'
import type { Alert, AlertClass, AlertEvent, AlertEventType, Subject } from './alert.js'

/** How long a resolved warning stays in the book (the seat's 本班已处置, the week's screens): the service prunes it to this. */
export const RESOLVED_KEPT_MS = 7 * 86_400_000

/**
 * The warning book: the alerts and every transition. No I/O and no clock of its own:
 * `now` comes in, events go out, and the caller appends them to the store. Expected refusals
 * (signing a resolved warning, resolving without a note) are values with stable codes.
 */
export type BookErrorCode = 'MW_NOT_DURABLE' | 'MW_ALERT_NOT_FOUND' | 'MW_ALERT_NOT_ACKNOWLEDGED' | 'MW_ALERT_ALREADY_ACKNOWLEDGED' | 'MW_ALERT_RESOLVED' | 'MW_NOTE_REQUIRED' | 'MW_ASSIGNEE_REQUIRED'

export interface BookError {
  readonly code: BookErrorCode
  readonly message: string
}

export type BookResult = { readonly ok: true; readonly event: AlertEvent } | { readonly ok: false; readonly error: BookError }

/** What the book needs to know about where a level event came from. */
export interface LevelContext {
  readonly mineId: string
  readonly subject: Subject
  readonly ruleKind: string
  readonly class: AlertClass
  readonly timeZone: string
  /**
   * Ms after the signal went back to normal during which its return at a level no higher than
   * before updates the warning silently: a signal hovering about a threshold is one episode, and
   * the seat hears it once (default 12 h, a shift).
   */
  readonly quietMs?: number | undefined
  readonly message: string
  readonly basis?: string | undefined
}

/** The quiet period when the mine sets none: 12 hours, a shift. */
export const QUIET_MS = 12 * 3_600_000

const key = (subjectId: string, rule: string) => `${subjectId}\u0000${rule}`

export class AlertBook {
  private readonly alerts = new Map<string, Alert>()
  /** (subject, rule) → the alert not yet resolved. */
  private readonly current = new Map<string, string>()

  constructor(private readonly newId: () => string) {}

  /** The unresolved warning of this subject and rule, if any. */
  openFor(subjectId: string, rule: string): Alert | undefined {
    const id = this.current.get(key(subjectId, rule))
    return id === undefined ? undefined : this.alerts.get(id)
  }

  get(id: string): Alert | undefined {
    return this.alerts.get(id)
  }

  /** Alerts not yet resolved, the most severe and then the oldest first. */
  unresolved(): Alert[] {
    return [...this.current.values()].map((id) => this.alerts.get(id)!).sort((a, b) => RANK[b.level] - RANK[a.level] || a.raisedAt - b.raisedAt)
  }

  /**
   * Forgets warnings resolved more than `keepMs` ago: they are in the store for good, and a book
   * that kept every warning ever raised would grow without end (and be scanned on every request).
   * Unresolved warnings stay, however old.
   */
  prune(now: number, keepMs: number): number {
    let dropped = 0
    for (const [id, a] of this.alerts) {
      if (a.state === 'resolved' && a.resolved && a.resolved.at < now - keepMs) {
        this.alerts.delete(id)
        dropped++
      }
    }
    return dropped
  }

  all(): Alert[] {
    return [...this.alerts.values()]
  }

  /** A rule's level changed for a subject: open, raise, lower or mark normal. */
  onLevel(ctx: LevelContext, e: LevelEvent, now: number): AlertEvent[] {
    const openId = this.current.get(key(ctx.subject.id, e.rule))
    const open = openId ? this.alerts.get(openId) : undefined
    const facts = { value: e.value, threshold: e.threshold, unit: e.unit, message: ctx.message, basis: ctx.basis, evidence: e.evidence }
    if (e.to === null) {
      if (!open || open.normal) return []
      return [this.record('normal', { ...open, ...facts, normal: true, normalSince: now, updatedAt: now }, 'system', false, e.from, null)]
    }
    if (!open) {
      const alert: Alert = {
        id: this.newId(),
        mineId: ctx.mineId,
        subject: ctx.subject,
        rule: e.rule,
        ruleKind: ctx.ruleKind,
        class: ctx.class,
        level: e.to,
        peak: e.to,
        state: 'open',
        normal: false,
        raisedAt: now,
        updatedAt: now,
        deadline: endOfDay(now, ctx.timeZone),
        overdue: false,
        ...facts,
      }
      return [this.record('raised', alert, 'system', true, null, e.to)]
    }
    // a rise is told again; so is the signal coming back after it had been normal for longer than
    // the quiet period (a new episode); a return within it, or a fall, is recorded
    const quiet = open.normal && open.normalSince !== undefined && now - open.normalSince < (ctx.quietMs ?? QUIET_MS)
    const notify = rank(e.to) > rank(open.level) || (open.normal && !quiet)
    const peak: Level = rank(e.to) > rank(open.peak) ? e.to : open.peak
    const { normalSince: _since, ...active } = open
    return [this.record('level', { ...active, ...facts, level: e.to, peak, normal: false, updatedAt: now }, 'system', notify, open.normal ? null : open.level, e.to)]
  }

  /** 签收: someone at the seat takes the warning. */
  acknowledge(id: string, actor: string, now: number): BookResult {
    const a = this.alerts.get(id)
    if (!a) return notFound(id)
    if (a.state === 'resolved') return fail('MW_ALERT_RESOLVED', '该预警已处置完成, 不能再签收 (the warning is already resolved)')
    if (a.state !== 'open') return fail('MW_ALERT_ALREADY_ACKNOWLEDGED', `该预警已由 ${a.acknowledged?.by} 签收 (already acknowledged)`)
    return ok(this.record('acknowledged', { ...a, state: 'acknowledged', acknowledged: { by: actor, at: now }, updatedAt: now }, actor, false))
  }

  /** 指派: hand it to a responsible person (again, if need be). */
  assign(id: string, actor: string, to: string, now: number): BookResult {
    const a = this.signed(id)
    if ('ok' in a) return a
    if (!to.trim()) return fail('MW_ASSIGNEE_REQUIRED', '请指定处置责任人 (say whom it is assigned to)')
    return ok(this.record('assigned', { ...a, state: 'assigned', assigned: { by: actor, to: to.trim(), at: now }, updatedAt: now }, actor, false))
  }

  /** 处置完成: closed by a person, with what was done. */
  resolve(id: string, actor: string, note: string, now: number): BookResult {
    const a = this.signed(id)
    if ('ok' in a) return a
    if (!note.trim()) return fail('MW_NOTE_REQUIRED', '请填写处置情况 (say what was done)')
    return ok(this.record('resolved', { ...a, state: 'resolved', resolved: { by: actor, at: now, note: note.trim() }, updatedAt: now }, actor, false))
  }

  /** An alert that has been signed and not yet resolved (what assigning and resolving need), or why not. */
  private signed(id: string): Alert | BookResult {
    const a = this.alerts.get(id)
    if (!a) return notFound(id)
    if (a.state === 'resolved') return fail('MW_ALERT_RESOLVED', '该预警已处置完成 (the warning is already resolved)')
    if (a.state === 'open') return fail('MW_ALERT_NOT_ACKNOWLEDGED', '请先签收该预警 (acknowledge the warning first)')
    return a
  }

  /** The clock: warnings past their deadline escalate, once each (in cluster mode, only the mines `mine` says this node owns). */
  tick(now: number, mine: (mineId: string) => boolean = () => true): AlertEvent[] {
    const events: AlertEvent[] = []
    for (const id of this.current.values()) {
      const a = this.alerts.get(id)!
      if (!a.overdue && now >= a.deadline && mine(a.mineId)) events.push(this.record('overdue', { ...a, overdue: true, updatedAt: now }, 'system', true))
    }
    return events
  }

  /** Puts an alert back as it was (an action that could not be made durable is undone). */
  restore(alert: Alert): void {
    this.put(alert)
  }

  /**
   * Rebuild: replays an event read back from the store (the alert it carries is the state after it).
   * An event older than what the book holds of its alert changes nothing (an alert's events have
   * strictly increasing times): replaying one twice, or hearing it late from another node, never
   * puts a warning back to an earlier state.
   */
  apply(event: AlertEvent): void {
    const held = this.alerts.get(event.alertId)
    if (!held || held.updatedAt <= event.alert.updatedAt) this.put(event.alert)
  }

  /** Forgets one mine's warnings (cluster mode: a new owner reloads them from Redis). */
  dropMine(mineId: string): void {
    for (const [id, a] of this.alerts) {
      if (a.mineId !== mineId) continue
      this.alerts.delete(id)
      const k = key(a.subject.id, a.rule)
      if (this.current.get(k) === id) this.current.delete(k)
    }
  }

  private record(type: AlertEventType, next: Alert, actor: string, notify: boolean, from?: Level | null, to?: Level | null): AlertEvent {
    // an alert's events have strictly increasing times: the store keys them by (alert, time)
    const prev = this.alerts.get(next.id)
    const alert = prev && next.updatedAt <= prev.updatedAt ? { ...next, updatedAt: prev.updatedAt + 1 } : next
    this.put(alert)
    return { type, alertId: alert.id, mineId: alert.mineId, at: alert.updatedAt, actor, notify, ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }), alert }
  }

  private put(alert: Alert): void {
    this.alerts.set(alert.id, alert)
    const k = key(alert.subject.id, alert.rule)
    if (alert.state === 'resolved') {
      if (this.current.get(k) === alert.id) this.current.delete(k)
    } else this.current.set(k, alert.id)
  }
}

const ok = (event: AlertEvent): BookResult => ({ ok: true, event })
const fail = (code: BookErrorCode, message: string): BookResult => ({ ok: false, error: { code, message } })
const notFound = (id: string): BookResult => fail('MW_ALERT_NOT_FOUND', `没有编号为 ${id} 的预警 (no such warning)`)
