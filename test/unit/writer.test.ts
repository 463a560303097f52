import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createIngestMetrics } from '../../ingest/metrics.js'
import type { Reading } from '../../ingest/reading.js'
import type { Store } from '../../ingest/store.js'
import { StoreWriter } from '../../ingest/writer.js'
import { eventually } from '../helpers/eventually.js'

/** A store that fails while `down` is set: the writer's retry logic is pure bookkeeping around it. */
class FlakyStore implements Store {
  readonly kind = 'flaky'
  down = false
  batches: number[] = []
  written: Reading[] = []
  async write(readings: readonly Reading[]) {
    if (this.down) throw new Error('store unavailable')
    this.batches.push(readings.length)
    this.written.push(...readings)
  }
  range = async () => []
  downsample = async () => []
  latest = async () => undefined
  health = async () => ({ ok: !this.down, detail: '' })
  close = async () => undefined
}

const reading = (i: number): Reading => ({ mineId: 'm', deviceId: 'd', kind: 'rain', ts: 1_800_000_000_000 + i, values: { rainfall: i } })

function writer(store: Store, batchSize = 100) {
  const errors: number[] = []
  const w = new StoreWriter(store, { batchSize, flushMs: 5, maxBackoffMs: 20 }, createIngestMetrics(new Registry()), {
    onError: (_e, attempt) => errors.push(attempt),
    onRecovered: () => undefined,
  })
  return { w, errors }
}

describe('StoreWriter', () => {
  it('writes in batches of at most batchSize, in order', async () => {
    const store = new FlakyStore()
    const { w } = writer(store, 100)
    w.add(Array.from({ length: 250 }, (_, i) => reading(i)))
    expect(await w.flush()).toBe(true)
    expect(store.batches).toEqual([100, 100, 50])
    expect(store.written.map((r) => r.values.rainfall)).toEqual(Array.from({ length: 250 }, (_, i) => i))
  })

  it('keeps readings while the store is down and writes them when it is back', async () => {
    const store = new FlakyStore()
    const { w, errors } = writer(store)
    store.down = true
    w.add([reading(1), reading(2)])
    await eventually(() => errors.length >= 2) // it keeps retrying
    expect(w.pending).toBe(2)
    expect(w.lastError).toBe('store unavailable')
    w.add([reading(3)])
    store.down = false
    await eventually(() => w.pending === 0) // the retry timer alone brings it back
    expect(await w.flush()).toBe(true)
    expect(store.written.map((r) => r.values.rainfall)).toEqual([1, 2, 3])
    expect(w.lastError).toBeUndefined()
    await w.stop()
  })

  it('flushes what is buffered on stop, and reports what the store refused', async () => {
    const store = new FlakyStore()
    const { w } = writer(store, 1000)
    w.add([reading(1)])
    await w.stop()
    expect(store.written).toHaveLength(1)

    const dead = new FlakyStore()
    dead.down = true
    const { w: w2 } = writer(dead)
    w2.add([reading(1)])
    await w2.stop()
    expect(w2.pending).toBe(1)
  })
})
