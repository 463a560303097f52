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
