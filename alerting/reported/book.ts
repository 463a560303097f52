import type { ReportedAlert, ReportedEvent } from '../../ingest/uplink/reported.js'
import { LEVELS, type Level } from '../rules/levels.js'

/**
 * A regulator's book of the warnings its mine platforms reported (上报预警, docs/uplink.md
 * "Warning events"): each warning as the mine last said it stood (raised, 签收, 指派, 处置), and
 * each mine's month in figures for the 月报. Apart from the regulator's own book: these are the
 * mine's warnings, with the mine's ids, handled by the mine's people; the regulator only reads them.
 *
 * Delivery is at least once (a chunk not wholly acknowledged is sent again whole), so applying an
 * event is idempotent: a step older than the one held changes nothing, the same step again changes
 * nothing, and the month's figures move by the difference between what was held and what is now.
 *
 * Pure: the clock and the mines' time zones are given.
 */
export interface ReportedTally {
  /** Warnings raised in the month (by the mine's clock, in its time zone). */
  readonly raised: number
  /** By the highest level each reached. */
  readonly byLevel: Readonly<Record<Level, number>>
  readonly resolved: number
  /** Resolved before the end of the day they were raised (当天处置). */
  readonly resolvedSameDay: number
  readonly overdue: number
}

export interface ReportedBookSnapshot {
  readonly alerts: readonly ReportedAlert[]
  /** By `{mineId}|{YYYY-MM}`. */
  readonly tallies: Readonly<Record<string, ReportedTally>>
}

/** A mine's reported warnings now: those not yet resolved, by level, and how many of them are overdue. */
export interface ReportedCounts {
  readonly open: number
  readonly byLevel: Readonly<Record<Level, number>>
  readonly overdue: number
}

/** How long a resolved warning stays listed (then it is in the month's figures only), as the mine's own book. */
export const REPORTED_RESOLVED_KEPT_MS = 7 * 86_400_000

const EMPTY_LEVELS = (): Record<Level, number> => ({ blue: 0, yellow: 0, orange: 0, red: 0 })
const emptyTally = (): ReportedTally => ({ raised: 0, byLevel: EMPTY_LEVELS(), resolved: 0, resolvedSameDay: 0, overdue: 0 })

export class ReportedBook {
  /** By `{mineId}/{alertId}`: ids are the mine platform's, unique within it. */
  private readonly alerts = new Map<string, ReportedAlert>()
  private readonly tallies = new Map<string, ReportedTally>()

  /** `monthOf`: the month (YYYY-MM) an instant falls in, in the mine's time zone. */
  constructor(private readonly monthOf: (mineId: string, at: number) => string) {}

  /** The event applied; false when it changed nothing (an older or the same step, sent again). */
  apply(e: ReportedEvent): boolean {
    const key = `${e.mineId}/${e.alertId}`
    const held = this.alerts.get(key)
    const next = e.alert
    if (held && (next.updatedAt < held.updatedAt || same(held, next))) return false
    const month = `${next.mineId}|${this.monthOf(next.mineId, next.raisedAt)}`
    let tally = this.tallies.get(month) ?? emptyTally()
    if (held) tally = add(tally, held, -1)
    this.tallies.set(month, add(tally, next, 1))
    this.alerts.set(key, next)
    return true
  }

  restore(snapshot: ReportedBookSnapshot): void {
    for (const a of snapshot.alerts) this.alerts.set(`${a.mineId}/${a.id}`, a)
    for (const [k, t] of Object.entries(snapshot.tallies)) this.tallies.set(k, t)
  }

  snapshot(): ReportedBookSnapshot {
    return { alerts: [...this.alerts.values()], tallies: Object.fromEntries(this.tallies) }
  }

  /** Lets go of warnings resolved before `before` (they stay in the figures); how many went. */
  prune(before: number): number {
    let n = 0
    for (const [k, a] of this.alerts) {
      if (a.state === 'resolved' && (a.resolved?.at ?? a.updatedAt) < before) {
        this.alerts.delete(k)
        n++
      }
    }
    return n
  }

  /** The mines' warnings: not yet resolved first (the highest level, then the latest raised), then the resolved, the latest first. */
  list(mineIds: ReadonlySet<string>, limit: number): ReportedAlert[] {
    const of = [...this.alerts.values()].filter((a) => mineIds.has(a.mineId))
    const rank = (l: Level) => LEVELS.indexOf(l)
    return of
      .sort((x, y) => {
        const xr = x.state === 'resolved' ? 1 : 0
        const yr = y.state === 'resolved' ? 1 : 0
        if (xr !== yr) return xr - yr
        if (xr === 0 && x.level !== y.level) return rank(y.level) - rank(x.level)
        return y.raisedAt - x.raisedAt
      })
      .slice(0, limit)
  }

  counts(mineId: string): ReportedCounts {
    const byLevel = EMPTY_LEVELS()
    let open = 0
    let overdue = 0
    for (const a of this.alerts.values()) {
      if (a.mineId !== mineId || a.state === 'resolved') continue
      open++
      byLevel[a.level]++
      if (a.overdue) overdue++
    }
    return { open, byLevel, overdue }
  }

  /** The mines' month together; zeros when none reported. */
  tally(mineIds: readonly string[], month: string): ReportedTally {
    let sum = emptyTally()
    for (const m of mineIds) {
      const t = this.tallies.get(`${m}|${month}`)
      if (!t) continue
      sum = {
        raised: sum.raised + t.raised,
        byLevel: Object.fromEntries(LEVELS.map((l) => [l, sum.byLevel[l] + t.byLevel[l]])) as Record<Level, number>,
        resolved: sum.resolved + t.resolved,
        resolvedSameDay: sum.resolvedSameDay + t.resolvedSameDay,
        overdue: sum.overdue + t.overdue,
      }
    }
    return sum
  }

  get size(): number {
    return this.alerts.size
  }
}

/** What one warning adds to its month's figures (`sign` -1: takes away what it added when last held). */
function add(t: ReportedTally, a: ReportedAlert, sign: 1 | -1): ReportedTally {
  const resolved = a.state === 'resolved'
  return {
    raised: t.raised + sign,
    byLevel: { ...t.byLevel, [a.peak]: t.byLevel[a.peak] + sign },
    resolved: t.resolved + (resolved ? sign : 0),
    resolvedSameDay: t.resolvedSameDay + (resolved && a.resolved && a.resolved.at < a.deadline ? sign : 0),
    overdue: t.overdue + (a.overdue ? sign : 0),
  }
}

/** The same step: nothing a person or the rules did differs. */
function same(x: ReportedAlert, y: ReportedAlert): boolean {
  return x.updatedAt === y.updatedAt && x.state === y.state && x.level === y.level && x.peak === y.peak && x.normal === y.normal && x.overdue === y.overdue
}
