import { KINDS, type DeviceKind } from '../../ingest/contract/kinds.js'
import { LEVEL_NAME } from '../rules/levels.js'
import type { Rule } from '../rules/index.js'
import type { LevelEvent } from '../rules/types.js'

/**
 * The warning's words, Chinese first, as a dispatcher reads them aloud: who, what, how much, and
 * against which threshold, e.g. `东帮边坡 P-07 三维位移速率 12.4 mm/d，超过橙色预警值 10 mm/d`.
 */
export function describe(rule: Rule, kind: DeviceKind, subject: string, e: LevelEvent): string {
  const n = (x: number | undefined) => (x === undefined ? '—' : Number.isFinite(x) ? String(Math.round(x * 100) / 100) : '∞')
  const level = e.to ? LEVEL_NAME[e.to] : null
  switch (rule.kind) {
    case 'silence': {
      const minutes = Math.round((e.value * Number((e.evidence?.intervalSeconds as number | undefined) ?? 0)) / 60)
      return level
        ? `${subject} 已 ${n(e.value)} 个上报周期${minutes ? ` (${minutes} min)` : ''}无数据，断线${level}预警`
        : `${subject} 恢复上报，断线解除`
    }
    case 'inverseVelocity': {
      const r2 = e.evidence?.r2 as number | undefined
      return level
        ? `${subject} 反速度法预测 ${n(e.value)} h 后失稳${r2 === undefined ? '' : ` (R² ${n(r2)})`}，进入${level}预警 (< ${n(e.threshold)} h)`
        : `${subject} 反速度法不再预测失稳 (${String(e.evidence?.why ?? '')})`
    }
    default: {
      const label = quantity(rule, kind)
      const value = `${label} ${n(e.value)} ${e.unit}`
      if (!level) return `${subject} ${value}，已回到预警值以内`
      const below = rule.kind === 'threshold' && rule.direction === 'below'
      return `${subject} ${value}，${below ? '低于' : '超过'}${level}预警值 ${n(e.threshold)} ${e.unit}`
    }
  }
}

/** The name of what the rule measures: 库水位, 三维位移速率, 24 h 累计降雨量 … */
function quantity(rule: Rule, kind: DeviceKind): string {
  if (!('source' in rule)) return ''
  const src = rule.source
  const base = 'metric' in src ? ((KINDS[kind].metrics as Record<string, { label: string }>)[src.metric]?.label ?? src.metric) : src.derived === 'total' ? '三维位移' : '水平位移'
  if (rule.kind === 'rate') return `${base}速率`
  // "降雨量(自上次读数)": the per-reading note does not belong to a sum
  if (rule.kind === 'accumulation') return `${Math.round(rule.window / 3600)} h 累计${base.replace(/\(.*\)$/, '')}`
  return base
}
