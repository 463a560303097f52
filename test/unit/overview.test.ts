import { describe, expect, it } from 'vitest'
import type { Alert } from '../../alerting/book/alert.js'
import { overview, type OverviewMine } from '../../dashboard/overview.js'
import { endOfDay } from '../../ingest/zone-time.js'

const TZ = 'Asia/Shanghai'
const now = Date.parse('2026-12-02T15:00:00+08:00')
const H = 3_600_000

function alert(id: string, mineId: string, level: Alert['level'], raisedAt: number, over: Partial<Alert> = {}): Alert {
  return {
    id,
    mineId,
    subject: { type: 'device', id: `${mineId}-d`, name: `${mineId} 测点` },
    rule: 'r',
    ruleKind: 'threshold',
    class: 'warning',
    level,
    peak: level,
    state: 'open',
    normal: false,
    raisedAt,
    updatedAt: raisedAt,
    deadline: endOfDay(raisedAt, TZ),
    overdue: false,
    value: 1,
    unit: 'm',
    message: `${id} 预警`,
    ...over,
  } as Alert
}

const mines: OverviewMine[] = [
  { id: 'a', name: '甲矿', regionName: '甲市', timezone: TZ, devices: [{ id: 'a1' }, { id: 'a2' }, { id: 'a3' }] },
  { id: 'b', name: '乙矿', regionName: '乙市', timezone: TZ, devices: [{ id: 'b1' }] },
  { id: 'c', name: '丙矿', regionName: '甲市', timezone: TZ, devices: [{ id: 'c1' }, { id: 'c2' }] },
]
const online = new Set(['a1', 'a2', 'c1'])

describe('the regulators’ 大屏 in figures', () => {
  const alerts = [
    // today: a red and a yellow at mine A, the yellow handled before the end of the day
    alert('t1', 'a', 'red', now - 2 * H),
    alert('t2', 'a', 'yellow', now - 3 * H, { state: 'resolved', resolved: { by: 'u', at: now - H, note: 'ok' } }),
    // today at mine C: an orange, signed
    alert('t3', 'c', 'orange', now - 4 * H, { state: 'acknowledged', acknowledged: { by: 'u', at: now - 3 * H } }),
    // yesterday at mine B: overdue, still open
    alert('y1', 'b', 'blue', now - 24 * H, { overdue: true }),
    // eight days ago: outside the seven days
    alert('o1', 'a', 'red', now - 8 * 24 * H, { state: 'resolved', resolved: { by: 'u', at: now - 8 * 24 * H + H, note: 'ok' } }),
    // another region's mine: not this person's
    alert('x1', 'z', 'red', now - H),
  ]
  const o = overview(alerts, mines, (id) => online.has(id), now)

  it('counts connected mines and the devices’ 在线率', () => {
    expect(o.mines).toEqual({ total: 3, connected: 2 })
    expect(o.devices).toEqual({ total: 6, online: 3, rate: 0.5 })
    expect(o.date).toBe('2026-12-02')
  })

  it('counts today’s warnings by level, the share handled the same day, and what is overdue now', () => {
    expect(o.today).toEqual({ raised: 3, byLevel: { blue: 0, yellow: 1, orange: 1, red: 1 }, resolvedSameDay: 1, handledRate: 1 / 3, open: 2 })
    expect(o.overdue).toBe(1)
  })

  it('gives seven local days of warnings, oldest first, today last', () => {
    expect(o.days.map((d) => d.date)).toEqual(['2026-11-26', '2026-11-27', '2026-11-28', '2026-11-29', '2026-11-30', '2026-12-01', '2026-12-02'])
    expect(o.days.at(-1)!.byLevel).toEqual({ blue: 0, yellow: 1, orange: 1, red: 1 })
    expect(o.days.at(-2)!.byLevel).toEqual({ blue: 1, yellow: 0, orange: 0, red: 0 })
    expect(o.days.reduce((n, d) => n + d.byLevel.red, 0)).toBe(1)
  })

  it('ranks the mines by their worst open warning, then overdue, open and offline', () => {
    expect(o.ranking.map((m) => [m.id, m.worst, m.open, m.overdue, m.offline])).toEqual([
      ['a', 'red', 1, 0, 1],
      ['c', 'orange', 1, 0, 1],
      ['b', 'blue', 1, 1, 1],
    ])
  })

  it('breaks a tie of worst level by overdue, then by unresolved warnings', () => {
    const tie = overview(
      [alert('p1', 'a', 'yellow', now - H), alert('p2', 'a', 'blue', now - 2 * H), alert('q1', 'b', 'yellow', now - H, { overdue: true }), alert('r1', 'c', 'yellow', now - H)],
      mines,
      (id) => online.has(id),
      now,
    )
    // b: overdue; a: two unresolved; c: one (by name alone 丙矿 would come before 甲矿)
    expect(tie.ranking.map((m) => m.id)).toEqual(['b', 'a', 'c'])
  })

  it('lists the newest warnings of the day, newest first, of these mines only', () => {
    // y1 was raised 24 h ago: no longer among the day's
    expect(o.recent.map((r) => r.alertId)).toEqual(['t1', 't2', 't3'])
    expect(o.recent[0]).toMatchObject({ mineName: '甲矿', level: 'red', subject: 'a 测点' })
  })
})
