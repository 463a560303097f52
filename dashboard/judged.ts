import type { Judged } from '../alerting/runner.js'
import type { Rule } from '../alerting/rules/index.js'
import type { Level } from '../alerting/rules/levels.js'
import { valueOf, type Source } from '../alerting/rules/series.js'
import type { DeviceKind } from '../ingest/contract/kinds.js'
import type { MetricValue } from '../ingest/reading.js'
import { plainLabel, sourceLabel, sourceUnit, windowText } from './trend.js'

/**
 * What a mine board's card shows first (issue: a prism showed 0.03 mm of one component and a calm
 * line while its rate rule stood at red): the quantities the rules judge, in their units, with
 * their levels. A slope's displacement as its rules derive it from the last reading, then each
 * rule's last judged value: a rate in mm/d or mm/h, a window's sum, a reading against a threshold,
 * the forecast's hours left with the margin while it forecasts.
 */
export interface JudgedView {
  readonly rule: string
  readonly label: string
  /** null: the rule has not judged yet (too little data, or just started). */
  readonly value: number | null
  readonly unit: string
  readonly level: Level | null
  /** The forecast failure time, for a forecast. */
  readonly failureTs?: number | null
}

export function judgedViews(kind: DeviceKind, rules: readonly Rule[], judged: Readonly<Record<string, Judged>>, last: Readonly<Record<string, MetricValue>> | undefined): JudgedView[] {
  const out: JudgedView[] = []
  const label = (s: Source) => plainLabel(sourceLabel(kind, s))
  const unit = (s: Source) => sourceUnit(kind, s)
  // a slope's displacement, as its first rate rule derives it (the components alone can hide it)
  const rate = rules.find((r) => r.kind === 'rate')
  if (rate && 'derived' in rate.source) {
    const v = last ? valueOf({ mineId: '', deviceId: '', kind, ts: 0, values: last }, rate.source) : undefined
    out.push({ rule: 'displacement', label: `累计${label(rate.source)}`, value: v ?? null, unit: 'mm', level: null })
  }
  for (const rule of rules) {
    const j = judged[rule.id]
    if (rule.kind === 'rate') {
      out.push({
        rule: rule.id,
        label: `${label(rule.source)}速率 (${windowText(rule.window)})`,
        value: j ? Math.abs(j.value) : null,
        unit: `${unit(rule.source)}/${rule.per === 'hour' ? 'h' : 'd'}`,
        level: j?.level ?? null,
      })
    } else if (rule.kind === 'accumulation') {
      out.push({ rule: rule.id, label: `${windowText(rule.window)} 累计${label(rule.source)}`, value: j?.value ?? null, unit: unit(rule.source), level: j?.level ?? null })
    } else if (rule.kind === 'threshold') {
      out.push({ rule: rule.id, label: label(rule.source), value: j?.value ?? null, unit: unit(rule.source), level: j?.level ?? null })
    } else if (rule.kind === 'inverseVelocity' && j) {
      out.push({ rule: rule.id, label: '预测失稳 (留余量)', value: j.value, unit: 'h', level: j.level, failureTs: j.failureTs ?? null })
    }
  }
  return out
}
