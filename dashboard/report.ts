import type { Alert } from '../alerting/book/alert.js'
import { LEVELS, type Level } from '../alerting/rules/levels.js'
import { endOfDay } from '../ingest/zone-time.js'

/**
 * The daily report of a mine (pure): the warnings raised on a local day, how many were signed,
 * how many handled the same day (resolved before their deadline), how many went overdue, and
 * how many are still open, by level.
 */
export interface DailyReport {
  readonly mineId: string
  readonly date: string
  readonly timeZone: string
  readonly raised: number
  readonly byLevel: Readonly<Record<Level, number>>
  readonly acknowledged: number
  readonly resolvedSameDay: number
  readonly overdue: number
  readonly open: number
}

/** The first instant of a local date (YYYY-MM-DD) in a zone. */
export function startOfDay(date: string, timeZone: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number]
  // the end of the previous local day is this day's start
  return endOfDay(Date.UTC(y, m - 1, d - 1, 12), timeZone)
}

export function dailyReport(alerts: readonly Alert[], mineId: string, date: string, timeZone: string): DailyReport {
  const from = startOfDay(date, timeZone)
  const to = endOfDay(from, timeZone)
  const day = alerts.filter((a) => a.mineId === mineId && a.raisedAt >= from && a.raisedAt < to)
  const byLevel = Object.fromEntries(LEVELS.map((l) => [l, day.filter((a) => a.peak === l).length])) as Record<Level, number>
  return {
    mineId,
    date,
    timeZone,
    raised: day.length,
    byLevel,
    acknowledged: day.filter((a) => a.acknowledged).length,
    resolvedSameDay: day.filter((a) => a.resolved && a.resolved.at < a.deadline).length,
    overdue: day.filter((a) => a.overdue).length,
    open: day.filter((a) => a.state !== 'resolved').length,
  }
}

export function reportCsv(r: DailyReport): string {
  const head = ['mine', 'date', 'time_zone', 'raised', ...LEVELS.map((l) => `raised_${l}`), 'acknowledged', 'resolved_same_day', 'overdue', 'open']
  const row = [r.mineId, r.date, r.timeZone, r.raised, ...LEVELS.map((l) => r.byLevel[l]), r.acknowledged, r.resolvedSameDay, r.overdue, r.open]
  return `${head.join(',')}\n${row.join(',')}\n`
}
