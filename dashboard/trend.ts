import type { Alert } from '../alerting/book/alert.js'
import type { Rule } from '../alerting/rules/index.js'
import { evaluateRate, initialRate, type RateRule } from '../alerting/rules/rate.js'
import { LEVELS, type Level } from '../alerting/rules/levels.js'
import { WINDOW_SAMPLES, valueOf, type Source } from '../alerting/rules/series.js'
import { KINDS, type DeviceKind } from '../ingest/contract/kinds.js'
import type { MetricValue } from '../ingest/reading.js'
import type { Point } from '../ingest/store.js'

/**
 * What the seat's trend chart of a warning shows (README, "The web screens"): the series the rule judged (a stored
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
  /**
   * The failure forecast: the latest the rule made (live, refitted as readings arrive), or, without
   * the rule's state, the one in the warning's evidence. Central time, interval, hours left judged
   * with the α margin, and when it was made.
   */
  readonly forecast: TrendForecast | null
  /** Why the rule does not forecast now (its latest evaluation), when it does not. */
  readonly status: { readonly reason: string; readonly why: string; readonly madeAt: number } | null
  /** The forecasts of the last days, oldest first: [made at, failure, failure with the margin, earliest, latest]. */
  readonly history: readonly (readonly [number, number, number, number, number])[]
  /**
   * How far before the chart's start the readings must be read (ms): an accumulation's sum at
   * the first point of the chart covers the window before it.
   */
  readonly lookbackMs: number
}

export interface TrendForecast {
  readonly failureTs: number
  readonly hoursLeft: number
  readonly safeHoursLeft: number
  readonly earliestTs: number | null
  readonly latestTs: number | null
  readonly alpha: number | null
  readonly madeAt: number | null
}

/** Readings a rate chart replays through its rule at most (judgedRates). */
const REPLAYED = 1500

const LEVEL_NAME: Record<Level, string> = { blue: '蓝', yellow: '黄', orange: '橙', red: '红' }

function sourceOf(rule: Rule): Source | undefined {
  return 'source' in rule ? (rule.source as Source) : undefined
}

/** The series and lines for one rule of one device; undefined when the rule watches no series. `state` is the rule's live state (the engine's). */
export function trendOf(rule: Rule, kind: DeviceKind, alert: Pick<Alert, 'evidence'> | undefined, state?: unknown): Trend | undefined {
  const source = sourceOf(rule)
  if (!source) return undefined
  const derived = 'derived' in source
  const metricLabel = sourceLabel(kind, source)
  // an accumulation judges the sum over its window (24-h rain), not each reading: that sum is the
  // series; a rate judges a velocity (mm/d), the series is the velocity it judged at each reading
  const label = rule.kind === 'accumulation' ? `${windowText(rule.window)} 累计${plainLabel(metricLabel)}` : rule.kind === 'rate' ? `${metricLabel}速率 (${windowText(rule.window)} 窗口)` : metricLabel
  const lookbackMs = rule.kind === 'accumulation' || rule.kind === 'rate' ? rule.window * 1000 : 0
  const seriesUnit = sourceUnit(kind, source)
  const unit = rule.kind === 'rate' ? `${seriesUnit}/${rule.per === 'hour' ? 'h' : 'd'}` : seriesUnit
  const read = derived ? ['dN', 'dE', ...(source.derived === 'total' ? [kind === 'gnss' ? 'dU' : 'dH'] : [])] : [source.metric]
  const thresholds = 'thresholds' in rule ? (rule.thresholds as Partial<Record<Level, number>>) : {}
  const ruleUnit = rule.kind === 'inverseVelocity' ? 'h' : unit
  const given = LEVELS.filter((l) => thresholds[l] !== undefined)
  const direction = rule.kind === 'inverseVelocity' ? '<' : 'direction' in rule && rule.direction === 'below' ? '≤' : '≥'
  const legend = given.map((l) => `${LEVEL_NAME[l]} ${direction} ${thresholds[l]} ${ruleUnit}`).join(' · ')
  // thresholds drawn as lines where they are in the series' own unit: a threshold's value, an accumulation's sum, a rate
  const lines = rule.kind === 'threshold' || rule.kind === 'accumulation' || rule.kind === 'rate' ? given.map((level) => ({ level, value: thresholds[level]! })) : []
  if (rule.kind !== 'inverseVelocity') return { label, unit, metrics: read, lines, legend, forecast: null, status: null, history: [], lookbackMs }
  // a rule that has not fitted since it started (a restart without a snapshot, the rules started
  // afresh after a drill) knows nothing newer than the warning's evidence
  const live = isForecastState(state) && state.last !== null ? state : undefined
  // the live forecast when the rule has one; the evidence's only where the rule's state is unknown
  // (a frozen forecast can be hours old: the level changed then, the slope went on moving)
  const last = live ? live.last : undefined
  const forecast = live ? (last?.reason === 'FORECAST' ? forecastOf(last) : null) : forecastOf(alert?.evidence)
  const status = last && last.reason !== 'FORECAST' ? { reason: last.reason, why: typeof last.why === 'string' ? last.why : '', madeAt: Number(last.ts) } : null
  return { label, unit, metrics: read, lines, legend, forecast, status, history: live?.history ?? [], lookbackMs }
}

