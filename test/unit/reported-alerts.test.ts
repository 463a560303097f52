import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import type { Alert, AlertEvent } from '../../alerting/book/alert.js'
import { ReportedBook } from '../../alerting/reported/book.js'
import { MINEWATCH_MAPPING, mapAlertEvents, parseMapping } from '../../ingest/uplink/mapping.js'
import { decodeReported, reportedOf, type ReportedEvent } from '../../ingest/uplink/reported.js'
import { isoInZone } from '../../ingest/zone-time.js'

/**
 * 上报预警 (issue 16 item 3, 4; docs/uplink.md "Warning events"): a mine platform's warning events
 * as they go upstream and as a regulator keeps them.
 */
const zone = () => 'Asia/Shanghai'
// 2026-11-30 23:30 in Beijing: the last half hour of November there, already December 1 nowhere
const T = Date.UTC(2026, 10, 30, 15, 30)
const monthOf = (_: string, at: number) => isoInZone(at, 'Asia/Shanghai').slice(0, 7)

const alert = (over: Partial<Alert> = {}): Alert => ({
  id: 'a1',
  mineId: 'm1',
  subject: { type: 'device', id: 'p1', name: '1 号棱镜' },
  rule: 'rate',
  ruleKind: 'rate',
  class: 'warning',
  level: 'yellow',
  peak: 'yellow',
  state: 'open',
  normal: false,
  raisedAt: T,
  updatedAt: T,
  deadline: Date.UTC(2026, 10, 30, 16, 0),
  overdue: false,
  value: 6.2,
  threshold: 5,
  unit: 'mm/d',
  message: '位移速率 6.2 mm/d, 超过黄色阈值 5 mm/d',
  evidence: { series: Array.from({ length: 500 }, (_, i) => i) },
  ...over,
})
const event = (type: AlertEvent['type'], a: Alert, at = a.updatedAt, actor = 'system'): ReportedEvent => reportedOf({ type, alertId: a.id, mineId: a.mineId, at, actor, notify: false, alert: a })

describe('a mine platform’s warning events upstream', () => {
  it('minewatch/1 sends each event without the rule’s evidence, 20 a message on the mine’s uplink topic, in order; the regulator’s decoder takes them as sent', () => {
    const events = Array.from({ length: 45 }, (_, i) => event('level', alert({ updatedAt: T + i })))
    const messages = mapAlertEvents(MINEWATCH_MAPPING, events, zone)
    expect(messages.map((m) => [m.topic, m.readings])).toEqual([
      ['mines/m1/uplink/alerts', 20],
      ['mines/m1/uplink/alerts', 20],
      ['mines/m1/uplink/alerts', 5],
    ])
    expect(messages[0]!.payload).not.toContain('evidence')
    const back = messages.flatMap((m) => {
      const d = decodeReported(Buffer.from(m.payload), 'm1', 256 * 1024)
      if ('problem' in d) throw new Error(d.problem.message)
      return d.events
    })
    expect(back).toEqual(events)
  })

  it('a mapping file may send them in another format, the step’s time in the mine’s zone; one without an alerts section sends none', () => {
    const parsed = parseMapping(
      parseYaml(`
format: 1
name: 省平台
readings: { topic: "p/{mineCode}", payload: "{values}" }
alerts:
  topic: "prov/{mineCode}/yj"
  payload: { yjbh: "{alertId}", dj: "{level}", zt: "{state}", sj: "{time}", cd: "{deviceCode}", nr: "{message}" }
codes: { mines: { m1: "3706" }, devices: { p1: "3706-P1" } }
`),
    )
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'))
    const [m] = mapAlertEvents(parsed.mapping, [event('acknowledged', alert({ state: 'acknowledged', acknowledged: { by: 'u1', at: T } }))], zone)
    expect(m!.topic).toBe('prov/3706/yj')
    expect(JSON.parse(m!.payload)).toEqual({ yjbh: 'a1', dj: 'yellow', zt: 'acknowledged', sj: '2026-11-30T23:30:00.000+08:00', cd: '3706-P1', nr: alert().message })
    const none = parseMapping({ format: 1, name: 'x', readings: { topic: 't', payload: '{values}' } })
    expect(none.ok && mapAlertEvents(none.mapping, [event('raised', alert())], zone)).toEqual([])
    const bad = parseMapping({ format: 1, name: 'x', readings: { topic: 't', payload: '{values}' }, alerts: { topic: 'x/{nope}', payload: '{event}' } })
    expect(!bad.ok && bad.errors).toEqual([expect.stringContaining('alerts.topic: unknown field {nope} for a warning event')])
  })

  it.each([
    ['not JSON', '{', 'BAD_JSON'],
    ['not an array', '{"type":"raised"}', 'BAD_ALERT_EVENT'],
    ['an empty array', '[]', 'BAD_ALERT_EVENT'],
    ['another mine’s event', JSON.stringify([event('raised', alert({ mineId: 'm2' }))]), 'BAD_ALERT_EVENT'],
    ['an unknown level', JSON.stringify([{ ...event('raised', alert()), alert: { ...event('raised', alert()).alert, level: 'purple' } }]), 'BAD_ALERT_EVENT'],
    ['a message of 2 kB', JSON.stringify([event('raised', alert({ message: 'x'.repeat(2001) }))]), 'BAD_ALERT_EVENT'],
    ['201 events', JSON.stringify(Array.from({ length: 201 }, () => event('raised', alert()))), 'BATCH_TOO_LONG'],
  ])('refuses %s whole, with its code', (_, text, code) => {
    const d = decodeReported(Buffer.from(text), 'm1', 256 * 1024)
    expect('problem' in d && d.problem.code).toBe(code)
  })
})

