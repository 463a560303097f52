import { constants as fsConstants } from 'node:fs'
import { mkdir, open, statfs, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { Log } from '../log.js'
import type { Reading } from '../reading.js'
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js'
import { HEADER_BYTES, decodePayload, encodeRecord } from './record.js'
import { listSegments, readSegment, scanSegment, segmentName, type Segment } from './segments.js'

/**
 * The durable journal (README, "Durability: the journal"): every accepted reading is appended and fsynced here before the
 * broker acknowledges it, and the store writer drains it into the store. Appends that arrive
 * together share one write and one fdatasync (group commit), so the cost of durability is paid
 * per group, not per reading. Where the system has O_DSYNC (Linux, macOS) segments are opened with
 * it, and the write is its own fdatasync (open(2): "as though each write(2) was followed by a call
 * to fdatasync(2)"): one trip to the thread pool per group instead of two, and each trip is a turn
 * of a busy event loop that every reading in the group waits for.
 *
 * Layout in `dir`: segment files (see segments.ts) and checkpoint.json, the position up to which
 * the store has confirmed everything. At open, the unconfirmed tail is checked and handed to the
 * writer again; a record torn by a crash at the very end is cut off (it was never acknowledged,
 * because its fsync had not returned). Segments wholly below the checkpoint are deleted.
 *
 * When the disk is nearly full the journal refuses appends (and says so) rather than fail halfway
 * through a write; a refused append means the broker does not acknowledge, so the device keeps
 * the reading and sends it again later.
 */
export interface JournalOptions {
  readonly dir: string
  /** A new segment starts once the active one reaches this size. */
  readonly segmentBytes: number
  /** Appends are refused while the file system has less than this free. */
  readonly minFreeBytes: number
  /** Committed readings kept in memory for the writer, so it rarely reads back from disk. */
  readonly memoryReadings: number
  readonly spaceCheckMs: number
  /** Free bytes of the file system holding `dir` (statfs by default; a seam for tests). */
  readonly freeBytes?: (dir: string) => Promise<number>
  /**
   * Opens a segment file (fs.promises.open by default). A seam for tests: a file layer that
   * forgets what was written but not yet synced, as a power cut does, shows that nothing is
   * acknowledged before its fdatasync returns.
   */
  readonly openFile?: (path: string, flags: number) => Promise<SegmentFile>
}

/** What the journal does with a segment file. */
export type SegmentFile = Pick<FileHandle, 'writev' | 'datasync' | 'truncate' | 'close'>

const { O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_DSYNC } = fsConstants
/** 0 where the system has no O_DSYNC (Windows): then every group write is followed by a datasync. */
const DSYNC = O_DSYNC ?? 0
/** How segment files are opened: a new one, an existing one, the next one (which must not exist yet). */
export const SEGMENT_FLAGS = { create: O_RDWR | O_CREAT | O_TRUNC | DSYNC, reopen: O_RDWR | DSYNC, next: O_RDWR | O_CREAT | O_EXCL | DSYNC } as const

export const DEFAULT_JOURNAL_OPTIONS: Omit<JournalOptions, 'dir'> = {
  segmentBytes: 64 * 1024 * 1024,
  minFreeBytes: 512 * 1024 * 1024,
  memoryReadings: 50_000,
  spaceCheckMs: 2_000,
}

export type JournalRefusalCode = 'JOURNAL_FULL' | 'JOURNAL_FAILED' | 'JOURNAL_CLOSED'

export class JournalRefusal extends Error {
  constructor(
    readonly code: JournalRefusalCode,
    message: string,
  ) {
    super(message)
    this.name = 'JournalRefusal'
  }
}

export interface JournalHooks {
  /** One group written and fsynced: its size and how long it took. */
  onGroup?(readings: number, bytes: number, seconds: number): void
  /** Refusing started (with the reason) or ended (undefined). */
  onRefusing?(refusal: JournalRefusal | undefined): void
}

export interface JournalStatus {
  readonly ok: boolean
  readonly refusing: string | null
  readonly freeBytes: number | null
  readonly segments: number
  readonly bytes: number
  readonly unconfirmedReadings: number
}

interface Pending<T> {
  readonly buf: Buffer
  readonly readings: readonly T[]
  readonly resolve: (end: number) => void
  readonly reject: (err: Error) => void
}

interface Remembered<T> {
  readonly start: number
  readonly end: number
  readonly readings: readonly T[]
  /** The record's JSON as written (a view of the written buffer), for readers on another thread. */
  readonly payload: Buffer
}

/** One group commit: the items it held, and the journal position just past it. */
export interface Committed {
  readonly count: number
  readonly end: number
}

/** Committed records as their JSON, not parsed: what a consumer on another thread is sent. */
export interface Payloads {
  readonly payloads: Buffer[]
  /** Items in them. */
  readonly count: number
  readonly end: number
}

/** A journal of readings (the ingest path) or of any JSON items (the alert events use one too). */
export class Journal<T = Reading> {
  private queue: Pending<T>[] = []
  private writing: Promise<void> | undefined
  private tail: Remembered<T>[] = []
  private tailFirst = 0
  private tailReadings = 0
  private commitListeners: ((committed: Committed) => void)[] = []
  private refusal: JournalRefusal | undefined
  private failure: JournalRefusal | undefined
  private freeBytes: number | undefined
  private spaceTimer: NodeJS.Timeout | undefined
  private saving: Promise<void> | undefined
  private savedCheckpoint: number
  /**
   * Other consumers' positions (the rules' snapshot, the uplink's cursor), each by name: segments
   * from the lowest on are kept, so that neither lets go what the other still needs.
   */
  private readonly floors = new Map<string, number>()
  private closed = false

  private constructor(
    private readonly opts: JournalOptions,
    private readonly log: Log,
    private readonly hooks: JournalHooks,
    private readonly segments: Segment[],
    private active: SegmentFile,
    private confirmed: number,
    private unconfirmed: number,
  ) {
    this.savedCheckpoint = confirmed
  }

  /**
   * `keep`: positions other consumers still need (a snapshot's, an uplink's cursor), by consumer,
   * so that segments holding them survive even when the store has confirmed them.
   */
  static async open<T = Reading>(opts: JournalOptions, log: Log, hooks: JournalHooks = {}, keep: Readonly<Record<string, number | undefined>> = {}): Promise<Journal<T>> {
    const floors = Object.entries(keep).filter((e): e is [string, number] => e[1] !== undefined)
    const keepFrom = Math.min(Number.POSITIVE_INFINITY, ...floors.map(([, at]) => at))
    await mkdir(opts.dir, { recursive: true })
    const loaded = await loadCheckpoint(opts.dir)
    if (loaded.position === undefined && 'problem' in loaded && loaded.problem) log.warn({ dir: opts.dir }, loaded.problem)
    const all = await listSegments(opts.dir)
    let checkpoint = loaded.position ?? all[0]?.base ?? 0
    if (all.length > 0 && checkpoint < all[0]!.base) {
      log.warn({ checkpoint, firstSegment: all[0]!.base }, 'journal checkpoint is older than the oldest segment; replaying from the oldest')
      checkpoint = all[0]!.base
    }
    // segments that end at or before the checkpoint hold nothing unconfirmed
    const live: Segment[] = []
    for (let i = 0; i < all.length; i++) {
      const seg = all[i]!
      const next = all[i + 1]
      if (next && next.base <= Math.min(checkpoint, keepFrom)) {
        await unlink(seg.file)
        continue
      }
      live.push(seg)
    }
    let unconfirmed = 0
    for (let i = 0; i < live.length; i++) {
      const seg = live[i]!
      const next = live[i + 1]
      if (next && next.base <= checkpoint) {
        // wholly confirmed, kept only for another consumer: it was checked when it was written
        seg.size = next.base - seg.base
        continue
      }
      const scan = await scanSegment(seg.file, Math.max(0, checkpoint - seg.base))
      seg.size = scan.validEnd
      unconfirmed += scan.readings
      if (scan.problem) {
        const last = i === live.length - 1
        const lost = scan.fileSize - scan.validEnd
        if (last) log.warn({ segment: seg.file, bytes: lost }, `journal: cut a torn tail (${scan.problem}); it was never acknowledged`)
        else log.error({ segment: seg.file, bytes: lost }, `journal: segment damaged (${scan.problem}); ${lost} bytes after it cannot be read`)
      }
    }
    if (checkpoint > 0 && live.length > 0 && checkpoint > live.at(-1)!.base + live.at(-1)!.size) {
      log.warn({ checkpoint }, 'journal checkpoint is past the end of the journal; starting at the end')
      checkpoint = live.at(-1)!.base + live.at(-1)!.size
    }
    if (live.length === 0) live.push({ base: checkpoint, file: join(opts.dir, segmentName(checkpoint)), size: 0 })
    const last = live.at(-1)!
    const handle = await (opts.openFile ?? open)(last.file, last.size === 0 ? SEGMENT_FLAGS.create : SEGMENT_FLAGS.reopen)
    // cut a torn tail so the next append starts on a record boundary
    await handle.truncate(last.size)
    await handle.datasync()
    const journal = new Journal<T>(opts, log, hooks, live, handle, checkpoint, unconfirmed)
    for (const [consumer, at] of floors) journal.floors.set(consumer, at)
    await journal.checkSpace()
    journal.spaceTimer = setInterval(() => void journal.checkSpace(), opts.spaceCheckMs)
    journal.spaceTimer.unref()
    return journal
  }

  /** Journal position just past the last committed record. */
  get head(): number {
    const last = this.segments.at(-1)!
    return last.base + last.size
  }

  /** Position up to which the store has confirmed everything (where a restart resumes). */
  get checkpoint(): number {
    return this.confirmed
  }

  get unconfirmedReadings(): number {
    return this.unconfirmed
  }

  /**
   * Called after every group commit, with how many items it held and where it ends: the writer
   * wakes up; the rules' feed knows how far to read and since when it lags.
   */
  onCommit(listener: (committed: Committed) => void): void {
    this.commitListeners.push(listener)
  }

  status(): JournalStatus {
    const refusal = this.failure ?? this.refusal
    const bytes = this.segments.reduce((n, s) => n + s.size, 0)
    return {
      ok: refusal === undefined,
      refusing: refusal ? `${refusal.code}: ${refusal.message}` : null,
      freeBytes: this.freeBytes ?? null,
      segments: this.segments.length,
      bytes,
      unconfirmedReadings: this.unconfirmed,
    }
  }

  /** Resolves with the record's end position once it is on disk; rejects with a JournalRefusal. */
  append(readings: readonly T[]): Promise<number> {
    const refusal = this.closed ? new JournalRefusal('JOURNAL_CLOSED', 'the platform is shutting down') : (this.failure ?? this.refusal)
    if (refusal) return Promise.reject(refusal)
    return new Promise((resolve, reject) => {
      this.queue.push({ buf: encodeRecord(readings), readings, resolve, reject })
      // setImmediate lets every socket read of this turn of the event loop join the group
      if (!this.writing) this.writing = new Promise((done) => setImmediate(() => void this.writeGroups().then(done)))
    })
  }

  /** Committed readings from `from`: about `maxReadings` (at least one record), and where they end. */
  async read(from: number, maxReadings: number): Promise<{ readings: T[]; end: number }> {
    const readings: T[] = []
    const held = this.fromTail(from, maxReadings)
    if (held) {
      for (const r of held) for (const reading of r.readings) readings.push(reading)
      return { readings, end: held.at(-1)?.end ?? from }
    }
    const raw = await this.readRaw(from, maxReadings)
    for (const payload of raw.payloads) for (const reading of decodePayload<T>(payload)) readings.push(reading)
    return { readings, end: raw.end }
  }

  /**
   * The same records as `read`, as their JSON: a consumer on another thread parses them there
   * (the store writer's thread), so this thread neither parses nor copies objects.
   */
  async readPayloads(from: number, maxReadings: number): Promise<Payloads> {
    const held = this.fromTail(from, maxReadings)
    if (!held) return this.readRaw(from, maxReadings)
    return { payloads: held.map((r) => r.payload), count: held.reduce((n, r) => n + r.readings.length, 0), end: held.at(-1)?.end ?? from }
  }

  /** The records from `from` that memory still holds, about `maxReadings` (at least one); undefined when `from` is older. */
  private fromTail(from: number, maxReadings: number): Remembered<T>[] | undefined {
    const first = this.tail[this.tailFirst]
    if (!first || first.start > from) return undefined
    const held: Remembered<T>[] = []
    let count = 0
    for (let i = this.findInTail(from); i < this.tail.length && (count === 0 || count + this.tail[i]!.readings.length <= maxReadings); i++) {
      held.push(this.tail[i]!)
      count += this.tail[i]!.readings.length
    }
    return held
  }

  /** Older than what memory holds (after a restart or a long store outage): read the segment back. */
  private async readRaw(from: number, maxReadings: number): Promise<Payloads> {
    for (let i = 0; i < this.segments.length; i++) {
      const seg = this.segments[i]!
      if (from >= seg.base + seg.size) continue
      const chunk = await readSegment(seg, Math.max(0, from - seg.base), seg.size, maxReadings)
      if (chunk.records.length > 0) {
        return { payloads: chunk.records.map((r) => r.payload), count: chunk.records.reduce((n, r) => n + r.count, 0), end: chunk.records.at(-1)!.end }
      }
      // nothing readable left in a damaged segment: the caller moves past it to the next one
      const next = this.segments[i + 1]
      if (next) return { payloads: [], count: 0, end: next.base }
    }
    return { payloads: [], count: 0, end: from }
  }

  /**
   * `consumer` (the rules, the uplink) has everything before `position` safe elsewhere (its
   * snapshot, its upstream): older segments may go once no other consumer and the store need them.
   */
  retain(consumer: string, position: number): void {
    this.floors.set(consumer, position)
    // a checkpoint save deletes what it can when it is done
    if (!this.saving && !this.closed) void this.deleteConfirmedSegments()
  }

  /** The lowest position another consumer still needs (Infinity: none). */
  private get retainFrom(): number {
    let lowest = Number.POSITIVE_INFINITY
    for (const at of this.floors.values()) lowest = Math.min(lowest, at)
    return lowest
  }

  /** The oldest position still on disk. */
  get start(): number {
    return this.segments[0]!.base
  }

  /** The store confirmed everything before `end` (`count` readings): advance the checkpoint. */
  confirm(end: number, count: number): void {
    if (end <= this.confirmed) return
    this.confirmed = end
    this.unconfirmed = Math.max(0, this.unconfirmed - count)
    while (this.tailFirst < this.tail.length && this.tail[this.tailFirst]!.end <= end) this.dropOldest()
    void this.persistCheckpoint()
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.spaceTimer)
    await this.writing
    await this.persistCheckpoint()
    await this.active.close()
  }

  private async writeGroups(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue
      this.queue = []
      const buffers = group.map((p) => p.buf)
      const bytes = buffers.reduce((n, b) => n + b.length, 0)
      const started = performance.now()
      let seg = this.segments.at(-1)!
      const at = seg.size
      try {
        if (at > 0 && at + bytes > this.opts.segmentBytes) seg = await this.roll()
        const offset = seg.size
        const { bytesWritten } = await this.active.writev(buffers, offset)
        if (bytesWritten !== bytes) throw Object.assign(new Error(`short write: ${bytesWritten} of ${bytes} bytes`), { code: 'ENOSPC' })
        // with O_DSYNC the write returned once the data was on disk
        if (DSYNC === 0) await this.active.datasync()
        seg.size = offset + bytes
        let pos = seg.base + offset
        let count = 0
        const ends: number[] = []
        for (const p of group) {
          const start = pos
          pos += p.buf.length
          count += p.readings.length
          ends.push(pos)
          this.remember({ start, end: pos, readings: p.readings, payload: p.buf.subarray(HEADER_BYTES) })
        }
        this.unconfirmed += count
        this.hooks.onGroup?.(count, bytes, (performance.now() - started) / 1000)
        group.forEach((p, i) => p.resolve(ends[i]!))
        const committed: Committed = { count, end: pos }
        for (const listener of this.commitListeners) listener(committed)
      } catch (err) {
        await this.undo(seg, err as NodeJS.ErrnoException)
        const refusal = this.failure ?? this.refusal ?? new JournalRefusal('JOURNAL_FAILED', `journal write failed: ${(err as Error).message}`)
        for (const p of group) p.reject(refusal)
      }
    }
    this.writing = undefined
  }

  /** A failed write may have left part of the group on disk: cut the file back to the last record. */
  private async undo(seg: Segment, err: NodeJS.ErrnoException): Promise<void> {
    this.log.error({ err: err.message, code: err.code, segment: seg.file }, 'journal write failed; the readings were not acknowledged')
    try {
      await this.active.truncate(seg.size)
      await this.active.datasync()
      if (err.code === 'ENOSPC' || err.code === 'EDQUOT') this.setRefusal(new JournalRefusal('JOURNAL_FULL', `no space left for the journal in ${this.opts.dir}`))
    } catch (undoErr) {
      // the file's end is unknown now: accepting more could interleave with a torn record
      this.failure = new JournalRefusal('JOURNAL_FAILED', `journal unusable after a failed write (${(undoErr as Error).message}); restart the platform once the disk is fixed`)
      this.log.error({ err: (undoErr as Error).message }, this.failure.message)
      this.hooks.onRefusing?.(this.failure)
    }
  }

  private async roll(): Promise<Segment> {
    const old = this.segments.at(-1)!
    const base = old.base + old.size
    const seg: Segment = { base, file: join(this.opts.dir, segmentName(base)), size: 0 }
    const handle = await (this.opts.openFile ?? open)(seg.file, SEGMENT_FLAGS.next)
    await this.active.close()
    this.active = handle
    this.segments.push(seg)
    // make the new file's directory entry durable before anything in it is acknowledged
    const dir = await open(this.opts.dir, 'r')
    try {
      await dir.sync()
    } finally {
      await dir.close()
    }
    void this.checkSpace()
    return seg
  }

  private remember(r: Remembered<T>): void {
    this.tail.push(r)
    this.tailReadings += r.readings.length
    while (this.tailReadings > this.opts.memoryReadings && this.tailFirst < this.tail.length - 1) this.dropOldest()
  }

  private dropOldest(): void {
    this.tailReadings -= this.tail[this.tailFirst]!.readings.length
    this.tailFirst++
    if (this.tailFirst > 1024 && this.tailFirst * 2 > this.tail.length) {
      this.tail = this.tail.slice(this.tailFirst)
      this.tailFirst = 0
    }
  }

  private findInTail(from: number): number {
    let lo = this.tailFirst
    let hi = this.tail.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.tail[mid]!.end <= from) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  private async persistCheckpoint(): Promise<void> {
    // one save at a time; the last confirmed value always gets saved
    while (this.saving) await this.saving
    if (this.confirmed === this.savedCheckpoint) return
    const position = this.confirmed
    this.saving = saveCheckpoint(this.opts.dir, position)
      .then(async () => {
        this.savedCheckpoint = position
        await this.deleteConfirmedSegments()
      })
      .catch((err: Error) => this.log.error({ err: err.message }, 'journal checkpoint could not be saved; a restart will replay more'))
      .finally(() => {
        this.saving = undefined
      })
    await this.saving
  }

  private async deleteConfirmedSegments(): Promise<void> {
    while (this.segments.length > 1 && this.segments[1]!.base <= Math.min(this.savedCheckpoint, this.retainFrom)) {
      const seg = this.segments.shift()!
      await unlink(seg.file).catch((err: Error) => this.log.warn({ err: err.message, segment: seg.file }, 'could not delete a confirmed journal segment'))
    }
  }

  private async checkSpace(): Promise<void> {
    try {
      this.freeBytes = await (this.opts.freeBytes ?? statfsFree)(this.opts.dir)
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not read free disk space')
      return
    }
    const mib = (n: number) => Math.floor(n / 1024 / 1024)
    if (this.freeBytes < this.opts.minFreeBytes) {
      if (!this.refusal)
        this.setRefusal(
          new JournalRefusal(
            'JOURNAL_FULL',
            `only ${mib(this.freeBytes)} MiB free for the journal in ${this.opts.dir} (minimum ${mib(this.opts.minFreeBytes)} MiB); free disk space or bring the store back so confirmed segments can be deleted`,
          ),
        )
    } else if (this.refusal && this.freeBytes >= this.opts.minFreeBytes * 1.1) {
      // a margin above the limit, so that acceptance does not flap around it
      this.refusal = undefined
      this.log.info({ freeMiB: mib(this.freeBytes) }, 'journal has disk space again; accepting readings')
      this.hooks.onRefusing?.(this.failure)
    }
  }

  private setRefusal(refusal: JournalRefusal): void {
    const first = !this.refusal
    this.refusal = refusal
    if (first) {
      this.log.error({ dir: this.opts.dir, freeBytes: this.freeBytes }, `journal refusing readings: ${refusal.message}`)
      this.hooks.onRefusing?.(refusal)
    }
  }
}

async function statfsFree(dir: string): Promise<number> {
  const s = await statfs(dir)
  return s.bavail * s.bsize
}
