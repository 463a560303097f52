import { KINDS, type DeviceKind } from '../../ingest/contract/kinds.js'
import { LEVEL_NAME } from '../rules/levels.js'
import type { Rule } from '../rules/index.js'
import type { LevelEvent } from '../rules/types.js'

/**
 * The warning's words, Chinese first, as a dispatcher reads them aloud: who, what, how much, and
 * against which threshold, e.g. `东帮边坡 P-07 三维位移速率 12.4 mm/d，超过橙色预警值 10 mm/d`.
 */
export function describe(rule: Rule, kind: DeviceKind, subject: string, e: LevelEvent, nameOf: (deviceId: string) => string | undefined = () => undefined): string {
  const n = (x: number | undefined) => (x === undefined ? '—' : Number.isFinite(x) ? String(Math.round(x * 100) / 100) : '∞')
  const level = e.to ? LEVEL_NAME[e.to] : null
  switch (rule.kind) {
    case 'silence': {
      const minutes = Math.round((e.value * Number((e.evidence?.intervalSeconds as number | undefined) ?? 0)) / 60)
      return level ? `${subject} 已 ${n(e.value)} 个上报周期${minutes ? ` (${minutes} min)` : ''}无数据，断线${level}预警` : `${subject} 恢复上报，断线解除`
    }
    case 'inverseVelocity': {
      // the level is judged on the hours left with the α margin (e.value); the central forecast
      // and its interval go alongside, so that the words and the trend agree
      const e2 = e.evidence as { hoursLeft?: number; earliestTs?: number; latestTs?: number; ts?: number; alpha?: number; why?: string } | undefined
      const interval =
        e2?.earliestTs !== undefined && e2.latestTs !== undefined && e2.ts !== undefined ? `，区间 ${n((e2.earliestTs - e2.ts) / 3_600_000)}–${n((e2.latestTs - e2.ts) / 3_600_000)} h` : ''
      return level
        ? `${subject} 加速变形，预测 ${n(e.value)} h 内失稳 (Voight 模型${e2?.hoursLeft === undefined ? '' : `中值 ${n(e2.hoursLeft)} h`}${interval})，进入${level}预警 (< ${n(e.threshold)} h)`
        : `${subject} 不再预测失稳 (${String(e2?.why ?? '')})`
    }
    case 'step': {
      const size = e.evidence?.size as number | undefined
      return level ? `${subject} 位移突变 ${n(size)} mm (疑似仪器重设、换站、棱镜碰动或真实滑移)，请现场核查，${level}预警；速率与预测已跨过该突变` : `${subject} 24 h 内无新的位移突变`
    }
    case 'pumpFailure': {
      const how = e.evidence?.running === false ? '未运行' : '运行但无流量'
      return level
        ? `${subject} 水泵${how}，${nameOf(rule.watch.device) ?? `${rule.watch.device} 水位`} ${n(e.value)} m 超过 ${n(e.threshold)} m，${level}预警`
        : `${subject} 排水恢复 (或水位回落)，预警条件解除`
    }
    case 'powerDuringSuspension':
      return level ? `${subject} 停产期间用电 ${n(e.value)} kW，高于待机负荷上限 ${n(e.threshold)} kW (疑似明停暗开)，${level}预警` : `${subject} 停产期间用电回到待机负荷以内`
    case 'videoOffline':
      return level ? `${subject} 生产期间视频离线 (无视频不作业)，${level}预警` : `${subject} 视频恢复`
    case 'dataQuality': {
      const problem = e.evidence?.problem === 'flat' ? `数值连续 ${rule.flatReadings} 次不变` : `数值突跳 (稳健 z = ${n(e.evidence?.z as number | undefined)})`
      return level ? `${subject} 数据异常: ${problem}，${level}预警` : `${subject} 数据恢复正常`
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

/** An item escalated by its points' count (GB 39496-2020 §5.5.4). */
export function describeItem(item: { readonly name: string }, e: LevelEvent): string {
  if (!e.to) return `${item.name} 各测点预警减少，监测项目升级解除`
  const below = { yellow: '蓝色', orange: '黄色', red: '橙色', blue: '' }[e.to]
  return `${item.name} ${e.value} 个测点达${below}及以上预警，按 GB 39496-2020 §5.5.4 监测项目升为${LEVEL_NAME[e.to]}预警`
}
