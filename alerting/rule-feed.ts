import { joinArrays } from '../ingest/journal/join.js'
import type { Committed, Payloads } from '../ingest/journal/journal.js'
import type { Log } from '../ingest/log.js'

/** Where the feed reads committed readings: the readings journal. */
export interface FeedSource {
  /** The committed records from `from` as their JSON (about `maxReadings`, at least one record), and where they end. */
  readPayloads(from: number, maxReadings: number): Promise<Payloads>
}

export interface FeedOptions {
  /** Readings per message to the rule thread, at most about (a record is never split). */
  readonly batchReadings: number
  /** Messages sent and not yet answered, at most: one being judged, one waiting, so the thread never idles. */
  readonly inFlight: number
}

export const DEFAULT_FEED: FeedOptions = { batchReadings: 5000, inFlight: 2 }

/**
 * The rule thread's reading of the readings journal (issue 13: nothing unbounded). The rules follow
 * the journal as the store writer does: from a position, in commit order, a bounded batch at a time,
 * with at most `inFlight` batches sent and not yet answered. A rule thread that falls behind (a
 * backlog of creeping prisms, each a forecast fit) leaves the rest in the journal, which keeps it
 * (on disk past its memory) from the rules' last snapshot on; memory does not grow with the lag,
 * and intake is never held up by the rules.
 *
 * `send` posts one batch (the records joined into one JSON array, journal/join.ts) and settles once
 * the thread has answered and the answer is booked. Requests to the thread are answered in the
 * order they were posted, so a request posted right after reading `position` covers exactly the
 * readings before it.
 */
export class RuleFeed {
  private sentTo: number
  private target: number
  private inFlight = 0
  private pumping = false
  private retry: NodeJS.Timeout | undefined
  private readonly waiters: { readonly position: number; readonly resolve: () => void }[] = []
  private committedReadings = 0
  private judgedReadings = 0
  /** Commits not yet judged, oldest first: when each came (how long the rules lag), coalesced when long. */
  private readonly pending: { end: number; at: number }[] = []
  private stopped = false

  constructor(
    private readonly source: FeedSource,
    private readonly send: (json: Uint8Array, readings: number) => Promise<void>,
    private readonly now: () => number,
    private readonly log: Log,
    from: number,
    private readonly opts: FeedOptions = DEFAULT_FEED,
  ) {
    this.sentTo = from
    this.target = from
  }

  /** The journal position every reading before which has been sent to the rule thread. */
  get position(): number {
    return this.sentTo
  }

  /** A group commit of the journal (its onCommit). */
  committed(c: Committed): void {
    if (c.count === 0 || this.stopped) return
    this.committedReadings += c.count
    this.target = c.end
    // bounded however far behind the thread is: past 1,000 commits, the newest are merged into one
    // (the oldest stays exact, and it is the one the lag is measured by)
    const last = this.pending.at(-1)
    if (last && this.pending.length >= 1000) last.end = c.end
    else this.pending.push({ end: c.end, at: this.now() })
    void this.pump()
  }

  /** Resolves once every reading committed before the call has been sent (waiting for room when the thread is busy). */
  caughtUp(): Promise<void> {
    if (this.sentTo >= this.target || this.stopped) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push({ position: this.target, resolve }))
  }

  /** Committed readings not yet judged, and how long the oldest of them has waited (ms). */
  lag(): { readings: number; oldestMs: number } {
    const oldest = this.pending[0]
    return { readings: this.committedReadings - this.judgedReadings, oldestMs: oldest ? Math.max(0, this.now() - oldest.at) : 0 }
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.retry)
    for (const w of this.waiters.splice(0)) w.resolve()
  }

  private async pump(): Promise<void> {
    if (this.pumping) return
    this.pumping = true
    try {
      while (!this.stopped && this.sentTo < this.target && this.inFlight < this.opts.inFlight) {
        const from = this.sentTo
        const batch = await this.source.readPayloads(from, this.opts.batchReadings)
        if (batch.end <= from) break
        // posted and the position moved in one step: what is asked of the thread next comes after these
        this.sentTo = batch.end
        this.inFlight++
        const done = () => this.answered(batch.end, batch.count)
        this.send(joinArrays(batch.payloads), batch.count).then(done, done)
        while (this.waiters[0] && this.waiters[0].position <= this.sentTo) this.waiters.shift()!.resolve()
      }
    } catch (err) {
      // the journal could not be read (a disk error): try again shortly; what is committed stays committed
      this.log.error({ err: (err as Error).message, position: this.sentTo }, 'the rules could not read the readings journal; retrying in 1 s')
      this.retry ??= setTimeout(() => {
        this.retry = undefined
        void this.pump()
      }, 1000)
    } finally {
      this.pumping = false
    }
  }

  private answered(end: number, readings: number): void {
    this.inFlight--
    this.judgedReadings += readings
    while (this.pending[0] && this.pending[0].end <= end) this.pending.shift()
    void this.pump()
  }
}
