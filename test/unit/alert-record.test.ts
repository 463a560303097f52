import { describe, expect, it } from 'vitest'
import type { Alert, AlertEvent } from '../../alerting/book/alert.js'
import { alertRecord, type CallTrace } from '../../dashboard/alert-record.js'

const T0 = Date.parse('2026-11-30T18:00:00Z') // 02:00 in Shanghai, the next day
const base: Alert = {
  id: 'w1',
  mineId: 'm',
  subject: { type: 'device', id: 'p7', name: 'P-07' },
  rule: 'rate',
  ruleKind: 'rate',
  class: 'warning',
  level: 'yellow',
  peak: 'yellow',
  state: 'open',
  normal: false,
  raisedAt: T0,
  updatedAt: T0,
  deadline: T0 + 22 * 3_600_000,
  overdue: false,
  value: 6,
  unit: 'mm/d',
  message: 'P-07 位移速率 6 mm/d',
}
const ev = (type: AlertEvent['type'], at: number, actor: string, alert: Partial<Alert> = {}, from?: Alert['level'], to?: Alert['level']): AlertEvent => ({
  type,
  alertId: 'w1',
  mineId: 'm',
  at,
  actor,
  notify: false,
  ...(from ? { from, to } : {}),
  alert: { ...base, ...alert },
})

describe('处置记录: a warning’s events and its calls’ steps as one timeline', () => {
  it('tells each book event and each call step in Chinese, by name, in time order, in the mine’s zone', () => {
    const events = [
      ev('raised', T0, 'system'),
      ev('level', T0 + 60_000, 'system', { level: 'orange', message: 'P-07 位移速率 2 mm/h' }, 'yellow', 'orange'),
      ev('level', T0 + 120_000, 'system', { level: 'yellow' }, 'orange', 'yellow'),
      ev('acknowledged', T0 + 300_000, 'contact:duty'),
      ev('assigned', T0 + 400_000, 'u1', { assigned: { by: 'u1', to: '张工', at: T0 + 400_000 } }),
      ev('normal', T0 + 500_000, 'system'),
      ev('overdue', T0 + 22 * 3_600_000, 'system'),
      ev('resolved', T0 + 23 * 3_600_000, 'u1', { resolved: { by: 'u1', at: T0, note: '已加密观测' } }),
    ]
    const calls: CallTrace[] = [
      {
        id: 'c1',
        contactName: '值班 王',
        channel: 'wecom',
        step: 0,
        round: 1,
        trace: [
          { t: 'queued', at: T0 },
          { t: 'attempt', at: T0 + 10_000, error: 'HTTP 502' },
          { t: 'attempt', at: T0 + 30_000, error: 'HTTP 502' },
          { t: 'delivered', at: T0 + 70_000 },
        ],
      },
      {
        id: 'c2',
        contactName: '李',
        channel: 'sms',
        step: 1,
        round: 0,
        trace: [
          { t: 'queued', at: T0 + 200_000 },
          { t: 'failed', at: T0 + 250_000, error: 'timeout' },
        ],
      },
    ]
    const names: Record<string, string> = { 'contact:duty': '值班 王 (通知链接)', u1: '安全负责人 李' }
    const record = alertRecord(events, calls, 'Asia/Shanghai', (id) => names[id])
    expect(record.map((e) => [e.time.slice(11, 19), e.who, e.text])).toEqual([
      ['02:00:00', '系统', '发布黄色预警: P-07 位移速率 6 mm/d'],
      // at the same instant, the event before the call it caused
      ['02:00:00', '系统', '叫应: 通知 值班 王 (wecom, 第 1 步第 2 轮)'],
      ['02:00:10', '系统', '通知 值班 王 第 1 次发送失败, 稍后重试: HTTP 502'],
      ['02:00:30', '系统', '通知 值班 王 第 2 次发送失败, 稍后重试: HTTP 502'],
      ['02:01:00', '系统', '升级为橙色预警: P-07 位移速率 2 mm/h'],
      ['02:01:10', '系统', '通知已送达 值班 王 (wecom)'],
      ['02:02:00', '系统', '降级为黄色预警: P-07 位移速率 6 mm/d'],
      ['02:03:20', '系统', '叫应: 通知 李 (sms, 第 2 步)'],
      ['02:04:10', '系统', '通知 李 发送失败, 已放弃: timeout'],
      ['02:05:00', '值班 王 (通知链接)', '值班 王 (通知链接) 签收'],
      ['02:06:40', '安全负责人 李', '安全负责人 李 指派给 张工'],
      ['02:08:20', '系统', '信号已恢复正常 (预警仍待处置)'],
      ['00:00:00', '系统', '当天未处置, 已超期'],
      ['01:00:00', '安全负责人 李', '安全负责人 李 处置完成: 已加密观测'],
    ])
    expect(record[0]!.time).toBe('2026-12-01T02:00:00.000+08:00')
    expect(record.filter((e) => e.callId === 'c1').map((e) => e.type)).toEqual(['call.queued', 'call.attempt', 'call.attempt', 'call.delivered'])
  })

  it('names an actor the site no longer knows by the id the book kept', () => {
    const record = alertRecord([ev('acknowledged', T0, 'gone-user')], [], 'Asia/Shanghai', () => undefined)
    expect(record[0]!.text).toBe('gone-user 签收')
  })
})
