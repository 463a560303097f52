import ExcelJS from 'exceljs'
import type { Alert } from '../alerting/book/alert.js'
import { LEVEL_NAME, LEVELS, type Level } from '../alerting/rules/levels.js'
import { startOfDay } from './report.js'
import type { ReportedTally } from '../alerting/reported/book.js'

/**
 * 月报 (issue 15 item 5): how a mine handled its warnings in a month and kept its monitoring
 * reporting, the figures regulators ask for in 月调度 and 月通报 (pure). The warnings raised in the
 * local month; the minutes from raising to 签收 (median and 95th percentile, nearest rank); the
 * share resolved before their deadline (当天处置率); how many went overdue; the calls made (叫应)
 * and how many were answered from their link; and each device's 数据到报率, the share of the
 * readings its interval promises that arrived, the figure behind 在线率.
 */
export interface MonthlyReport {
  readonly mineId: string
  readonly mineName: string
  readonly month: string
  readonly timeZone: string
  readonly raised: number
  readonly byLevel: Readonly<Record<Level, number>>
  /** Per rule kind, with the name people know it by (the screen shows it, and need not keep its own list). */
  readonly byRule: readonly { readonly ruleKind: string; readonly name: string; readonly count: number }[]
  readonly signMinutes: { readonly signed: number; readonly median: number | null; readonly p95: number | null }
  readonly resolvedSameDay: number
  readonly handledRate: number | null
  readonly overdue: number
  readonly open: number
  readonly calls: { readonly made: number; readonly delivered: number; readonly failed: number; readonly answered: number }
  readonly devices: readonly { readonly id: string; readonly name: string; readonly expected: number; readonly received: number; readonly rate: number | null }[]
  readonly reportingRate: number | null
  /**
   * 联网在线率 (a regulator's report): each mine platform's link carrying the mine, and the share
   * of the month it was connected; empty on a mine's own platform.
   */
  readonly links: readonly { readonly id: string; readonly name: string; readonly online: number | null }[]
  /**
   * 上报预警 (a regulator's report): the warnings the mine platforms reported for the month, as they
   * told it (their own rules, their own handling); null where no mine platform reports (a mine's own).
   */
  readonly reported: ReportedTally | null
}

