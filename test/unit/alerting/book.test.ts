import { describe, expect, it } from 'vitest'
import { AlertBook, type LevelContext } from '../../../alerting/book/book.js'
import { describe as describeLevel } from '../../../alerting/book/messages.js'
import { ruleSchema } from '../../../alerting/rules/index.js'
import type { LevelEvent } from '../../../alerting/rules/types.js'
import { isoInZone } from '../../../ingest/zone-time.js'

const at = (iso: string) => Date.parse(iso)
const ctx: LevelContext = {
  mineId: 'yt-jinshan',
  subject: { type: 'device', id: 'yt-prism-p07', name: '东帮边坡 P-07' },
  ruleKind: 'rate',
  class: 'warning',
  timeZone: 'Asia/Shanghai',
  message: 'm',
}
const level = (from: LevelEvent['from'], to: LevelEvent['to'], ts = 0, value = 12.4): LevelEvent => ({ type: 'level', rule: 'rate-day', from, to, value, threshold: 10, unit: 'mm/d', ts })
const book = () => {
  let n = 0
  return new AlertBook(() => `a${++n}`)
}

describe('the warning book', () => {
  it('opens one alert per (subject, rule); a rise re-notifies, a fall is recorded, normal is a flag', () => {
    const b = book()
    const t = at('2026-11-23T10:00:00+08:00')
    const [raised] = b.onLevel(ctx, level(null, 'yellow'), t)
    expect(raised).toMatchObject({ type: 'raised', notify: true, actor: 'system', alert: { id: 'a1', state: 'open', level: 'yellow', normal: false } })
    expect(b.onLevel(ctx, level('yellow', 'red'), t + 1)[0]).toMatchObject({ type: 'level', notify: true, from: 'yellow', to: 'red', alert: { id: 'a1', level: 'red', peak: 'red' } })
    expect(b.onLevel(ctx, level('red', 'orange'), t + 2)[0]).toMatchObject({ type: 'level', notify: false, to: 'orange', alert: { level: 'orange', peak: 'red' } })
    expect(b.onLevel(ctx, level('orange', null), t + 3)[0]).toMatchObject({ type: 'normal', notify: false, alert: { state: 'open', normal: true, level: 'orange' } })
    // back again at the same level within the quiet period: the same episode, recorded without a new ring
    expect(b.onLevel(ctx, level(null, 'orange'), t + 4)[0]).toMatchObject({ type: 'level', notify: false, alert: { id: 'a1', normal: false } })
    expect(b.get('a1')!.normalSince).toBeUndefined()
    expect(b.unresolved()).toHaveLength(1)
    // another rule on the same device is another alert
    expect(b.onLevel(ctx, { ...level(null, 'blue'), rule: 'rate-hour' }, t + 5)[0]!.alert.id).toBe('a2')
  })

  it('sounds a return after normal only when it is higher than before or comes after the quiet period', () => {
    const b = book()
    const t = at('2026-11-23T10:00:00+08:00')
    const h = 3_600_000
    b.onLevel(ctx, level(null, 'yellow'), t)
    b.onLevel(ctx, level('yellow', null), t + h)
    // higher than it was: a rise is always told
    expect(b.onLevel(ctx, level(null, 'orange'), t + 2 * h)[0]).toMatchObject({ type: 'level', notify: true, to: 'orange', alert: { id: 'a1' } })
    b.onLevel(ctx, level('orange', null), t + 3 * h)
    // the same level 11 h 59 min after it went normal: quiet; 12 h after the next normal: a new episode
    expect(b.onLevel(ctx, level(null, 'orange'), t + 3 * h + 12 * h - 60_000)[0]).toMatchObject({ notify: false })
    b.onLevel(ctx, level('orange', null), t + 16 * h)
    expect(b.onLevel(ctx, level(null, 'yellow'), t + 28 * h)[0]).toMatchObject({ notify: true, alert: { id: 'a1', level: 'yellow', peak: 'orange' } })
    // a mine that wants every return told sets a quiet period of 0
    b.onLevel(ctx, level('yellow', null), t + 29 * h)
    expect(b.onLevel({ ...ctx, quietMs: 0 }, level(null, 'yellow'), t + 29 * h + 1)[0]).toMatchObject({ notify: true })
    expect(b.unresolved()).toHaveLength(1)
  })

  it('forgets warnings resolved longer ago than it keeps, and never an unresolved one', () => {
    const b = book()
    const t = at('2026-11-01T10:00:00+08:00')
    const day = 86_400_000
    b.onLevel(ctx, level(null, 'yellow'), t)
    b.onLevel({ ...ctx, subject: { ...ctx.subject, id: 'old-open' } }, level(null, 'red'), t)
    b.acknowledge('a1', 'wang', t + 1)
    b.resolve('a1', 'wang', '已处置', t + 2)
    expect(b.prune(t + 6 * day, 7 * day)).toBe(0)
    expect(b.prune(t + 8 * day, 7 * day)).toBe(1)
    expect(b.all().map((a) => a.id)).toEqual(['a2'])
    expect(b.unresolved().map((a) => a.id)).toEqual(['a2'])
  })

  it('goes open → acknowledged → assigned → resolved, each step with who and when', () => {
    const b = book()
    const t = at('2026-11-23T10:00:00+08:00')
    b.onLevel(ctx, level(null, 'red'), t)
    const ack = b.acknowledge('a1', 'dispatcher-wang', t + 60_000)
    expect(ack).toMatchObject({ ok: true, event: { type: 'acknowledged', actor: 'dispatcher-wang', alert: { state: 'acknowledged', acknowledged: { by: 'dispatcher-wang', at: t + 60_000 } } } })
    expect(b.assign('a1', 'dispatcher-wang', '安全总监 李', t + 120_000)).toMatchObject({ ok: true, event: { alert: { state: 'assigned', assigned: { to: '安全总监 李' } } } })
    expect(b.assign('a1', 'dispatcher-wang', '技术员 赵', t + 130_000)).toMatchObject({ ok: true, event: { alert: { assigned: { to: '技术员 赵' } } } })
    const done = b.resolve('a1', 'director-li', '已撤离作业人员, 现场巡查确认', t + 3_600_000)
    expect(done).toMatchObject({ ok: true, event: { type: 'resolved', alert: { state: 'resolved', resolved: { by: 'director-li', note: '已撤离作业人员, 现场巡查确认' } } } })
    expect(b.unresolved()).toEqual([])
    // after it is resolved, the same condition opens a new warning
    expect(b.onLevel(ctx, level(null, 'yellow'), t + 3_700_000)[0]).toMatchObject({ type: 'raised', alert: { id: 'a2' } })
  })

  it.each([
    ['assign before signing', (b: AlertBook) => b.assign('a1', 'u', 'x', 1), 'MW_ALERT_NOT_ACKNOWLEDGED'],
    ['resolve before signing', (b: AlertBook) => b.resolve('a1', 'u', 'done', 1), 'MW_ALERT_NOT_ACKNOWLEDGED'],
    ['sign twice', (b: AlertBook) => (b.acknowledge('a1', 'u', 1), b.acknowledge('a1', 'v', 2)), 'MW_ALERT_ALREADY_ACKNOWLEDGED'],
    ['resolve without a note', (b: AlertBook) => (b.acknowledge('a1', 'u', 1), b.resolve('a1', 'u', '  ', 2)), 'MW_NOTE_REQUIRED'],
    ['assign to nobody', (b: AlertBook) => (b.acknowledge('a1', 'u', 1), b.assign('a1', 'u', '', 2)), 'MW_ASSIGNEE_REQUIRED'],
    ['sign a resolved warning', (b: AlertBook) => (b.acknowledge('a1', 'u', 1), b.resolve('a1', 'u', 'ok', 2), b.acknowledge('a1', 'u', 3)), 'MW_ALERT_RESOLVED'],
    ['resolve twice', (b: AlertBook) => (b.acknowledge('a1', 'u', 1), b.resolve('a1', 'u', 'ok', 2), b.resolve('a1', 'u', 'ok', 3)), 'MW_ALERT_RESOLVED'],
    ['an unknown warning', (b: AlertBook) => b.acknowledge('nope', 'u', 1), 'MW_ALERT_NOT_FOUND'],
  ])('refuses to %s with a clear code', (_name, act, code) => {
    const b = book()
    b.onLevel(ctx, level(null, 'red'), 0)
    const before = b.get('a1')
    const result = act(b)
    expect(result).toMatchObject({ ok: false, error: { code, message: expect.any(String) } })
    if (code !== 'MW_ALERT_RESOLVED' && code !== 'MW_NOTE_REQUIRED' && code !== 'MW_ASSIGNEE_REQUIRED' && code !== 'MW_ALERT_ALREADY_ACKNOWLEDGED') expect(b.get('a1')).toEqual(before)
  })

  it('is due at the end of the day it was raised in the mine time zone, across midnight', () => {
    const b = book()
    // 23:30 in Shanghai is 15:30 UTC: due at 00:00 Shanghai, half an hour later
    b.onLevel(ctx, level(null, 'orange'), at('2026-11-23T15:30:00Z'))
    expect(isoInZone(b.get('a1')!.deadline, 'Asia/Shanghai')).toBe('2026-11-24T00:00:00.000+08:00')
    // 00:30 Shanghai (16:30 UTC the day before) has the whole local day
    b.onLevel({ ...ctx, subject: { ...ctx.subject, id: 'p08' } }, level(null, 'orange'), at('2026-11-23T16:30:00Z'))
    expect(isoInZone(b.get('a2')!.deadline, 'Asia/Shanghai')).toBe('2026-11-25T00:00:00.000+08:00')
  })

  it('escalates an overdue warning once, and not one resolved in time', () => {
    const b = book()
    const t = at('2026-11-23T22:00:00+08:00')
    b.onLevel(ctx, level(null, 'red'), t)
    b.onLevel({ ...ctx, subject: { ...ctx.subject, id: 'p08' } }, level(null, 'red'), t)
    b.acknowledge('a2', 'u', t + 1)
    b.resolve('a2', 'u', '已处置', t + 2)
    expect(b.tick(at('2026-11-23T23:59:59+08:00'))).toEqual([])
    const overdue = b.tick(at('2026-11-24T00:00:00+08:00'))
    expect(overdue).toMatchObject([{ type: 'overdue', notify: true, alertId: 'a1', alert: { overdue: true } }])
    expect(b.tick(at('2026-11-24T08:00:00+08:00'))).toEqual([])
  })

  it('rebuilds from its events after a restart', () => {
    const b = book()
    const events = [...b.onLevel(ctx, level(null, 'red'), 1), ...b.onLevel({ ...ctx, subject: { ...ctx.subject, id: 'p08' } }, level(null, 'blue'), 2)]
    const ack = b.acknowledge('a1', 'u', 3)
    if (ack.ok) events.push(ack.event)
    const again = book()
    for (const e of events) again.apply(e)
    expect(again.unresolved()).toEqual(b.unresolved())
    expect(again.get('a1')!.state).toBe('acknowledged')
    // and it goes on from there: the same condition updates the open alert
    expect(again.onLevel(ctx, level('red', 'orange'), 4)[0]).toMatchObject({ type: 'level', alertId: 'a1' })
  })

  it('never goes back to an older state of a warning when an event is replayed twice or heard late (cluster mode)', () => {
    const b = book()
    const [raised] = b.onLevel(ctx, level(null, 'red'), 1)
    const ack = b.acknowledge('a1', 'u', 2)
    if (!ack.ok) throw new Error('not signed')
    const copy = book()
    copy.apply(ack.event)
    // the raise, heard after the signing (or replayed again)
    copy.apply(raised!)
    expect(copy.get('a1')).toEqual(b.get('a1'))
    expect(copy.get('a1')!.state).toBe('acknowledged')
  })

  it('forgets one mine’s warnings and ticks only the mines it is told to', () => {
    const b = book()
    const t = at('2026-11-23T22:00:00+08:00')
    b.onLevel(ctx, level(null, 'red'), t)
    b.onLevel({ ...ctx, mineId: 'bt-baishi', subject: { ...ctx.subject, id: 'bt-p01' } }, level(null, 'red'), t)
    expect(b.tick(at('2026-11-24T00:00:00+08:00'), (m) => m === 'bt-baishi').map((e) => e.mineId)).toEqual(['bt-baishi'])
    b.dropMine('yt-jinshan')
    expect(b.all().map((a) => a.mineId)).toEqual(['bt-baishi'])
    expect(b.openFor('yt-prism-p07', 'rate-day')).toBeUndefined()
  })
})

