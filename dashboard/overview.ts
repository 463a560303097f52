import type { Alert } from '../alerting/book/alert.js'
import { LEVELS, RANK, type Level } from '../alerting/rules/levels.js'
import { isoInZone } from '../ingest/zone-time.js'
import { dailyReport, startOfDay } from './report.js'

/**
 * The regulators' 大屏 in figures (pure; GET /api/overview): how many of the mines a person
 * covers are connected, the devices' 在线率, today's warnings by level, the share handled the
 * same day (当天处置率), what is overdue now, seven days of warnings, the mines ranked by risk, and
 * the newest warnings. Computed from the book and the presence the platform holds, so a test can
 * hold the screen to them.
 *
 * Choices: a mine is connected when at least one of its devices is; "today" is each mine's own
 * local day (its zone); 当天处置率 is the share of today's warnings already resolved before the
 * end of their day (so far: the day is not over); the ranking puts the worst open level first,
 * then overdue, then unresolved warnings, then devices offline.
 */
export interface OverviewMine {
  readonly id: string
  readonly name: string
  readonly regionName: string
  readonly timezone: string
  readonly devices: readonly { readonly id: string }[]
}

export interface Overview {
  readonly at: number
  /** The local date of the first mine (the screen's title bar), YYYY-MM-DD. */
  readonly date: string
  readonly timeZone: string
  readonly mines: { readonly total: number; readonly connected: number }
  readonly devices: { readonly total: number; readonly online: number; readonly rate: number | null }
  readonly today: {
    readonly raised: number
    readonly byLevel: Readonly<Record<Level, number>>
    readonly resolvedSameDay: number
    /** resolvedSameDay / raised; null with nothing raised. */
    readonly handledRate: number | null
    readonly open: number
  }
  /** Unresolved warnings past their deadline, now, whatever day they were raised. */
  readonly overdue: number
  /** The last seven local days, oldest first: warnings raised by level. */
  readonly days: readonly { readonly date: string; readonly byLevel: Readonly<Record<Level, number>> }[]
  readonly ranking: readonly {
    readonly id: string
    readonly name: string
    readonly regionName: string
    readonly worst: Level | null
    readonly open: number
    readonly overdue: number
    readonly offline: number
  }[]
  /** The newest warnings (raised in the last day), newest first. */
  readonly recent: readonly {
    readonly alertId: string
    readonly mineId: string
    readonly mineName: string
    readonly subject: string
    readonly level: Level
    readonly raisedAt: number
    readonly message: string
  }[]
}

const DAY = 86_400_000
const localDate = (ms: number, tz: string) => isoInZone(ms, tz).slice(0, 10)
const zero = (): Record<Level, number> => ({ blue: 0, yellow: 0, orange: 0, red: 0 })

export function overview(alerts: readonly Alert[], mines: readonly OverviewMine[], connected: (deviceId: string) => boolean, now: number, recentCount = 20): Overview {
  const tz = mines[0]?.timezone ?? 'Asia/Shanghai'
  // the book split by mine once: each mine's eight daily reports then read its own warnings only
  const byMine = new Map<string, Alert[]>(mines.map((m) => [m.id, []]))
  for (const a of alerts) byMine.get(a.mineId)?.push(a)
  const mineAlerts = [...byMine.values()].flat()
  const today = { raised: 0, byLevel: zero(), resolvedSameDay: 0, open: 0 }
  const days = Array.from({ length: 7 }, (_, i) => ({ date: localDate(startOfDay(localDate(now, tz), tz) - (6 - i) * DAY + DAY / 2, tz), byLevel: zero() }))
  let devicesTotal = 0
  let devicesOnline = 0
  let minesConnected = 0
  const ranking: Overview['ranking'][number][] = []
  for (const m of mines) {
    const own = byMine.get(m.id)!
    const report = dailyReport(own, m.id, localDate(now, m.timezone), m.timezone)
    today.raised += report.raised
    today.resolvedSameDay += report.resolvedSameDay
    today.open += report.open
    for (const l of LEVELS) today.byLevel[l] += report.byLevel[l]
    for (const d of days) {
      const r = dailyReport(own, m.id, d.date, m.timezone)
      for (const l of LEVELS) d.byLevel[l] += r.byLevel[l]
    }
    const online = m.devices.filter((d) => connected(d.id)).length
    devicesTotal += m.devices.length
    devicesOnline += online
    if (online > 0) minesConnected++
    const open = own.filter((a) => a.state !== 'resolved')
    const worst = open.filter((a) => a.class === 'warning').reduce<Level | null>((w, a) => (w === null || RANK[a.level] > RANK[w] ? a.level : w), null)
    ranking.push({ id: m.id, name: m.name, regionName: m.regionName, worst, open: open.length, overdue: open.filter((a) => a.overdue).length, offline: m.devices.length - online })
  }
  ranking.sort((a, b) => (b.worst ? RANK[b.worst] : 0) - (a.worst ? RANK[a.worst] : 0) || b.overdue - a.overdue || b.open - a.open || b.offline - a.offline || a.name.localeCompare(b.name, 'zh'))
  const names = new Map(mines.map((m) => [m.id, m.name]))
  const recent = mineAlerts
    .filter((a) => now - a.raisedAt < DAY)
    .sort((a, b) => b.raisedAt - a.raisedAt)
    .slice(0, recentCount)
    .map((a) => ({ alertId: a.id, mineId: a.mineId, mineName: names.get(a.mineId) ?? a.mineId, subject: a.subject.name, level: a.peak, raisedAt: a.raisedAt, message: a.message }))
  return {
    at: now,
    date: localDate(now, tz),
    timeZone: tz,
    mines: { total: mines.length, connected: minesConnected },
    devices: { total: devicesTotal, online: devicesOnline, rate: devicesTotal === 0 ? null : devicesOnline / devicesTotal },
    today: { ...today, handledRate: today.raised === 0 ? null : today.resolvedSameDay / today.raised },
    overdue: mineAlerts.filter((a) => a.state !== 'resolved' && a.overdue).length,
    days,
    ranking,
    recent,
  }
}
