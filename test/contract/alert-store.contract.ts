import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AlertBook } from '../../alerting/book/book.js'
import type { AlertEvent } from '../../alerting/book/alert.js'
import type { AlertEventStore } from '../../alerting/store.js'

/** The alert-event port (alerting/store.ts), run against every adapter. */
export function alertStoreContract(name: string, open: () => Promise<AlertEventStore & { close(): Promise<void> }>) {
  describe(`Alert event store contract: ${name}`, () => {
    let store: AlertEventStore & { close(): Promise<void> }
    beforeEach(async () => {
      store = await open()
    })
    afterEach(async () => {
      await store.close()
    })

    const T = Date.parse('2026-11-23T10:00:00+08:00')
    function history(id = `it's "a1"`) {
      const book = new AlertBook(() => id)
      const ctx = {
        mineId: 'm1',
        subject: { type: 'device' as const, id: 'p07', name: 'P-07' },
        ruleKind: 'rate',
        class: 'warning' as const,
        timeZone: 'Asia/Shanghai',
        message: '东帮边坡 P-07 三维位移速率 12.4 mm/d',
      }
      const events: AlertEvent[] = [...book.onLevel(ctx, { type: 'level', rule: 'r', from: null, to: 'yellow', value: 6, unit: 'mm/d', ts: T }, T)]
      // signed in the same millisecond: the book still gives it its own time
      const ack = book.acknowledge(id, 'wang', T)
      if (ack.ok) events.push(ack.event)
      events.push(...book.onLevel(ctx, { type: 'level', rule: 'r', from: 'yellow', to: 'red', value: 25, unit: 'mm/d', ts: T + 5 }, T + 5))
      return events
    }

    it('keeps every event of an alert, in order, and gives its latest for the rebuild', async () => {
      const events = history()
      await store.appendAlertEvents(events)
      expect((await store.alertHistory(events[0]!.alertId)).map((e) => e.type)).toEqual(['raised', 'acknowledged', 'level'])
      const latest = await store.latestAlertEvents()
      expect(latest).toHaveLength(1)
      expect(latest[0]).toEqual(events[2])
      expect(latest[0]!.alert).toMatchObject({ state: 'acknowledged', level: 'red', message: '东帮边坡 P-07 三维位移速率 12.4 mm/d' })
    })

    it('takes the same events twice without doubling them (a replay after a crash)', async () => {
      const events = history('a2')
      await store.appendAlertEvents(events)
      await store.appendAlertEvents(events)
      expect(await store.alertHistory('a2')).toHaveLength(3)
    })

    it('pages the resolved warnings of the mines asked for, the latest resolved first, before a time', async () => {
      const events: AlertEvent[] = []
      // five warnings, resolved an hour apart, in two mines; one left unresolved
      for (let i = 0; i < 6; i++) {
        const book = new AlertBook(() => `r${i}`)
        const mineId = i % 2 === 0 ? 'm1' : 'm2'
        const at = T + i * 3_600_000
        const ctx = { mineId, subject: { type: 'device' as const, id: `p${i}`, name: `P-${i}` }, ruleKind: 'rate', class: 'warning' as const, timeZone: 'Asia/Shanghai', message: `P-${i}` }
        events.push(...book.onLevel(ctx, { type: 'level', rule: 'r', from: null, to: 'yellow', value: 12, unit: 'mm/d', ts: at }, at))
        if (i === 5) continue
        const ack = book.acknowledge(`r${i}`, 'wang', at + 30_000)
        const resolved = book.resolve(`r${i}`, 'wang', '已复测', at + 60_000)
        if (!ack.ok || !resolved.ok) throw new Error('the book refused')
        events.push(ack.event, resolved.event)
      }
      await store.appendAlertEvents(events)
      const page = (q: { mines: string[]; before?: number; limit: number }) => store.resolvedAlerts(q).then((as) => as.map((a) => [a.id, a.state]))
      expect(await page({ mines: ['m1', 'm2'], before: T + 10 * 3_600_000, limit: 3 })).toEqual([
        ['r4', 'resolved'],
        ['r3', 'resolved'],
        ['r2', 'resolved'],
      ])
      // the next page starts before the last one's resolve time
      const last = (await store.resolvedAlerts({ mines: ['m1', 'm2'], before: T + 10 * 3_600_000, limit: 3 })).at(-1)!
      expect(await page({ mines: ['m1', 'm2'], before: last.updatedAt, limit: 3 })).toEqual([
        ['r1', 'resolved'],
        ['r0', 'resolved'],
      ])
      // no time given: the latest
      expect(await page({ mines: ['m1', 'm2'], limit: 1 })).toEqual([['r4', 'resolved']])
      // only the mines asked for
      expect(await page({ mines: ['m2'], before: T + 10 * 3_600_000, limit: 10 })).toEqual([
        ['r3', 'resolved'],
        ['r1', 'resolved'],
      ])
      expect(await page({ mines: [], before: T + 10 * 3_600_000, limit: 10 })).toEqual([])
    })

    it('rebuilds, when asked, without the warnings resolved before a time, keeping every unresolved one however old', async () => {
      const events: AlertEvent[] = []
      // three warnings: resolved 10 days ago, resolved an hour ago, and raised 30 days ago and still open
      const ages = { old: 10 * 86_400_000, recent: 3_600_000, open: 30 * 86_400_000 }
      for (const [id, age] of Object.entries(ages)) {
        const book = new AlertBook(() => id)
        const at = T - age
        const ctx = { mineId: 'm1', subject: { type: 'device' as const, id: `p-${id}`, name: id }, ruleKind: 'rate', class: 'warning' as const, timeZone: 'Asia/Shanghai', message: id }
        events.push(...book.onLevel(ctx, { type: 'level', rule: 'r', from: null, to: 'yellow', value: 12, unit: 'mm/d', ts: at - 60_000 }, at - 60_000))
        if (id === 'open') continue
        const ack = book.acknowledge(id, 'wang', at - 30_000)
        const resolved = book.resolve(id, 'wang', '已复测', at)
        if (!ack.ok || !resolved.ok) throw new Error('the book refused')
        events.push(ack.event, resolved.event)
      }
      await store.appendAlertEvents(events)
      const ids = async (since?: number) => (await store.latestAlertEvents(since)).map((e) => e.alertId).sort()
      expect(await ids()).toEqual(['old', 'open', 'recent'])
      expect(await ids(T - 7 * 86_400_000)).toEqual(['open', 'recent'])
    })

    it('keeps alerts apart', async () => {
      await store.appendAlertEvents([...history('x1'), ...history('x2').slice(0, 1)])
      const latest = await store.latestAlertEvents()
      expect(latest.map((e) => [e.alertId, e.type]).sort()).toEqual([
        ['x1', 'level'],
        ['x2', 'raised'],
      ])
    })
  })
}