/** The local month's first instant, and the next month's. */
export function monthRange(month: string, timeZone: string): { from: number; to: number } {
  const [y, m] = month.split('-').map(Number) as [number, number]
  const next = m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`
  return { from: startOfDay(`${month}-01`, timeZone), to: startOfDay(next, timeZone) }
}

/** The value at a rank of the sorted list (nearest rank: the smallest with at least p of the list at or below it). */
export function nearestRank(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!
}

export interface MonthlyInput {
  /** A mine, or a region's mines together (`mineIds`), the month read in this zone. */
  readonly mine: { readonly id: string; readonly name: string; readonly timezone: string; readonly mineIds?: readonly string[] }
  readonly month: string
  readonly alerts: readonly Alert[]
  /** Each warning's calls: whether delivered, whether answered from its link. */
  readonly calls: (alertId: string) => readonly { readonly status: string; readonly answered: boolean }[]
  readonly devices: readonly { readonly id: string; readonly name: string; readonly expected: number; readonly received: number }[]
  readonly links?: MonthlyReport['links']
  readonly reported?: ReportedTally | null
}

export function monthlyReport(input: MonthlyInput): MonthlyReport {
  const { from, to } = monthRange(input.month, input.mine.timezone)
  const seen = new Set<string>()
  const mines = new Set(input.mine.mineIds ?? [input.mine.id])
  const month = input.alerts.filter((a) => mines.has(a.mineId) && a.raisedAt >= from && a.raisedAt < to && !seen.has(a.id) && seen.add(a.id))
  const rules = new Map<string, number>()
  for (const a of month) rules.set(a.ruleKind, (rules.get(a.ruleKind) ?? 0) + 1)
  const sign = month
    .filter((a) => a.acknowledged)
    .map((a) => (a.acknowledged!.at - a.raisedAt) / 60_000)
    .sort((x, y) => x - y)
  const resolvedSameDay = month.filter((a) => a.resolved && a.resolved.at < a.deadline).length
  const calls = month.flatMap((a) => input.calls(a.id))
  const expected = input.devices.reduce((n, d) => n + d.expected, 0)
  const received = input.devices.reduce((n, d) => n + Math.min(d.received, d.expected), 0)
  return {
    mineId: input.mine.id,
    mineName: input.mine.name,
    month: input.month,
    timeZone: input.mine.timezone,
    raised: month.length,
    byLevel: Object.fromEntries(LEVELS.map((l) => [l, month.filter((a) => a.peak === l).length])) as Record<Level, number>,
    byRule: [...rules].map(([ruleKind, count]) => ({ ruleKind, name: RULE_KIND_NAME[ruleKind] ?? ruleKind, count })).sort((a, b) => b.count - a.count || a.ruleKind.localeCompare(b.ruleKind)),
    signMinutes: { signed: sign.length, median: nearestRank(sign, 0.5), p95: nearestRank(sign, 0.95) },
    resolvedSameDay,
    handledRate: month.length ? resolvedSameDay / month.length : null,
    overdue: month.filter((a) => a.overdue).length,
    open: month.filter((a) => a.state !== 'resolved').length,
    calls: {
      made: calls.length,
      delivered: calls.filter((c) => c.status === 'delivered').length,
      failed: calls.filter((c) => c.status === 'failed').length,
      answered: calls.filter((c) => c.answered).length,
    },
    // a device reporting more often than its interval does not make up for another's silence
    devices: input.devices.map((d) => ({ ...d, rate: d.expected > 0 ? Math.min(1, d.received / d.expected) : null })),
    reportingRate: expected > 0 ? received / expected : null,
    links: input.links ?? [],
    reported: input.reported ?? null,
  }
}

/** The rule kinds by the names people know them by (the 月报 screen has the same list). */
export const RULE_KIND_NAME: Readonly<Record<string, string>> = {
  threshold: '阈值',
  rate: '位移速率',
  accumulation: '累计量 (降雨)',
  inverseVelocity: '失稳时间预报 (反速度法)',
  step: '位移突变',
  silence: '断线',
  dataQuality: '数据质量',
  aggregation: '监测项升级',
  pumpFailure: '排水泵故障',
  powerDuringSuspension: '明停暗开',
  videoOffline: '视频离线',
  link: '联网 (矿山平台上报链路)',
}
const pct = (x: number | null) => (x === null ? '' : `${(100 * x).toFixed(1)}%`)
const num = (x: number | null) => (x === null ? '' : Math.round(x * 10) / 10)

/** The report as rows of (项目, 数值): the same figures for CSV and the spreadsheet. */
export function monthlyRows(r: MonthlyReport): [string, string | number][] {
  return [
    ['矿山', r.mineName],
    ['月份', r.month],
    ['时区', r.timeZone],
    ['预警总数 (条)', r.raised],
    ...LEVELS.slice()
      .reverse()
      .map((l): [string, number] => [`${LEVEL_NAME[l]}预警 (条)`, r.byLevel[l]]),
    ...r.byRule.map((x): [string, number] => [`规则 ${x.name} (${x.ruleKind}) (条)`, x.count]),
    ['已签收 (条)', r.signMinutes.signed],
    ['签收用时中位数 (分钟)', num(r.signMinutes.median)],
    ['签收用时 95% 分位 (分钟)', num(r.signMinutes.p95)],
    ['当天处置 (条)', r.resolvedSameDay],
    ['当天处置率', pct(r.handledRate)],
    ['超期 (条)', r.overdue],
    ['月末未处置 (条)', r.open],
    ['叫应通知 (次)', r.calls.made],
    ['通知送达 (次)', r.calls.delivered],
    ['通知失败 (次)', r.calls.failed],
    ['通过通知链接签收 (次)', r.calls.answered],
    ['设备数据到报率 (畅通率)', pct(r.reportingRate)],
    ...r.devices.map((d): [string, string] => [`到报率 ${d.name} (${d.received}/${d.expected})`, pct(d.rate)]),
    ...r.links.map((l): [string, string] => [`联网在线率 ${l.name}`, pct(l.online)]),
    ...(r.reported ? reportedRows(r.reported) : []),
  ]
}

function reportedRows(t: ReportedTally): [string, number][] {
  return [
    ['矿山平台上报预警 (条)', t.raised],
    ...LEVELS.slice()
      .reverse()
      .map((l): [string, number] => [`上报${LEVEL_NAME[l]}预警 (条)`, t.byLevel[l]]),
    ['上报已处置 (条)', t.resolved],
    ['上报当天处置 (条)', t.resolvedSameDay],
    ['上报超期 (条)', t.overdue],
  ]
}

const cell = (v: unknown) => {
  const s = String(v)
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export function monthlyCsv(r: MonthlyReport): string {
  return `\uFEFF${[['项目', '数值'], ...monthlyRows(r)].map((row) => row.map(cell).join(',')).join('\r\n')}\r\n`
}

export async function monthlyXlsx(r: MonthlyReport): Promise<Buffer> {
  const book = new ExcelJS.Workbook()
  book.creator = 'minewatch'
  const sheet = book.addWorksheet('月报')
  sheet.addRow([`${r.mineName} ${r.month} 安全风险监测预警月报`]).font = { bold: true }
  sheet.addRow(['项目', '数值']).font = { bold: true }
  for (const row of monthlyRows(r)) sheet.addRow(row)
  sheet.getColumn(1).width = 40
  sheet.getColumn(2).width = 20
  return Buffer.from(await book.xlsx.writeBuffer())
}
