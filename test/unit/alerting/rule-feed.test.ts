import { afterEach, describe, expect, it } from 'vitest'
import { RuleFeed } from '../../../alerting/rule-feed.js'
import type { Journal } from '../../../ingest/journal/journal.js'
import type { Reading } from '../../../ingest/reading.js'
import { eventually } from '../../helpers/eventually.js'
import { memoryLog, openJournal, reading, tempDir } from '../../helpers/journal.js'

/**
 * The rules' reading of the readings journal (alerting/rule-feed.ts): on a real journal, with a
 * stand-in for the rule thread that answers only when told, so that a thread far behind can be held.
 */
const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

interface Asked {
  readonly readings: Reading[]
  answer(): void
}

async function setUp(opts: { memoryReadings?: number; batchReadings?: number; inFlight?: number } = {}) {
  const temp = tempDir()
  const journal: Journal = await openJournal(temp.dir, { memoryReadings: opts.memoryReadings ?? 50_000 })
  cleanups.push(
    () => temp.remove(),
    () => journal.close(),
  )
  const asked: Asked[] = []
  let clock = 1_000_000
  const feed = new RuleFeed(
    journal,
    (json) =>
      new Promise<void>((resolve) => {
        asked.push({ readings: JSON.parse(new TextDecoder().decode(json)) as Reading[], answer: resolve })
      }),
    () => clock,
    memoryLog(),
    journal.head,
    { batchReadings: opts.batchReadings ?? 100, inFlight: opts.inFlight ?? 2 },
  )
  cleanups.push(() => feed.stop())
  journal.onCommit((c) => feed.committed(c))
  const unanswered = () => asked.filter((a) => !(a as { done?: boolean }).done)
  /** Answers the oldest request not yet answered, as the thread does: in order. */
  const answerNext = () => {
    const next = unanswered()[0]!
    ;(next as { done?: boolean }).done = true
    next.answer()
  }
  return { journal, feed, asked, unanswered, answerNext, tick: (ms: number) => (clock += ms) }
}

/** `messages` appends of `per` readings each, numbered from `from`. */
const appendAll = (journal: Journal, messages: number, per: number, from = 0) =>
  Promise.all(Array.from({ length: messages }, (_, m) => journal.append(Array.from({ length: per }, (_, i) => reading(from + m * per + i)))))

const numbers = (asked: Asked[]) => asked.flatMap((a) => a.readings.map((r) => r.values.rainfall))

describe('the rules’ feed from the readings journal', () => {
  it('sends every committed reading once, in order, in bounded batches, with at most two unanswered however far behind the thread is', async () => {
    // a memory of 500 readings: most of this backlog is read back from disk
    const t = await setUp({ memoryReadings: 500, batchReadings: 100, inFlight: 2 })
    for (let g = 0; g < 20; g++) await appendAll(t.journal, 50, 10, g * 500)
    // 10,000 readings committed while the thread answered nothing: two batches went, the rest waits in the journal
    await eventually(() => t.asked.length === 2)
    expect(t.unanswered()).toHaveLength(2)
    expect(t.feed.lag().readings).toBe(10_000)
    let most = 0
    while (numbers(t.asked).length < 10_000 || t.unanswered().length > 0) {
      most = Math.max(most, t.unanswered().length)
      if (t.unanswered().length === 0) await eventually(() => t.unanswered().length > 0)
      t.answerNext()
      await new Promise((r) => setImmediate(r))
    }
    expect(most).toBe(2)
    expect(numbers(t.asked)).toEqual(Array.from({ length: 10_000 }, (_, i) => i))
    // a batch never splits a record; records of 10 make batches of at most 100 here
    expect(Math.max(...t.asked.map((a) => a.readings.length))).toBe(100)
    expect(t.feed.lag()).toEqual({ readings: 0, oldestMs: 0 })
    expect(t.feed.position).toBe(t.journal.head)
  })

  it('catches up only once everything committed before is sent, and says how long the oldest unjudged reading has waited', async () => {
    const t = await setUp({ batchReadings: 100, inFlight: 1 })
    await appendAll(t.journal, 3, 100)
    t.tick(4000)
    await appendAll(t.journal, 1, 100, 300)
    expect(t.feed.lag()).toEqual({ readings: 400, oldestMs: 4000 })
    let caught = false
    const catching = t.feed.caughtUp().then(() => (caught = true))
    // one in flight at a time: the fourth batch goes only after the third is answered
    for (let k = 0; k < 3; k++) {
      await eventually(() => t.unanswered().length === 1)
      expect(caught).toBe(false)
      t.answerNext()
    }
    await catching
    expect(t.feed.position).toBe(t.journal.head)
    expect(numbers(t.asked)).toEqual(Array.from({ length: 400 }, (_, i) => i))
    // the last batch is sent, not yet judged
    expect(t.feed.lag().readings).toBe(100)
    t.answerNext()
    await eventually(() => t.feed.lag().readings === 0)
  })

  it('keeps its record of waiting commits bounded when the thread is stuck', async () => {
    const t = await setUp({ batchReadings: 10, inFlight: 1 })
    for (let g = 0; g < 3000; g++) {
      t.tick(1)
      await t.journal.append([reading(g)])
    }
    const pending = (t.feed as unknown as { pending: unknown[] }).pending
    expect(pending.length).toBeLessThanOrEqual(1000)
    // the oldest commit is still the one the lag is measured from
    expect(t.feed.lag()).toEqual({ readings: 3000, oldestMs: 2999 })
  })
})