describe('the regulator’s book of reported warnings', () => {
  it('keeps each warning as the mine last said, and counts its month in the mine’s time zone by the highest level reached', () => {
    const book = new ReportedBook(monthOf)
    const raised = alert()
    const rose = alert({ level: 'orange', peak: 'orange', updatedAt: T + 60_000 })
    const signed = alert({ level: 'orange', peak: 'orange', state: 'acknowledged', acknowledged: { by: 'u1', at: T + 120_000 }, updatedAt: T + 120_000 })
    const done = alert({ level: 'orange', peak: 'orange', state: 'resolved', normal: true, resolved: { by: 'u1', at: T + 180_000, note: '已清理' }, updatedAt: T + 180_000 })
    for (const [type, a] of [
      ['raised', raised],
      ['level', rose],
      ['acknowledged', signed],
    ] as const)
      expect(book.apply(event(type, a))).toBe(true)
    expect(book.counts('m1')).toEqual({ open: 1, byLevel: { blue: 0, yellow: 0, orange: 1, red: 0 }, overdue: 0 })
    // raised at 23:30 on November 30 in Beijing (15:30 UTC): November's, not December's
    expect(book.tally(['m1'], '2026-11')).toEqual({ raised: 1, byLevel: { blue: 0, yellow: 0, orange: 1, red: 0 }, resolved: 0, resolvedSameDay: 0, overdue: 0 })
    expect(book.apply(event('resolved', done))).toBe(true)
    expect(book.tally(['m1'], '2026-11')).toMatchObject({ raised: 1, resolved: 1, resolvedSameDay: 1 })
    expect(book.list(new Set(['m1']), 10).map((a) => a.state)).toEqual(['resolved'])
    expect(book.tally(['m1'], '2026-12').raised).toBe(0)
  })

  it('changes nothing when a chunk is sent again (the same steps, or older ones) after a reconnect', () => {
    const book = new ReportedBook(monthOf)
    const steps = [
      event('raised', alert()),
      event('level', alert({ level: 'red', peak: 'red', updatedAt: T + 1 })),
      event('overdue', alert({ level: 'red', peak: 'red', overdue: true, updatedAt: T + 2 })),
    ]
    for (const e of steps) book.apply(e)
    const before = { counts: book.counts('m1'), tally: book.tally(['m1'], '2026-11'), list: book.list(new Set(['m1']), 10) }
    // the whole chunk again, at least once: the same steps change nothing, the older ones are older
    expect(steps.map((e) => book.apply(e))).toEqual([false, false, false])
    expect({ counts: book.counts('m1'), tally: book.tally(['m1'], '2026-11'), list: book.list(new Set(['m1']), 10) }).toEqual(before)
    expect(before.tally).toEqual({ raised: 1, byLevel: { blue: 0, yellow: 0, orange: 0, red: 1 }, resolved: 0, resolvedSameDay: 0, overdue: 1 })
  })

  it('lets resolved warnings go after a week, keeping the month’s figures; a snapshot restores both', () => {
    const book = new ReportedBook(monthOf)
    book.apply(event('raised', alert({ id: 'a1' })))
    book.apply(event('resolved', alert({ id: 'a1', state: 'resolved', resolved: { by: 'u', at: T + 10, note: '' }, updatedAt: T + 10 })))
    book.apply(event('raised', alert({ id: 'a2', level: 'blue', peak: 'blue' })))
    expect(book.prune(T + 5)).toBe(0)
    expect(book.prune(T + 7 * 86_400_000)).toBe(1)
    const again = new ReportedBook(monthOf)
    again.restore(JSON.parse(JSON.stringify(book.snapshot())))
    expect(again.list(new Set(['m1']), 10).map((a) => a.id)).toEqual(['a2'])
    expect(again.tally(['m1'], '2026-11')).toEqual({ raised: 2, byLevel: { blue: 1, yellow: 1, orange: 0, red: 0 }, resolved: 1, resolvedSameDay: 1, overdue: 0 })
    expect(again.tally(['m1', 'm2'], '2026-11')).toEqual(again.tally(['m1'], '2026-11'))
  })
})