/** "24 h", "1 h", "90 min": a window as a person says it. */
export function windowText(seconds: number): string {
  return seconds % 3600 === 0 ? `${seconds / 3600} h` : `${Math.round(seconds / 60)} min`
}

/** What a rule's source is called: a metric's label, or the displacement it derives. */
export function sourceLabel(kind: DeviceKind, source: Source): string {
  if ('derived' in source) return source.derived === 'horizontal' ? '水平位移' : '合位移'
  return (KINDS[kind].metrics as Record<string, { label: string }>)[source.metric]?.label ?? source.metric
}

/** A label without its note: 降雨量(自上次读数) → 降雨量, for "24 h 累计降雨量". */
export const plainLabel = (label: string) => label.replace(/\(.*\)$/, '')

/** A rule's source's unit: a metric's, or mm for a derived displacement. */
export function sourceUnit(kind: DeviceKind, source: Source): string {
  return 'derived' in source ? 'mm' : ((KINDS[kind].metrics as Record<string, { unit: string }>)[source.metric]?.unit ?? '')
}

interface ForecastState {
  readonly last: (Record<string, unknown> & { readonly reason: string }) | null
  readonly history: readonly (readonly [number, number, number, number, number])[]
}

function isForecastState(s: unknown): s is ForecastState {
  return typeof s === 'object' && s !== null && 'last' in s && 'history' in s && Array.isArray((s as ForecastState).history)
}

function forecastOf(e: Readonly<Record<string, unknown>> | null | undefined): TrendForecast | null {
  if (typeof e?.failureTs !== 'number') return null
  const num = (x: unknown) => (typeof x === 'number' ? x : null)
  return {
    failureTs: e.failureTs,
    hoursLeft: Number(e.hoursLeft),
    safeHoursLeft: Number(e.safeHoursLeft ?? e.hoursLeft),
    earliestTs: num(e.earliestTs),
    latestTs: num(e.latestTs),
    alpha: num(e.alpha),
    madeAt: num(e.ts),
  }
}

/**
 * Joins the metrics' points by timestamp and derives the rule's value at each: for an accumulation
 * the sum over its window ending at each reading, (ts − window, ts], as the rule sums it
 * (accumulation.ts); points before `from` only feed those sums.
 */
export function seriesOf(rule: Rule, kind: DeviceKind, byMetric: Readonly<Record<string, readonly Point[]>>, from = Number.NEGATIVE_INFINITY): [number, number][] {
  if (rule.kind === 'rate') return judgedRates(rule, kind, byMetric, from)
  const values = valuesOf(rule, kind, byMetric)
  if (rule.kind !== 'accumulation') return values.filter(([ts]) => ts >= from)
  const windowMs = rule.window * 1000
  const out: [number, number][] = []
  let first = 0
  let sum = 0
  for (const [ts, v] of values) {
    sum += v
    while (values[first]![0] <= ts - windowMs) sum -= values[first++]![1]
    // a running sum drifts by rounding over thousands of readings: never below zero for rain
    if (ts >= from) out.push([ts, Math.max(0, sum)])
  }
  return out
}

/**
 * A rate rule's velocity at each reading, as the rule judged it: the rule itself run over the
 * readings from a window before the chart (its steps bridged, its daily cycle fitted, its outliers
 * left out, exactly as in the engine), its judged value kept; the magnitude, which the levels judge.
 */
function judgedRates(rule: RateRule, kind: DeviceKind, byMetric: Readonly<Record<string, readonly Point[]>>, from: number): [number, number][] {
  let state = initialRate()
  const out: [number, number][] = []
  // the rule keeps one sample per 1/240 of its window (the newest of a closer stretch stands for
  // it), so readings closer than that add little; at most REPLAYED are judged, so that a chart of
  // 1-minute readings does not hold the event loop for a third of a second (issue 13)
  const rows = joined(byMetric)
  const spacing = Math.max((rule.window * 1000) / WINDOW_SAMPLES, ((rows.at(-1)?.[0] ?? 0) - (rows[0]?.[0] ?? 0)) / REPLAYED)
  let last = Number.NEGATIVE_INFINITY
  for (const [i, [ts, values]] of rows.entries()) {
    if (ts - last < spacing && i < rows.length - 1) continue
    last = ts
    state = evaluateRate(state, { deviceId: '', mineId: '', kind, ts, values }, rule, ts, { mineStatus: 'producing', timeZone: 'UTC' }).state
    if (ts >= from && state.judged !== undefined && state.lastTs === ts) out.push([ts, Math.abs(state.judged)])
  }
  return out
}

function joined(byMetric: Readonly<Record<string, readonly Point[]>>): [number, Record<string, MetricValue>][] {
  const rows = new Map<number, Record<string, MetricValue>>()
  for (const [metric, points] of Object.entries(byMetric)) {
    for (const p of points) {
      const row = rows.get(p.ts) ?? {}
      row[metric] = p.value
      rows.set(p.ts, row)
    }
  }
  return [...rows].sort((a, b) => a[0] - b[0])
}

function valuesOf(rule: Rule, kind: DeviceKind, byMetric: Readonly<Record<string, readonly Point[]>>): [number, number][] {
  const source = sourceOf(rule)
  if (!source) return []
  const out: [number, number][] = []
  for (const [ts, values] of joined(byMetric)) {
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
