import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ReportedBook, REPORTED_RESOLVED_KEPT_MS, type ReportedBookSnapshot } from '../alerting/reported/book.js'
import { removeStaleTemp, writeFileAtomic } from '../ingest/atomic-file.js'
import { DEFAULT_JOURNAL_OPTIONS, Journal, type JournalOptions } from '../ingest/journal/journal.js'
import type { Log } from '../ingest/log.js'
import type { ReportedEvent } from '../ingest/uplink/reported.js'

/**
 * Where a regulator keeps the warning events its mine platforms report (上报预警; docs/uplink.md
 * "Warning events"), as durably as readings: each message is journaled and fsynced before its
 * PUBACK (so the mine moves its cursor only past what is on disk here), then applied to the book
 * in memory (alerting/reported/book.ts). The book is snapshotted now and then and at stop, with the
 * journal position it covers; a start is the snapshot plus the journal after it, so a kill -9
 * loses nothing the mine was told was kept. The journal lets go of what a snapshot covers.
 */
const SNAPSHOT_FILE = 'snapshot.json'

interface Snapshot extends ReportedBookSnapshot {
  readonly position: number
}

export class ReportedAlerts {
  private timer: NodeJS.Timeout | undefined
  /** The journal position up to which every event is in the book (appends resolve in journal order). */
  private applied: number
  private savedAt: number
  private saving: Promise<void> = Promise.resolve()

  private constructor(
    readonly book: ReportedBook,
    private readonly journal: Journal<ReportedEvent>,
    private readonly dir: string,
    private readonly log: Log,
    private readonly now: () => number,
    position: number,
    saved: number,
  ) {
    this.applied = position
    this.savedAt = saved
  }

  static async open(opts: {
    readonly dir: string
    readonly log: Log
    readonly now: () => number
    readonly monthOf: (mineId: string, at: number) => string
    readonly journal?: Partial<Omit<JournalOptions, 'dir'>>
    readonly snapshotMs?: number
  }): Promise<ReportedAlerts> {
    const file = join(opts.dir, SNAPSHOT_FILE)
    await removeStaleTemp(file)
    const snapshot = await readSnapshot(file, opts.log)
    const journal = await Journal.open<ReportedEvent>({ ...DEFAULT_JOURNAL_OPTIONS, ...opts.journal, dir: join(opts.dir, 'journal') }, opts.log, {}, { snapshot: snapshot?.position })
    const book = new ReportedBook(opts.monthOf)
    if (snapshot) book.restore(snapshot)
    // what came after the snapshot: journaled (and acknowledged) but not yet in a snapshot
    let at = Math.max(snapshot?.position ?? 0, journal.start)
    let replayed = 0
    while (at < journal.head) {
      const { readings: events, end } = await journal.read(at, 1000)
      if (end <= at) break
      for (const e of events) book.apply(e)
      replayed += events.length
      at = end
    }
    if (replayed > 0) opts.log.info({ events: replayed, kept: book.size }, '上报预警: events after the last snapshot replayed from the journal')
    const kept = new ReportedAlerts(book, journal, opts.dir, opts.log, opts.now, journal.head, snapshot?.position ?? -1)
    kept.timer = setInterval(() => void kept.save(), opts.snapshotMs ?? 60_000)
    kept.timer.unref()
    return kept
  }

  /** On disk when this resolves (the caller then acknowledges); rejects with a JournalRefusal when the journal cannot take them. */
  async append(_gatewayId: string, events: readonly ReportedEvent[]): Promise<void> {
    const end = await this.journal.append(events)
    for (const e of events) this.book.apply(e)
    this.applied = Math.max(this.applied, end)
    // nothing waits for a store here: the journal's checkpoint is what the book holds
    this.journal.confirm(end, events.length)
  }

  /** Saves the book when something changed since the last save (one save at a time). */
  save(): Promise<void> {
    this.saving = this.saving.then(async () => {
      if (this.applied === this.savedAt) return
      const position = this.applied
      this.book.prune(this.now() - REPORTED_RESOLVED_KEPT_MS)
      const snapshot: Snapshot = { position, ...this.book.snapshot() }
      try {
        await writeFileAtomic(join(this.dir, SNAPSHOT_FILE), JSON.stringify(snapshot))
        this.savedAt = position
        this.journal.retain('snapshot', position)
      } catch (err) {
        this.log.error({ err: (err as Error).message }, '上报预警: the snapshot could not be saved; the journal keeps the events and a restart replays them')
      }
    })
    return this.saving
  }

  async close(): Promise<void> {
    clearInterval(this.timer)
    await this.save()
    await this.journal.close()
  }
}

async function readSnapshot(file: string, log: Log): Promise<Snapshot | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch {
    return undefined
  }
  try {
    const s = JSON.parse(text) as Snapshot
    if (typeof s.position === 'number' && Array.isArray(s.alerts) && typeof s.tallies === 'object') return s
  } catch {
    // reported below
  }
  log.error({ file }, '上报预警: the snapshot is unreadable; the book is rebuilt from the journal (what it still holds)')
  return undefined
}
