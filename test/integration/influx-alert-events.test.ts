import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AlertEvent } from '../../alerting/book/alert.js'
import { InfluxStore } from '../../infra/influx-store.js'
import { startInflux, type TestInflux } from '../helpers/influxdb.js'
import { memoryLog } from '../helpers/journal.js'

/**
 * The warning book's record in InfluxDB over years: no tag takes a value per warning. InfluxDB
 * 1.x refuses a tag its 100,001st value (`max-values-per-tag`), and the record was tagged with the
 * alert's id, so after 100,000 warnings every new event was refused (found by bench/history.ts).
 * Here the limit is 10, so the 11th warning would be refused the same way.
 */
const LIMIT = 10
let influx: TestInflux
let n = 0
beforeAll(async () => {
  influx = await startInflux({ maxValuesPerTag: LIMIT })
})
afterAll(async () => {
  await influx?.dispose()
})

async function freshStore() {
  const db = `alerts_${++n}`
  await influx.query(`CREATE DATABASE "${db}"`)
  const log = memoryLog()
  return { store: new InfluxStore({ url: influx.url, bucket: db }, () => undefined, log), db, log }
}

const T = Date.parse('2026-11-23T10:00:00+08:00')
function event(alertId: string, type: AlertEvent['type'], at: number, mineId = 'm1'): AlertEvent {
  const state = type === 'resolved' ? 'resolved' : type === 'acknowledged' ? 'acknowledged' : 'open'
  return { type, alertId, mineId, at, actor: 'system', notify: type === 'raised', alert: { id: alertId, mineId, state, updatedAt: at } } as unknown as AlertEvent
}

describe('the warning book in InfluxDB', () => {
  it(`keeps every event of ${5 * LIMIT} warnings in one mine, beyond a limit of ${LIMIT} values per tag, refusing none`, async () => {
    const { store, log } = await freshStore()
    const events = Array.from({ length: 5 * LIMIT }, (_, i) => [
      event(`w${i}`, 'raised', T + i * 1000),
      event(`w${i}`, 'acknowledged', T + i * 1000 + 1),
      event(`w${i}`, 'resolved', T + i * 1000 + 2),
    ]).flat()
    // a few at a time, as the book writes them (InfluxDB checks the limit between writes, not within one)
    for (let i = 0; i < events.length; i += 3) await store.appendAlertEvents(events.slice(i, i + 3))
    expect(log.lines.filter((l) => l.level === 'error')).toEqual([])
    const latest = await store.latestAlertEvents()
    expect(latest.map((e) => [e.alertId, e.type])).toEqual(Array.from({ length: 5 * LIMIT }, (_, i) => [`w${i}`, 'resolved']))
    expect((await store.alertHistory(`w${5 * LIMIT - 1}`)).map((e) => e.type)).toEqual(['raised', 'acknowledged', 'resolved'])
    expect((await store.resolvedAlerts({ mines: ['m1'], limit: 3 })).map((a) => a.id)).toEqual(['w49', 'w48', 'w47'])
    await store.close()
  })

  it('pages through warnings resolved over two years, the latest first, each once', async () => {
    const { store } = await freshStore()
    const DAY = 86_400_000
    // 30 warnings, one resolved every 25 days, in two mines
    const events = Array.from({ length: 30 }, (_, i) => event(`y${i}`, 'resolved', T - (29 - i) * 25 * DAY, i % 2 === 0 ? 'm1' : 'm2'))
    await store.appendAlertEvents(events)
    const seen: string[] = []
    let before: number | undefined
    for (;;) {
      const page = await store.resolvedAlerts({ mines: ['m1', 'm2'], limit: 7, ...(before === undefined ? {} : { before }) })
      seen.push(...page.map((a) => a.id))
      if (page.length < 7) break
      before = page.at(-1)!.updatedAt
    }
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => `y${29 - i}`))
    await store.close()
  })

  it('keeps apart the events of warnings of one mine that change in the same millisecond', async () => {
    const { store } = await freshStore()
    const same = ['a', 'b', 'c', 'd', 'e'].map((id) => event(id, 'raised', T))
    await store.appendAlertEvents(same)
    expect((await store.latestAlertEvents()).map((e) => e.alertId).sort()).toEqual(['a', 'b', 'c', 'd', 'e'])
    for (const e of same) expect(await store.alertHistory(e.alertId)).toEqual([e])
    await store.close()
  })

  it('rebuilds the book across weeks and reads the record a database written before this change holds (the id in a tag)', async () => {
    const { store, db } = await freshStore()
    // as the store wrote before: tags alert and mine, the time in ms
    const old = event('old-1', 'raised', T - 40 * 86_400_000)
    const line = `alert_events,alert=old-1,mine=m1 type="raised",body=${JSON.stringify(JSON.stringify(old))} ${old.at}`
    const res = await fetch(`${influx.url}/write?db=${db}&precision=ms`, { method: 'POST', body: line })
    expect(res.status).toBe(204)
    const later = event('new-1', 'raised', T)
    await store.appendAlertEvents([later, event('old-1', 'resolved', T + 5)])
    expect((await store.alertHistory('old-1')).map((e) => e.type)).toEqual(['raised', 'resolved'])
    expect((await store.latestAlertEvents()).map((e) => [e.alertId, e.type])).toEqual([
      ['new-1', 'raised'],
      ['old-1', 'resolved'],
    ])
    await store.close()
  })
})
