import type { Alert } from '../alerting/book/alert.js'
import type { Rule } from '../alerting/rules/index.js'
import { LEVELS, type Level } from '../alerting/rules/levels.js'
import { valueOf, type Source } from '../alerting/rules/series.js'
import { KINDS, type DeviceKind } from '../ingest/contract/kinds.js'
import type { MetricValue } from '../ingest/reading.js'
import type { Point } from '../ingest/store.js'

/**
 * What the seat's trend chart of a warning shows (issue 6 §4): the series the rule judged (a stored
 * metric, or the horizontal / total displacement derived from dN, dE, dH as the rule derives it),
 * the threshold lines where the thresholds are in the series' own unit (a threshold rule; a rate
 * rule's mm/d are not mm, so they go in the legend instead), and the inverse-velocity forecast.
 */
export interface TrendLine {
  readonly level: Level
  readonly value: number
}

export interface Trend {
  readonly label: string
  readonly unit: string
  /** The metrics to read from the store for this series. */
  readonly metrics: readonly string[]
  readonly lines: readonly TrendLine[]
  /** The rule's thresholds in their own unit, for the legend ("黄 ≥ 10 mm/d"). */
  readonly legend: string
  /** The failure forecast in the warning's evidence: central time, the interval, the hours left judged with the α margin. */
  readonly forecast: { readonly failureTs: number; readonly hoursLeft: number; readonly safeHoursLeft: number; readonly earliestTs: number | null; readonly latestTs: number | null; readonly alpha: number | null } | null
}

const LEVEL_NAME: Record<Level, string> = { blue: '蓝', yellow: '黄', orange: '橙', red: '红' }

function sourceOf(rule: Rule): Source | undefined {
  return 'source' in rule ? (rule.source as Source) : undefined
}

/** The series and lines for one rule of one device; undefined when the rule watches no series. */
export function trendOf(rule: Rule, kind: DeviceKind, alert: Pick<Alert, 'evidence'> | undefined): Trend | undefined {
  const source = sourceOf(rule)
  if (!source) return undefined
  const metrics = KINDS[kind].metrics as Record<string, { unit: string; label: string }>
  const derived = 'derived' in source
  const label = derived ? (source.derived === 'horizontal' ? '水平位移' : '合位移') : (metrics[source.metric]?.label ?? source.metric)
  const unit = derived ? 'mm' : (metrics[source.metric]?.unit ?? '')
  const read = derived ? ['dN', 'dE', ...(source.derived === 'total' ? [kind === 'gnss' ? 'dU' : 'dH'] : [])] : [source.metric]
  const thresholds = 'thresholds' in rule ? (rule.thresholds as Partial<Record<Level, number>>) : {}
  const ruleUnit = rule.kind === 'rate' ? `${unit}/${rule.per === 'hour' ? 'h' : 'd'}` : rule.kind === 'inverseVelocity' ? 'h' : unit
  const given = LEVELS.filter((l) => thresholds[l] !== undefined)
  const direction = rule.kind === 'inverseVelocity' ? '<' : 'direction' in rule && rule.direction === 'below' ? '≤' : '≥'
  const legend = given.map((l) => `${LEVEL_NAME[l]} ${direction} ${thresholds[l]} ${ruleUnit}`).join(' · ')
  const lines = rule.kind === 'threshold' ? given.map((level) => ({ level, value: thresholds[level]! })) : []
  const e = alert?.evidence as { failureTs?: unknown; hoursLeft?: unknown; safeHoursLeft?: unknown; earliestTs?: unknown; latestTs?: unknown; alpha?: unknown } | undefined
  const num = (x: unknown) => (typeof x === 'number' ? x : null)
  const forecast =
    rule.kind === 'inverseVelocity' && typeof e?.failureTs === 'number'
      ? { failureTs: e.failureTs, hoursLeft: Number(e.hoursLeft), safeHoursLeft: Number(e.safeHoursLeft ?? e.hoursLeft), earliestTs: num(e.earliestTs), latestTs: num(e.latestTs), alpha: num(e.alpha) }
      : null
  return { label, unit, metrics: read, lines, legend, forecast }
}

/** Joins the metrics' points by timestamp and derives the rule's value at each. */
export function seriesOf(rule: Rule, kind: DeviceKind, byMetric: Readonly<Record<string, readonly Point[]>>): [number, number][] {
  const source = sourceOf(rule)
  if (!source) return []
  const rows = new Map<number, Record<string, MetricValue>>()
  for (const [metric, points] of Object.entries(byMetric)) {
    for (const p of points) {
      const row = rows.get(p.ts) ?? {}
      row[metric] = p.value
      rows.set(p.ts, row)
    }
  }
  const out: [number, number][] = []
  for (const [ts, values] of [...rows].sort((a, b) => a[0] - b[0])) {
    const v = valueOf({ deviceId: '', mineId: '', kind, ts, values }, source)
    if (v !== undefined) out.push([ts, v])
  }
  return out
}

/** At most `max` points: the mean of equal runs of consecutive points (a chart needs no more). */
export function thin(points: readonly [number, number][], max: number): [number, number][] {
  if (points.length <= max) return [...points]
  const size = Math.ceil(points.length / max)
  const out: [number, number][] = []
  for (let i = 0; i < points.length; i += size) {
    const run = points.slice(i, i + size)
    out.push([run.at(-1)![0], run.reduce((s, p) => s + p[1], 0) / run.length])
  }
  return out
}
