import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AlertEvent } from '../../alerting/book/alert.js'
import { InfluxStore } from '../../infra/influx-store.js'
import { SqliteStore } from '../../infra/sqlite-store.js'
import { StoreThread } from '../../infra/store-thread.js'
import { joinArrays } from '../../ingest/journal/join.js'
import { encodeRecord, HEADER_BYTES } from '../../ingest/journal/record.js'
import type { Reading } from '../../ingest/reading.js'
import { eventually } from '../helpers/eventually.js'
import { INFLUX_ADMIN, startInflux, type TestInflux } from '../helpers/influxdb.js'
import { memoryLog } from '../helpers/journal.js'

/**
 * The store's writes on their own thread (infra/store-thread.ts): the journal's records go as
 * JSON and come out in the real store, read back by the main thread's own connection; a store
 * that refuses says why and keeps the thread; a thread that dies is told.
 */
const T0 = Date.parse('2026-11-20T00:00:00Z')
const prism = (deviceId: string, ts: number, dN: number): Reading => ({ mineId: 'm1', deviceId, kind: 'prism', ts, values: { dN, dE: -dN, dH: 0.5 }, seq: ts / 1000 })
/** What the journal holds for a record: its JSON, as the writer hands it over. */
const payloadOf = (items: readonly unknown[]) => encodeRecord(items).subarray(HEADER_BYTES)

let influx: TestInflux
const dirs: string[] = []
beforeAll(async () => {
  influx = await startInflux({ auth: true })
})
afterAll(async () => {
  await influx?.dispose()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describe('joining the journal’s records', () => {
  it('makes one JSON array of their items, in order, skipping empty ones', () => {
    const records = [[prism('a', T0, 1)], [], [prism('b', T0, 2), prism('c', T0, 3)], [{ text: '含 "引号", 逗号, [方括号]' }]]
    const joined = joinArrays(records.map(payloadOf))
    expect(JSON.parse(new TextDecoder().decode(joined))).toEqual(records.flat())
    expect(JSON.parse(new TextDecoder().decode(joinArrays([])))).toEqual([])
  })
})

describe('the store thread', () => {
  it('writes readings and alert events to SQLite, read back on this thread’s own connection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'minewatch-store-thread-'))
    dirs.push(dir)
    const file = join(dir, 'minewatch.db')
    const here = new SqliteStore(file)
    const thread = await StoreThread.start({ kind: 'sqlite', file }, memoryLog(), () => undefined)
    const records = Array.from({ length: 50 }, (_, i) => [prism('p1', T0 + i * 2000, i), prism('p1', T0 + i * 2000 + 1000, i + 0.5)])
    await thread.readings.writePayloads(records.map(payloadOf))
    const points = await here.range({ deviceId: 'p1', metric: 'dN', from: T0, to: T0 + 100_000, limit: 1000 })
    expect(points).toEqual(records.flat().map((r) => ({ ts: r.ts, value: r.values.dN })))
    expect(await here.latest('p1')).toEqual({ ts: T0 + 99_000, values: { dN: 49.5, dE: -49.5, dH: 0.5 }, seq: (T0 + 99_000) / 1000 })
    const event = { type: 'raised', alertId: 'a1', mineId: 'm1', at: T0, actor: 'system', notify: true, alert: { id: 'a1', mineId: 'm1', state: 'open' } } as unknown as AlertEvent
    await thread.events.writePayloads([payloadOf([event])])
    expect(await here.alertHistory('a1')).toEqual([event])
    await thread.stop()
    await here.close()
  })

  it('says why InfluxDB refused a batch, keeps going, and writes it once InfluxDB is back', async () => {
    await influx.query('CREATE DATABASE "thread"')
    const cfg = { url: influx.url, bucket: 'thread', username: INFLUX_ADMIN.username, password: INFLUX_ADMIN.password, timeoutMs: 2000 }
    const here = new InfluxStore(cfg, () => 'prism', memoryLog())
    const log = memoryLog()
    const thread = await StoreThread.start({ kind: 'influx', cfg }, log, () => undefined)
    const batch = [payloadOf([prism('p1', T0, 1), prism('p1', T0 + 1000, 2)])]
    await influx.stop()
    await expect(thread.readings.writePayloads(batch)).rejects.toThrow(/InfluxDB at http:\/\/127.0.0.1:\d+ refuses connections \(is it running\?\)/)
    await influx.start()
    await eventually(async () => (await thread.readings.writePayloads(batch), true), 15_000, 250)
    expect(await here.range({ deviceId: 'p1', metric: 'dN', from: T0, to: T0 + 2000, limit: 10 })).toEqual([
      { ts: T0, value: 1 },
      { ts: T0 + 1000, value: 2 },
    ])
    // the thread's own log lines come out in the platform's log
    expect(log.lines.some((l) => l.msg.includes('writing line protocol'))).toBe(true)
    await thread.stop()
  })

  it('tells of a thread that died, and refuses later writes rather than leave them hanging', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'minewatch-store-thread-'))
    dirs.push(dir)
    const exited: Error[] = []
    const thread = await StoreThread.start({ kind: 'sqlite', file: join(dir, 'minewatch.db') }, memoryLog(), (err) => exited.push(err))
    // as if the thread crashed (out of memory, a native fault): its worker ends without being asked to
    await (thread as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate()
    await eventually(() => exited.length === 1)
    expect(exited[0]!.message).toMatch(/store thread exited/)
    await expect(thread.readings.writePayloads([payloadOf([prism('p1', T0, 1)])])).rejects.toThrow(/store thread exited/)
  })
})
