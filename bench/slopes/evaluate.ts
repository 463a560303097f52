import { AlertBook } from '../../alerting/book/book.js'
import { rulesFor } from '../../alerting/config.js'
import { AlertEngine } from '../../alerting/engine.js'
import { RANK, type Level } from '../../alerting/rules/levels.js'
import type { InverseVelocityRule, InverseVelocityState } from '../../alerting/rules/inverse-velocity.js'
import { classOf } from '../../alerting/rules/index.js'
import type { Series } from '../../simulators/families.js'
import { failureTimeBound } from './bound.js'

/**
 * One series through the platform's real rule engine and warning book, with the built-in rules of
 * a prism: what rang, when, and what the forecast said at 48, 24 and 12 hours before the failure.
 */
const HOUR = 3_600_000

export interface Ring {
  readonly ts: number
  readonly rule: string
  readonly level: Level
  readonly class: string
}

export interface SeriesResult {
  readonly series: Series
  /** Every time the seat was made to ring (a warning raised, risen, or back after normal). */
  readonly rings: readonly Ring[]
  /** Hours before the failure of the first warning at each level or above (failing series). */
  readonly lead: Partial<Record<'yellow' | 'orange' | 'red', number>>
  /** Forecast error (central forecast − actual failure, hours) at these leads; undefined when no forecast. */
  readonly error: Partial<Record<48 | 24 | 12, number>>
  /** The same for the time with the margin (what the warning's text leads with and the levels judge). */
  readonly safeError: Partial<Record<48 | 24 | 12, number>>
  /**
   * The least spread (1 SD, hours) any method could have at 24 h lead on this series' readings: the
   * Cramér–Rao bound with α unknown (bound.ts). Failing series only.
   */
  readonly bound24?: number
  /** The forecasts made (time, failure time), for the plots. */
  readonly forecasts: readonly [number, number][]
}

export const LEADS = [48, 24, 12] as const

export function evaluateSeries(series: Series): SeriesResult {
  const device = {
    id: 'p',
    name: 'P',
    kind: 'prism' as const,
    mineId: 'm',
    timeZone: 'Asia/Shanghai',
    intervalMs: 600_000,
    mineStatus: 'producing' as const,
    rules: rulesFor('prism', {}, {}, []),
  }
  let n = 0
  const book = new AlertBook(() => `a${++n}`)
  const engine = new AlertEngine([device], book, series.start)
  const rings: Ring[] = []
  const error: SeriesResult['error'] = {}
  const safeError: SeriesResult['safeError'] = {}
  const forecasts: [number, number][] = []
  const pendingLeads = [...LEADS]
  const ruleClass = new Map(device.rules.map((r) => [r.id, classOf(r)]))
  for (const r of series.readings) {
    const events = engine.onReadings([{ deviceId: 'p', mineId: 'm', kind: 'prism', ts: r.ts, values: r.values }], r.ts)
    for (const e of events) if (e.notify && e.alert.subject.type === 'device') rings.push({ ts: e.at, rule: e.alert.rule, level: e.alert.level, class: ruleClass.get(e.alert.rule) ?? 'warning' })
    const iv = engine.peek('p', 'inverse-velocity') as InverseVelocityState | undefined
    const f = iv?.last
    const fresh = iv?.lastTs === r.ts
    if (fresh && f?.failureTs !== undefined) forecasts.push([r.ts, f.failureTs])
    if (series.failAt !== undefined) {
      while (pendingLeads.length > 0 && r.ts >= series.failAt - pendingLeads[0]! * HOUR) {
        const lead = pendingLeads.shift()!
        // the forecast made with the reading at that moment
        error[lead] = fresh && f?.failureTs !== undefined ? (f.failureTs - series.failAt) / HOUR : undefined
        safeError[lead] = fresh && f?.safeTs !== undefined ? (f.safeTs - series.failAt) / HOUR : undefined
      }
    }
  }
  const lead: SeriesResult['lead'] = {}
  if (series.failAt !== undefined) {
    for (const level of ['yellow', 'orange', 'red'] as const) {
      const first = rings.find((g) => g.class === 'warning' && RANK[g.level] >= RANK[level])
      if (first) lead[level] = (series.failAt - first.ts) / HOUR
    }
  }
  const iv = device.rules.find((r): r is InverseVelocityRule => r.kind === 'inverseVelocity')!
  const bound24 =
    series.failAt !== undefined && series.alpha !== undefined
      ? failureTimeBound({
          times: series.readings.filter((r) => r.ts <= series.failAt! - 24 * HOUR).map((r) => r.ts),
          start: series.start,
          failAt: series.failAt,
          alpha: series.alpha,
          v0: series.params.v0!,
          sigma: series.params.sigma!,
          windowDays: iv.window / 86_400,
        })
      : undefined
  return { series, rings, lead, error, safeError, forecasts, ...(bound24 === undefined ? {} : { bound24 }) }
}
