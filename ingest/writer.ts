import { BacklogClock } from './backlog-clock.js'
import type { Journal } from './journal/journal.js'
import type { IngestMetrics } from './metrics.js'
import type { Reading } from './reading.js'

/**
 * Drains the journal into the store in batches (README, "Durability: the journal"). It reads what the journal committed,
 * writes it, and advances the journal's checkpoint only when the store confirmed the write; while
 * the store is down it retries the same batch with backoff, and intake goes on filling the
 * journal meanwhile. After an outage it catches up batch after batch with no pause between them.
 * Live consumers never wait for it: they get readings at the journal's commit.
 */
export interface WriterOptions {
  /** Readings per batch (InfluxDB's sweet spot is about 5,000 lines). */
  readonly batchSize: number
  /** Longest a reading waits for its batch to fill before it is written, ms. */
  readonly flushMs: number
  readonly maxBackoffMs: number
  /** The clock of the backlog's age (default Date.now). */
  readonly now?: () => number
}

export interface WriterEvents {
  onError(err: Error, attempt: number): void
  onRecovered(afterAttempts: number): void
}

type JournalSource<T> = Pick<Journal<T>, 'head' | 'checkpoint' | 'unconfirmedReadings' | 'read' | 'readPayloads' | 'confirm' | 'onCommit'>

/** Where the items go: the store's `write` for readings, its alert-event table for the book. */
export interface Sink<T> {
  write(items: readonly T[]): Promise<void>
}

/**
 * A sink on another thread (infra/store-thread.ts): it is sent the journal's records as their
 * JSON and parses them there, so that this thread neither parses, encodes nor copies objects.
 */
export interface PayloadSink {
  writePayloads(payloads: readonly Buffer[]): Promise<void>
}

/** What the writer reports; the readings writer feeds the ingest metrics. */
export interface WriterMetrics {
  written(count: number, seconds: number): void
  pending(count: number): void
  failed(): void
}

export const ingestWriterMetrics = (m: IngestMetrics): WriterMetrics => ({
  written: (count, seconds) => {
    m.storeWriteSeconds.observe(seconds)
    m.storeWritten.inc(count)
  },
  pending: (count) => m.storePending.set(count),
  failed: () => m.storeWriteErrors.inc(),
})

export class StoreWriter<T = Reading> {
  private cursor: number
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private failures = 0
  private stopped = false
  /** How old the backlog is (ingest/backlog-clock.ts). */
  private readonly clock: BacklogClock
  lastError: string | undefined

  constructor(
    private readonly journal: JournalSource<T>,
    private readonly store: Sink<T> | PayloadSink,
    private readonly opts: WriterOptions,
    private readonly metrics: WriterMetrics,
    private readonly events: WriterEvents,
  ) {
    this.cursor = journal.checkpoint
    this.clock = BacklogClock.fromStart(opts.now ?? Date.now, journal.head, this.cursor)
    journal.onCommit(() => this.wake())
    this.metrics.pending(this.pending)
    // what a previous run left unconfirmed is written at once
    if (journal.head > this.cursor) this.kick(0)
  }

  /** Readings committed to the journal and not yet confirmed by the store. */
  get pending(): number {
    return this.journal.unconfirmedReadings
  }

  /** Milliseconds since the oldest reading the store has not confirmed was committed (0: none). */
  get backlogAgeMs(): number {
    return this.clock.ageMs(this.journal.head, this.cursor)
  }

  /** Writes everything committed so far; stops early (and returns false) when the store refuses a batch. */
  async flush(): Promise<boolean> {
    clearTimeout(this.timer)
    this.timer = undefined
    while (this.journal.head > this.cursor || this.running) {
      const before = this.failures
      await (this.running ?? this.run())
      if (this.failures > before) return false
    }
    return true
  }

  /** Stops the timer and tries once to write what is left; the rest stays in the journal for the next start. */
  async stop(): Promise<void> {
    await this.flush()
    this.stopped = true
    clearTimeout(this.timer)
    this.timer = undefined
  }

  private wake(): void {
    this.clock.committed(this.journal.head)
    this.metrics.pending(this.pending)
    if (this.failures > 0) return // the backoff timer is already set
    this.kick(this.pending >= this.opts.batchSize ? 0 : this.opts.flushMs)
  }

  private kick(delay: number): void {
    if (this.timer || this.running || this.stopped) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.run()
    }, delay)
  }

  private run(): Promise<void> {
    this.running ??= this.writeBatch().finally(() => {
      this.running = undefined
      if (this.stopped || this.journal.head <= this.cursor) return
      if (this.failures > 0) this.kick(Math.min(this.opts.maxBackoffMs, 250 * 2 ** Math.min(this.failures - 1, 10)))
      else this.kick(this.pending >= this.opts.batchSize ? 0 : this.opts.flushMs)
    })
    return this.running
  }

  private async writeBatch(): Promise<void> {
    const store = this.store
    let batch: { readonly count: number; readonly end: number; readonly write: () => Promise<void> }
    try {
      if ('writePayloads' in store) {
        const { payloads, count, end } = await this.journal.readPayloads(this.cursor, this.opts.batchSize)
        batch = { count, end, write: () => store.writePayloads(payloads) }
      } else {
        const { readings, end } = await this.journal.read(this.cursor, this.opts.batchSize)
        batch = { count: readings.length, end, write: () => store.write(readings) }
      }
    } catch (err) {
      this.fail(err as Error)
      return
    }
    if (batch.count === 0) {
      // a damaged stretch of the journal was skipped; nothing to write for it
      if (batch.end > this.cursor) this.advance(batch.end, 0)
      // never spin on a read that cannot move: back off and say so
      else this.fail(new Error(`the journal has nothing readable at position ${this.cursor} before ${this.journal.head}`))
      return
    }
    const started = performance.now()
    try {
      await batch.write()
    } catch (err) {
      this.fail(err as Error)
      return
    }
    this.metrics.written(batch.count, (performance.now() - started) / 1000)
    this.advance(batch.end, batch.count)
    if (this.failures > 0) this.events.onRecovered(this.failures)
    this.failures = 0
    this.lastError = undefined
  }

  private advance(end: number, count: number): void {
    this.cursor = end
    this.clock.passed(end)
    this.journal.confirm(end, count)
    this.metrics.pending(this.pending)
  }

  private fail(err: Error): void {
    this.failures++
    this.lastError = err.message
    this.metrics.failed()
    this.events.onError(err, this.failures)
  }
}
