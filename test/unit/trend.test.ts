import { describe, expect, it } from 'vitest'
import { ruleSchema, type Rule } from '../../alerting/rules/index.js'
import { seriesOf, thin, trendOf } from '../../dashboard/trend.js'

const rule = (r: object): Rule => ruleSchema.parse(r)

describe('the trend chart of a warning', () => {
  it('draws a threshold rule’s series with its lines, in the metric’s unit', () => {
    const r = rule({ kind: 'threshold', id: 'depth', source: { metric: 'depth' }, direction: 'below', thresholds: { orange: 4.4, red: 4 } })
    const t = trendOf(r, 'piezometer', undefined)!
    expect(t).toMatchObject({ label: '浸润线埋深', unit: 'm', metrics: ['depth'], forecast: null, legend: '橙 ≤ 4.4 m · 红 ≤ 4 m' })
    expect(t.lines).toEqual([
      { level: 'orange', value: 4.4 },
      { level: 'red', value: 4 },
    ])
  })

  it('derives a prism’s horizontal displacement as the rule does', () => {
    const r = rule({ kind: 'threshold', id: 'horizontal', source: { derived: 'horizontal' }, direction: 'above', thresholds: { red: 50 } })
    const t = trendOf(r, 'prism', undefined)!
    expect(t).toMatchObject({ label: '水平位移', unit: 'mm', metrics: ['dN', 'dE'], lines: [{ level: 'red', value: 50 }] })
    const series = seriesOf(r, 'prism', {
      dN: [
        { ts: 2, value: 3 },
        { ts: 1, value: 0 },
      ],
      dE: [
        { ts: 1, value: 0 },
        { ts: 2, value: 4 },
        { ts: 3, value: 1 },
      ],
    })
    // joined by time; a time with dE but no dN gives no horizontal value
    expect(series).toEqual([
      [1, 0],
      [2, 5],
    ])
  })

  it('draws a rate rule’s chart as the velocity it judged at each reading, in mm/d, with its thresholds as lines', () => {
    const r = rule({ kind: 'rate', id: 'rate-day', source: { derived: 'horizontal' }, window: 86_400, per: 'day', thresholds: { yellow: 10, red: 50 } })
    const t = trendOf(r, 'prism', undefined)!
    expect(t).toMatchObject({ label: '水平位移速率 (24 h 窗口)', unit: 'mm/d', metrics: ['dN', 'dE'], legend: '黄 ≥ 10 mm/d · 红 ≥ 50 mm/d', lookbackMs: 86_400_000 })
    expect(t.lines).toEqual([
      { level: 'yellow', value: 10 },
      { level: 'red', value: 50 },
    ])
    // moving east at 12 mm a day, every 10 minutes, for three days; the chart starts after the first day
    const T = Date.parse('2026-11-01T00:00:00Z')
    const n = 3 * 144
    const dN = Array.from({ length: n }, (_, i) => ({ ts: T + i * 600_000, value: 0.2 }))
    const dE = Array.from({ length: n }, (_, i) => ({ ts: T + i * 600_000, value: (12 * i) / 144 }))
    const series = seriesOf(r, 'prism', { dN, dE }, T + 86_400_000)
    expect(series.length).toBeGreaterThan(250)
    expect(series[0]![0]).toBeGreaterThanOrEqual(T + 86_400_000)
    // the velocity the rule judged: 12 mm/d, not the displacement's 12–36 mm
    for (const [, v] of series) expect(v).toBeCloseTo(12, 0)
  })

  it('draws a rain gauge’s 24-h sum, as the accumulation rule judges it, with its threshold lines and the window read before the chart', () => {
    const r = rule({ kind: 'accumulation', id: 'rain-24h', source: { metric: 'rainfall' }, window: 86_400, thresholds: { yellow: 50, orange: 100 } })
    const t = trendOf(r, 'rain', undefined)!
    expect(t).toMatchObject({ label: '24 h 累计降雨量', unit: 'mm', metrics: ['rainfall'], legend: '黄 ≥ 50 mm · 橙 ≥ 100 mm', lookbackMs: 86_400_000 })
    expect(t.lines).toEqual([
      { level: 'yellow', value: 50 },
      { level: 'orange', value: 100 },
    ])
    const H = 3_600_000
    // 10 mm an hour for 30 hours, read from 24 h before the chart's start (at hour 24)
    const rain = Array.from({ length: 30 }, (_, i) => ({ ts: (i + 1) * H, value: 10 }))
    const series = seriesOf(r, 'rain', { rainfall: rain }, 24 * H)
    // at hour 24 the window (0, 24 h] holds 24 readings; later ones drop the oldest as they come
    expect(series[0]).toEqual([24 * H, 240])
    expect(series.at(-1)).toEqual([30 * H, 240])
    expect(series).toHaveLength(7)
    // a dry day after the rain empties the sum
    const dry = seriesOf(r, 'rain', { rainfall: [...rain, { ts: 56 * H, value: 0 }] }, 0)
    expect(dry.at(-1)).toEqual([56 * H, 0])
    expect(dry[0]).toEqual([H, 10])
  })

  it('carries the inverse-velocity forecast of the warning’s evidence', () => {
    const r = rule({ kind: 'inverseVelocity', id: 'iv', source: { derived: 'total' }, thresholds: { orange: 72, red: 24 } })
    const t = trendOf(r, 'gnss', { evidence: { failureTs: 1000, hoursLeft: 20.5, safeHoursLeft: 15, earliestTs: 800, latestTs: 1500, alpha: 2.1 } })!
    expect(t.metrics).toEqual(['dN', 'dE', 'dU'])
    expect(t.forecast).toEqual({ failureTs: 1000, hoursLeft: 20.5, safeHoursLeft: 15, earliestTs: 800, latestTs: 1500, alpha: 2.1, madeAt: null })
    expect(t.legend).toBe('橙 < 72 h · 红 < 24 h')
  })

  it('shows the rule’s live forecast and its history rather than the one frozen in the evidence', () => {
    const r = rule({ kind: 'inverseVelocity', id: 'iv', source: { derived: 'total' } })
    const evidence = { evidence: { failureTs: 1000, hoursLeft: 20.5, safeHoursLeft: 15, earliestTs: 800, latestTs: 1500, alpha: 2.1 } }
    const history = [[100, 2000, 1900, 1800, 2400] as const]
    const live = trendOf(r, 'prism', evidence, { last: { reason: 'FORECAST', ts: 500, failureTs: 2100, hoursLeft: 9, safeHoursLeft: 8, earliestTs: 1900, latestTs: 2600, alpha: 1.8 }, history })!
    expect(live.forecast).toEqual({ failureTs: 2100, hoursLeft: 9, safeHoursLeft: 8, earliestTs: 1900, latestTs: 2600, alpha: 1.8, madeAt: 500 })
    expect(live.status).toBeNull()
    expect(live.history).toEqual(history)
    // the rule no longer forecasts: no forecast, and why, with the history that led there
    const stopped = trendOf(r, 'prism', evidence, { last: { reason: 'LEVELLING_OFF', ts: 600, why: '速度增长趋缓' }, history })!
    expect(stopped.forecast).toBeNull()
    expect(stopped.status).toEqual({ reason: 'LEVELLING_OFF', why: '速度增长趋缓', madeAt: 600 })
    expect(stopped.history).toEqual(history)
    // a rule that has not fitted yet since it started: the evidence is all there is
    expect(trendOf(r, 'prism', evidence, { last: null, history: [] })!.forecast).toMatchObject({ failureTs: 1000, madeAt: null })
  })

  it('has no chart for a rule that watches no series', () => {
    expect(trendOf(rule({ kind: 'silence', id: 'silence' }), 'rain', undefined)).toBeUndefined()
  })

  it('thins a long series to the mean of equal runs', () => {
    const points = Array.from({ length: 10 }, (_, i) => [i, i] as [number, number])
    expect(thin(points, 20)).toHaveLength(10)
    expect(thin(points, 5)).toEqual([
      [1, 0.5],
      [3, 2.5],
      [5, 4.5],
      [7, 6.5],
      [9, 8.5],
    ])
  })
})
