import type { Reading } from './reading.js'
import type { Store } from './store.js'
import type { IngestMetrics } from './metrics.js'

/**
 * Drains accepted readings into the store in batches, retrying with backoff while the store is
 * down. Live consumers never wait for it (DESIGN §2). The journal of the durable-ingest issue goes
 * in front of this; until then the buffer is memory and a crash loses what is not yet written.
 */
export interface WriterOptions {
  /** Readings per batch (InfluxDB's sweet spot is about 5,000 lines). */
  readonly batchSize: number
  /** Longest a reading waits before its batch is written, ms. */
  readonly flushMs: number
  readonly maxBackoffMs: number
}

export interface WriterEvents {
  onError(err: Error, attempt: number): void
  onRecovered(afterAttempts: number): void
}

export class StoreWriter {
  private buffer: Reading[] = []
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> | undefined
  private failures = 0
  private stopped = false
  lastError: string | undefined

  constructor(
    private readonly store: Store,
    private readonly opts: WriterOptions,
    private readonly metrics: IngestMetrics,
    private readonly events: WriterEvents,
  ) {}

  get pending(): number {
    return this.buffer.length
  }

  add(readings: readonly Reading[]): void {
    for (const r of readings) this.buffer.push(r)
    this.metrics.storePending.set(this.buffer.length)
    if (this.buffer.length >= this.opts.batchSize) this.kick(0)
    else this.kick(this.opts.flushMs)
  }

  /** Writes everything buffered; stops early (and returns false) when the store refuses a batch. */
  async flush(): Promise<boolean> {
    while (this.buffer.length > 0 || this.flushing) {
      const before = this.failures
      await (this.flushing ?? this.writeOnce())
      if (this.failures > before) return false
    }
    return true
  }

  /** Stops the timer and writes what is left, once; what the store refuses is reported, not retried. */
  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    this.timer = undefined
    await this.flush()
  }

  private kick(delay: number): void {
    if (this.timer || this.flushing || this.stopped) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.writeOnce()
    }, delay)
  }

  private writeOnce(): Promise<void> {
    if (this.flushing) return this.flushing
    const batch = this.buffer.slice(0, this.opts.batchSize)
    if (batch.length === 0) return Promise.resolve()
    const started = performance.now()
    this.flushing = this.store
      .write(batch)
      .then(
        () => {
          this.metrics.storeWriteSeconds.observe((performance.now() - started) / 1000)
          this.buffer.splice(0, batch.length)
          this.metrics.storePending.set(this.buffer.length)
          if (this.failures > 0) this.events.onRecovered(this.failures)
          this.failures = 0
          this.lastError = undefined
        },
        (err: Error) => {
          this.failures++
          this.lastError = err.message
          this.metrics.storeWriteErrors.inc()
          this.events.onError(err, this.failures)
        },
      )
      .finally(() => {
        this.flushing = undefined
        if (this.buffer.length > 0 && !this.stopped) {
          const backoff = this.failures === 0 ? 0 : Math.min(this.opts.maxBackoffMs, 250 * 2 ** Math.min(this.failures, 10))
          this.kick(this.buffer.length >= this.opts.batchSize ? backoff : Math.max(backoff, this.opts.flushMs))
        }
      })
    return this.flushing
  }
}
