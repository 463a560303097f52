import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Reading } from '../../ingest/reading.js'
import type { Store } from '../../ingest/store.js'

/**
 * The Store port's contract (ingest/store.ts), run against every adapter: the embedded SQLite
 * store now, InfluxDB with the durable-ingest work. Only the port is used here.
 */
export function storeContract(name: string, open: () => Promise<Store>, dispose: (store: Store) => Promise<void> = (s) => s.close()) {
  describe(`Store contract: ${name}`, () => {
    let store: Store
    beforeEach(async () => {
      store = await open()
    })
    afterEach(async () => {
      await dispose(store)
    })

    const T0 = Date.parse('2026-11-20T00:00:00Z')
    const reading = (deviceId: string, ts: number, values: Reading['values'], seq?: number): Reading => ({
      mineId: 'm1',
      deviceId,
      kind: 'pump',
      ts,
      values,
      ...(seq === undefined ? {} : { seq }),
    })

    it('writes a batch and reads a metric back in time order over [from, to)', async () => {
      await store.write([reading('p1', T0 + 2000, { flow: 12.5 }), reading('p1', T0, { flow: 10 }), reading('p1', T0 + 1000, { flow: 11.25 })])
      expect(await store.range({ deviceId: 'p1', metric: 'flow', from: T0, to: T0 + 2000, limit: 100 })).toEqual([
        { ts: T0, value: 10 },
        { ts: T0 + 1000, value: 11.25 },
      ])
    })

    it('keeps booleans boolean', async () => {
      await store.write([reading('p1', T0, { running: true }), reading('p1', T0 + 1, { running: false })])
      expect(await store.range({ deviceId: 'p1', metric: 'running', from: T0, to: T0 + 10, limit: 10 })).toEqual([
        { ts: T0, value: true },
        { ts: T0 + 1, value: false },
      ])
    })

    it('is idempotent on (device, ts): a resend replaces, metric by metric', async () => {
      const batch = [reading('p1', T0, { flow: 10, current: 30 }), reading('p1', T0 + 1000, { flow: 11 })]
      await store.write(batch)
      await store.write(batch)
      await store.write([reading('p1', T0, { flow: 10.5 })])
      expect(await store.range({ deviceId: 'p1', metric: 'flow', from: T0, to: T0 + 5000, limit: 100 })).toEqual([
        { ts: T0, value: 10.5 },
        { ts: T0 + 1000, value: 11 },
      ])
      expect(await store.range({ deviceId: 'p1', metric: 'current', from: T0, to: T0 + 5000, limit: 100 })).toEqual([{ ts: T0, value: 30 }])
    })

    it('keeps devices apart', async () => {
      await store.write([reading('p1', T0, { flow: 1 }), reading('p2', T0, { flow: 2 })])
      expect(await store.range({ deviceId: 'p2', metric: 'flow', from: T0, to: T0 + 1, limit: 10 })).toEqual([{ ts: T0, value: 2 }])
    })

    it('honours the limit, earliest first', async () => {
      await store.write(Array.from({ length: 20 }, (_, i) => reading('p1', T0 + i, { flow: i })))
      const points = await store.range({ deviceId: 'p1', metric: 'flow', from: T0, to: T0 + 100, limit: 5 })
      expect(points.map((p) => p.value)).toEqual([0, 1, 2, 3, 4])
    })

    it('downsamples into epoch-aligned buckets with mean, min, max and count', async () => {
      const minute = 60_000
      // 10 readings a minute apart, values 0..9, in 5-minute buckets: [0..4] and [5..9]
      await store.write(Array.from({ length: 10 }, (_, i) => reading('p1', T0 + i * minute, { flow: i })))
      const buckets = await store.downsample({ deviceId: 'p1', metric: 'flow', from: T0, to: T0 + 10 * minute, limit: 100, every: 5 * minute })
      expect(buckets).toEqual([
        { ts: T0, mean: 2, min: 0, max: 4, count: 5 },
        { ts: T0 + 5 * minute, mean: 7, min: 5, max: 9, count: 5 },
      ])
    })

    it('gives the share of time a flag was true as its bucket mean', async () => {
      await store.write([true, true, false, true].map((running, i) => reading('p1', T0 + i * 1000, { running })))
      const [bucket] = await store.downsample({ deviceId: 'p1', metric: 'running', from: T0, to: T0 + 60_000, limit: 10, every: 60_000 })
      expect(bucket).toEqual({ ts: T0, mean: 0.75, min: 0, max: 1, count: 4 })
    })

    it('returns the latest reading of a device with all its metrics', async () => {
      expect(await store.latest('p1')).toBeUndefined()
      await store.write([reading('p1', T0, { flow: 1 }, 1), reading('p1', T0 + 5000, { flow: 2, running: true }, 2), reading('p1', T0 + 1000, { flow: 3 }, 3)])
      expect(await store.latest('p1')).toEqual({ ts: T0 + 5000, values: { flow: 2, running: true }, seq: 2 })
    })

    it('treats hostile ids and metric names as data, not query text', async () => {
      const evil = `p1'; DROP TABLE readings; --`
      await store.write([reading('p1', T0, { flow: 1 })])
      expect(await store.range({ deviceId: evil, metric: 'flow', from: T0, to: T0 + 1, limit: 10 })).toEqual([])
      expect(await store.range({ deviceId: 'p1', metric: `flow" OR 1=1 --`, from: T0, to: T0 + 1, limit: 10 })).toEqual([])
      expect(await store.latest(evil)).toBeUndefined()
      expect(await store.range({ deviceId: 'p1', metric: 'flow', from: T0, to: T0 + 1, limit: 10 })).toEqual([{ ts: T0, value: 1 }])
    })

    it('reports its health', async () => {
      expect((await store.health()).ok).toBe(true)
    })
  })
}