describe('warning messages (Chinese first)', () => {
  it.each([
    [
      { kind: 'rate', id: 'rate-day', source: { derived: 'total' }, window: 86400, thresholds: { orange: 10 } },
      'prism',
      level(null, 'orange'),
      '东帮边坡 P-07 三维位移速率 12.4 mm/d，超过橙色预警值 10 mm/d',
    ],
    [
      { kind: 'threshold', id: 'd', source: { metric: 'depth' }, direction: 'below', thresholds: { red: 4 } },
      'piezometer',
      { ...level(null, 'red'), value: 3.95, threshold: 4, unit: 'm' },
      '东帮边坡 P-07 浸润线埋深 3.95 m，低于红色预警值 4 m',
    ],
    [{ kind: 'accumulation', id: 'r' }, 'rain', { ...level(null, 'yellow'), value: 52.5, threshold: 50, unit: 'mm' }, '东帮边坡 P-07 24 h 累计降雨量 52.5 mm，超过黄色预警值 50 mm'],
    [
      { kind: 'silence', id: 's' },
      'rain',
      { ...level(null, 'yellow'), value: 3, threshold: 3, unit: '个周期', evidence: { intervalSeconds: 300 } },
      '东帮边坡 P-07 已 3 个上报周期 (15 min)无数据，断线黄色预警',
    ],
    [
      { kind: 'inverseVelocity', id: 'iv' },
      'prism',
      { ...level('orange', 'red'), value: 18.46, threshold: 24, unit: 'h', evidence: { hoursLeft: 22.04, ts: 0, earliestTs: 15 * 3_600_000, latestTs: 40 * 3_600_000 } },
      '东帮边坡 P-07 加速变形，预测 18.46 h 内失稳 (Voight 模型中值 22.04 h，区间 15–40 h)，进入红色预警 (< 24 h)',
    ],
  ] as const)('%#: %s', (rule, kind, e, text) => {
    expect(describeLevel(ruleSchema.parse(rule), kind, '东帮边坡 P-07', e as LevelEvent)).toBe(text)
  })
})
