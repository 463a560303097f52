import { describe, expect, it } from 'vitest'
import type { AlertEvent } from '../../../alerting/book/alert.js'
import { AlertBook } from '../../../alerting/book/book.js'
import { AlertEngine, ITEM_RULE, type EngineDevice } from '../../../alerting/engine.js'
import { aggregate, itemSchema } from '../../../alerting/rules/aggregation.js'
import { ruleSchema } from '../../../alerting/rules/index.js'
import type { Level } from '../../../alerting/rules/levels.js'
import type { Reading } from '../../../ingest/reading.js'

const T0 = Date.parse('2026-11-23T09:00:00+08:00')
const esc = itemSchema.parse({ id: 'i', name: 'n', devices: ['a', 'b'] }).escalation

describe('GB 39496-2020 §5.5.4 item escalation', () => {
  it.each([
    [['blue', 'blue', 'blue'], null],
    [['blue', 'blue', 'blue', 'blue'], 'yellow'],
    [['yellow', 'blue', 'blue', 'blue'], null], // yellow, but a point already says yellow
    [['orange', 'blue', 'blue', 'blue'], null],
    [['yellow', 'yellow', 'yellow'], 'orange'],
    [['orange', 'yellow', 'yellow'], null],
    [['yellow', 'yellow', 'yellow', 'blue'], 'orange'],
    [['orange', 'orange'], 'red'],
    [['red', null, null], null], // one red point is already a red warning: nothing to add
    [['yellow', 'yellow', null, null], null],
  ] as [(Level | null)[], Level | null][])('%j → %s', (points, level) => {
    expect(aggregate(points, esc).level).toBe(level)
  })
})

describe('the engine, from readings to the book', () => {
  const blueAt5 = ruleSchema.parse({ kind: 'threshold', id: 'depth', source: { metric: 'depth' }, direction: 'below', thresholds: { blue: 5, yellow: 4.6, orange: 4.4, red: 4.0 } })
  const piezo = (id: string): EngineDevice => ({ id, name: `坝体 ${id}`, kind: 'piezometer', mineId: 'm1', timeZone: 'Asia/Shanghai', intervalMs: 600_000, mineStatus: 'producing', rules: [blueAt5] })
  const depth = (id: string, i: number, value: number): Reading => ({ mineId: 'm1', deviceId: id, kind: 'piezometer', ts: T0 + i * 60_000, values: { depth: value } })

  function setup() {
    let n = 0
    const book = new AlertBook(() => `a${++n}`)
    const ids = ['z1', 'z2', 'z3', 'z4']
    const engine = new AlertEngine(ids.map(piezo), book, T0, {}, [{ ...itemSchema.parse({ id: 'dam-phreatic', name: '主坝浸润线', devices: ids }), mineId: 'm1', timeZone: 'Asia/Shanghai' }])
    return { engine, book }
  }

  it('makes the item yellow when its fourth point turns blue, and clears it when one recovers', () => {
    const { engine } = setup()
    const events: AlertEvent[] = []
    for (const [i, id] of ['z1', 'z2', 'z3'].entries()) events.push(...engine.onReadings([depth(id, i, 4.9)], T0 + i))
    expect(events.filter((e) => e.alert.rule === ITEM_RULE)).toEqual([])
    events.push(...engine.onReadings([depth('z4', 3, 4.9)], T0 + 3))
    const item = events.filter((e) => e.alert.rule === ITEM_RULE)
    expect(item).toMatchObject([{ type: 'raised', notify: true, alert: { subject: { type: 'item', id: 'dam-phreatic' }, level: 'yellow', ruleKind: 'aggregation' } }])
    expect(item[0]!.alert.message).toBe('主坝浸润线 4 个测点达蓝色及以上预警，按 GB 39496-2020 §5.5.4 监测项目升为黄色预警')
    const back = engine.onReadings([depth('z1', 4, 5.5)], T0 + 4)
    expect(back.map((e) => [e.alert.subject.id, e.type])).toEqual([
      ['z1', 'normal'],
      ['dam-phreatic', 'normal'],
    ])
  })

  it('keeps each device and rule apart, and counts what it evaluated', () => {
    const { engine, book } = setup()
    engine.onReadings([depth('z1', 0, 4.5), depth('z2', 0, 3.9), { ...depth('z3', 0, 6), values: { other: 1 } }], T0)
    expect(book.unresolved().map((a) => [a.subject.id, a.level])).toEqual([
      ['z2', 'red'],
      ['z1', 'yellow'],
    ])
    expect(engine.evaluations).toBe(3)
  })

  it('starts again from a snapshot of its rule state without raising anything twice', () => {
    const { engine, book } = setup()
    engine.onReadings([depth('z1', 0, 4.5)], T0)
    const again = new AlertEngine(['z1'].map(piezo), book, T0, engine.snapshot())
    expect(again.onReadings([depth('z1', 1, 4.5)], T0 + 1)).toEqual([])
    expect(again.onReadings([depth('z1', 2, 4.3)], T0 + 2)).toMatchObject([{ type: 'level', to: 'orange' }])
  })
})
