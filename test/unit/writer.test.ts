import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import type { Journal } from '../../ingest/journal/journal.js'
import { createIngestMetrics } from '../../ingest/metrics.js'
import type { Reading } from '../../ingest/reading.js'
import type { Store } from '../../ingest/store.js'
import { StoreWriter, ingestWriterMetrics } from '../../ingest/writer.js'
import { eventually } from '../helpers/eventually.js'
import { openJournal, reading, tempDir } from '../helpers/journal.js'

/** A store that fails while `down` is set: the writer's retry logic is bookkeeping around it. */
class FlakyStore implements Store {
  readonly kind = 'flaky'
  down = false
  /** Batches it takes before it refuses again. */
  allow = Number.POSITIVE_INFINITY
  batches: number[] = []
  written: Reading[] = []
  async write(readings: readonly Reading[]) {
    if (this.down || this.allow <= 0) throw new Error('store unavailable')
    this.allow--
    this.batches.push(readings.length)
    this.written.push(...readings)
  }
  range = async () => []
  downsample = async () => []
  latest = async () => undefined
  health = async () => ({ ok: !this.down, detail: '' })
  close = async () => undefined
}

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function setup(store: Store, batchSize = 100, dir = tempDir(), now: () => number = Date.now) {
  const journal = await openJournal(dir.dir)
  const errors: number[] = []
  const w = new StoreWriter(journal, store, { batchSize, flushMs: 5, maxBackoffMs: 20, now }, ingestWriterMetrics(createIngestMetrics(new Registry())), {
    onError: (_e, attempt) => errors.push(attempt),
    onRecovered: () => undefined,
  })
  cleanups.push(dir.remove, () => journal.close())
  return { w, errors, journal, dir }
}

const append = (journal: Journal, from: number, to: number) => Promise.all(Array.from({ length: to - from }, (_, i) => journal.append([reading(from + i)])))

describe('StoreWriter', () => {
  it('writes what the journal committed, in batches of at most batchSize, in order', async () => {
    const store = new FlakyStore()
    const { w, journal } = await setup(store, 100)
    await journal.append(Array.from({ length: 250 }, (_, i) => reading(i)))
    await append(journal, 250, 260)
    expect(await w.flush()).toBe(true)
    expect(store.written.map((r) => r.values.rainfall)).toEqual(Array.from({ length: 260 }, (_, i) => i))
    // a record is never split: the 250-reading one is a batch of its own
    expect(store.batches[0]).toBe(250)
    expect(Math.max(...store.batches.slice(1))).toBeLessThanOrEqual(100)
    expect(journal.checkpoint).toBe(journal.head)
    expect(w.pending).toBe(0)
  })

  it('tells how old the oldest unwritten reading is, to within a second, and 0 once the store has it', async () => {
    const store = new FlakyStore()
    store.down = true
    let clock = 1_000_000
    const { w, journal } = await setup(store, 100, tempDir(), () => clock)
    expect(w.backlogAgeMs).toBe(0)
    await journal.append([reading(1)])
    clock += 400
    await journal.append([reading(2)])
    clock += 5000
    await journal.append([reading(3)])
    clock += 2000
    // the first reading was committed 7.4 s ago
    expect(w.backlogAgeMs).toBe(7400)
    store.down = false
    await eventually(() => w.pending === 0)
    expect(w.backlogAgeMs).toBe(0)
    // a new backlog is as old as its own first reading, not the one written before it
    store.down = true
    clock += 10_000
    await journal.append([reading(4)])
    clock += 1000
    expect(w.backlogAgeMs).toBe(1000)
  })

  it('ages a partly written backlog by its oldest reading still unwritten', async () => {
    const store = new FlakyStore()
    store.down = true
    let clock = 2_000_000
    const { w, journal } = await setup(store, 1, tempDir(), () => clock)
    await journal.append([reading(1)])
    clock += 5000
    await journal.append([reading(2)])
    clock += 1000
    expect(w.backlogAgeMs).toBe(6000)
    // the store takes the first reading only
    store.allow = 1
    store.down = false
    await eventually(() => w.pending === 1)
    expect(w.backlogAgeMs).toBe(1000)
  })

  it('counts the backlog a previous run left from this start', async () => {
    const store = new FlakyStore()
    store.down = true
    const dir = tempDir()
    const first = await setup(store, 100, dir)
    await append(first.journal, 0, 5)
    await first.w.stop()
    await first.journal.close()
    let clock = 5_000_000
    const { w } = await setup(store, 100, dir, () => clock)
    clock += 3000
    expect(w.pending).toBe(5)
    expect(w.backlogAgeMs).toBe(3000)
  })

  it('keeps readings while the store is down and writes them when it is back', async () => {
    const store = new FlakyStore()
    const { w, errors, journal } = await setup(store)
    store.down = true
    await append(journal, 1, 3)
    await eventually(() => errors.length >= 2) // it keeps retrying
    expect(w.pending).toBe(2)
    expect(journal.checkpoint).toBeLessThan(journal.head)
    expect(w.lastError).toBe('store unavailable')
    await journal.append([reading(3)])
    store.down = false
    await eventually(() => w.pending === 0) // the retry timer alone brings it back
    expect(store.written.map((r) => r.values.rainfall)).toEqual([1, 2, 3])
    expect(w.lastError).toBeUndefined()
    await w.stop()
  })

  it('leaves what the store refused at stop in the journal, and a new writer writes it', async () => {
    const dead = new FlakyStore()
    dead.down = true
    const dir = tempDir()
    const first = await setup(dead, 100, dir)
    await first.journal.append([reading(1)])
    await first.w.stop()
    expect(first.w.pending).toBe(1)
    await first.journal.close()

    const store = new FlakyStore()
    const second = await setup(store, 100, dir)
    await eventually(() => store.written.length === 1)
    expect(second.w.pending).toBe(0)
  })
})
