import { describe, expect, it } from 'vitest'
import { AlertBook } from '../../alerting/book/book.js'
import type { AlertEvent } from '../../alerting/book/alert.js'
import type { AlertEventStore } from '../../alerting/store.js'
import { startTestPlatform } from '../helpers/platform.js'

const DAY = 86_400_000

/** One warning of a device, raised and resolved at these times, as the book writes its events. */
function resolvedWarning(id: string, deviceId: string, raisedAt: number, resolvedAt: number): AlertEvent[] {
  const book = new AlertBook(() => id)
  const ctx = {
    mineId: 'mine-a',
    subject: { type: 'device' as const, id: deviceId, name: deviceId },
    ruleKind: 'threshold',
    class: 'warning' as const,
    timeZone: 'Asia/Shanghai',
    message: `${deviceId} 预警`,
  }
  const events = book.onLevel(ctx, { type: 'level', rule: 'r', from: null, to: 'orange', value: 4.3, unit: 'm', ts: raisedAt }, raisedAt)
  const ack = book.acknowledge(id, 'disp-a', raisedAt + 60_000)
  const done = book.resolve(id, 'disp-a', '已核查', resolvedAt)
  if (!ack.ok || !done.ok) throw new Error('the book refused')
  return [...events, ack.event, done.event]
}

/**
 * History over a long range (README, "The web screens", 历史数据): a device's warnings older than
 * the book's days come from the record of resolved warnings, however many of the mine's other
 * warnings were resolved after them (the record was read once, for its latest 200).
 */
describe('history of a device over months', () => {
  it('draws a warning resolved a month ago behind 1,200 of the mine’s later ones, and says the range was covered', async () => {
    const t = await startTestPlatform()
    const now = Date.now()
    const events = resolvedWarning('old-piezo', 'a-piezo', now - 30 * DAY, now - 29 * DAY)
    for (let i = 0; i < 1200; i++) events.push(...resolvedWarning(`prism-${i}`, 'a-prism', now - 20 * DAY + i * 60_000, now - 10 * DAY + i * 60_000))
    // the record as the alert writer leaves it (the platform's store is the SQLite one of the alert events too)
    await (t.platform.store as unknown as AlertEventStore).appendAlertEvents(events)
    const q = `device=a-piezo&metric=depth&from=${now - 40 * DAY}&to=${now}&every=1d`
    const answer = await t.admin(`/api/readings?${q}`)
    expect(answer.status).toBe(200)
    expect(answer.body.alerts.map((a: any) => a.id)).toEqual(['old-piezo'])
    expect(answer.body.alertsComplete).toBe(true)
    // the prism's 1,200 are all there too, on its own history
    const prism = await t.admin(`/api/readings?device=a-prism&metric=dE&from=${now - 40 * DAY}&to=${now}&every=1d`)
    expect(prism.body.alerts).toHaveLength(1200)
    await t.stop()
  })
})
