import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { removeStaleTemp, writeFileAtomic } from '../../ingest/atomic-file.js'
import { BacklogClock } from '../../ingest/backlog-clock.js'
import type { Journal } from '../../ingest/journal/journal.js'
import type { Log } from '../../ingest/log.js'
import type { Reading } from '../../ingest/reading.js'

/** A mine's stream of committed readings in Redis (docs/cluster.md, "The hand-off"). */
export const readingsStream = (mineId: string) => `minewatch:readings:${mineId}`
const cursorKey = (nodeId: string) => `minewatch:handoff:${nodeId}`
/** How long a mine's stream keeps a reading for its rules' owner to replay. */
export const STREAM_KEEP_MS = 24 * 3_600_000
const FLOOR_FILE = 'handoff-floor.json'
const CHUNK = 500

/*
 * One chunk of readings into their mines' streams, and this node's cursor moved past it, as one
 * atomic step, and only if the cursor is where this node thinks it is: a chunk is in Redis once,
 * whatever crashed when. KEYS[1] = the node's cursor; ARGV = from, end, min id (trim), node, then
 * stream name and reading (JSON) pairs. Each entry says which node's journal it came from and
 * where that chunk ends in it (fields n, p): if the node never comes back, another writes to the
 * store what it had not (infra/cluster/orphans.ts). Returns 'done', else the cursor Redis holds (-1: none).
 */
const APPEND = `
local at = tonumber(redis.call('GET', KEYS[1]) or '-1')
if at ~= tonumber(ARGV[1]) then return at end
for i = 5, #ARGV, 2 do
  redis.call('XADD', ARGV[i], 'MINID', '~', ARGV[3], '*', 'r', ARGV[i + 1], 'n', ARGV[4], 'p', ARGV[2])
end
redis.call('SET', KEYS[1], ARGV[2])
return 'done'`

export interface HandoffStatus {
  /** The journal's bytes not yet in Redis (and, with replicas, on a replica). */
  readonly backlogBytes: number
  /** How long the oldest reading Redis does not have yet has waited, s (0: none). */
  readonly lagSeconds: number
  readonly sentReadings: number
  readonly lastError: string | null
}

export type HandoffJournal = Pick<Journal<Reading>, 'head' | 'start' | 'read' | 'retain' | 'onCommit'>

/**
 * The durable hand-off (issue 17 item 3; docs/cluster.md): each reading this node committed to its
 * journal goes, in journal order, to its mine's stream in Redis, where the node owning the mine's
 * rules reads it whichever node took it. The journal keeps a reading until Redis has it (and, with
 * `replicas`, until that many replicas have it, Redis WAIT): a Redis restart or a failover to a
 * replica loses nothing acknowledged, it is sent again from the journal, and this node's cursor in
 * Redis keeps a chunk from going in twice.
 */
export class Handoff {
  private sent: number
  private floor: number
  private sentReadings = 0
  private lastError: string | null = null
  private stopped = false
  private wakeUp: (() => void) | undefined
  private loop: Promise<void> | undefined
  private floorSaved = 0
  private readonly clock: BacklogClock

  private constructor(
    private readonly journal: HandoffJournal,
    private readonly redis: Redis,
    private readonly opts: { nodeId: string; dir: string; replicas: number; log: Log; now: () => number },
    floor: number,
  ) {
    this.sent = floor
    this.floor = floor
    this.clock = BacklogClock.fromStart(opts.now, journal.head, floor)
  }

  /** The floor saved at the last run: the journal keeps from there (open it with this). */
  static async loadFloor(dir: string): Promise<number | undefined> {
    await removeStaleTemp(join(dir, FLOOR_FILE))
    try {
      return (JSON.parse(await readFile(join(dir, FLOOR_FILE), 'utf8')) as { position: number }).position
    } catch {
      return undefined
    }
  }

  static start(journal: HandoffJournal, redis: Redis, opts: { nodeId: string; dir: string; replicas: number; log: Log; now: () => number }, floor: number | undefined): Handoff {
    // a first start hands off from now on: what came before is in the store already
    const h = new Handoff(journal, redis, opts, floor ?? journal.head)
    journal.retain('handoff', h.floor)
    journal.onCommit(({ end }) => {
      h.clock.committed(end)
      h.wakeUp?.()
    })
    h.loop = h.run()
    return h
  }

  status(): HandoffStatus {
    return {
      backlogBytes: Math.max(0, this.journal.head - this.floor),
      lagSeconds: this.clock.ageMs(this.journal.head, this.floor) / 1000,
      sentReadings: this.sentReadings,
      lastError: this.lastError,
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.sent < this.journal.start) {
        this.opts.log.error({ from: this.sent, start: this.journal.start }, 'hand-off: the journal no longer holds readings Redis has not had; they are in the store but not in the streams')
        this.sent = this.journal.start
      }
      if (this.sent >= this.journal.head) {
        await new Promise<void>((resolve) => {
          this.wakeUp = resolve
          setTimeout(resolve, 1000).unref()
        })
        continue
      }
      try {
        await this.step()
        this.lastError = null
      } catch (err) {
        // sent again from where Redis's cursor says, once Redis answers
        this.lastError = (err as Error).message
        await new Promise((r) => setTimeout(r, 500).unref())
      }
    }
  }

  private async step(): Promise<void> {
    const { readings, end } = await this.journal.read(this.sent, CHUNK)
    if (end <= this.sent) return void (await new Promise((r) => setTimeout(r, 1000).unref()))
    const args: string[] = [String(this.sent), String(end), `${this.opts.now() - STREAM_KEEP_MS}-0`, this.opts.nodeId]
    for (const r of readings) args.push(readingsStream(r.mineId), JSON.stringify(r))
    const answer = await this.redis.eval(APPEND, 1, cursorKey(this.opts.nodeId), ...args)
    const held = Number(answer)
    if (answer === 'done') {
      this.sent = end
      this.sentReadings += readings.length
    } else if (held > this.sent && held <= this.journal.head) {
      // Redis has more than this node remembered (it stopped before saving its floor): go on from there
      this.sent = held
      return
    } else if (held >= this.floor && held < this.sent) {
      // Redis has less than it acknowledged: a failover to a replica lost what was not replicated
      // yet; the journal still holds it (from the floor), so it goes again from Redis's cursor
      this.opts.log.warn({ node: this.opts.nodeId, redisCursor: held, sent: this.sent }, 'hand-off: Redis lost readings it had not replicated (a failover); sending them again from the journal')
      this.sent = held
      return
    } else {
      // no cursor (a first start, or a Redis that lost everything) or one outside what this node's
      // journal holds (its data directory replaced): Redis takes this node's word, from its floor
      if (held !== -1 || this.sentReadings > 0)
        this.opts.log.warn({ node: this.opts.nodeId, redisCursor: held, floor: this.floor }, 'hand-off: Redis’s cursor for this node is not where this node is; setting it and sending from its floor')
      this.sent = Math.max(this.floor, this.journal.start)
      await this.redis.set(cursorKey(this.opts.nodeId), String(this.sent))
      return
    }
    // replicas first: a failover to a replica that lacks the chunk would lose it once the journal let go
    if (this.opts.replicas > 0) {
      const acked = Number(await this.redis.call('WAIT', String(this.opts.replicas), '2000'))
      if (acked < this.opts.replicas) throw new Error(`${acked} of ${this.opts.replicas} Redis replica(s) acknowledged within 2 s; the journal keeps the readings`)
    }
    this.floor = this.sent
    this.clock.passed(this.floor)
    this.journal.retain('handoff', this.floor)
    await this.saveFloor()
  }

  /** At most once a second: a floor older than the truth only keeps a little more journal. */
  private async saveFloor(force = false): Promise<void> {
    const t = this.opts.now()
    if (!force && t - this.floorSaved < 1000) return
    this.floorSaved = t
    await writeFileAtomic(join(this.opts.dir, FLOOR_FILE), JSON.stringify({ position: this.floor }))
  }

  /** Stops, after handing off what the journal holds for up to `drainMs` (a clean stop: the node may not come back). */
  async stop(drainMs = 0): Promise<void> {
    const until = Date.now() + drainMs
    while (!this.stopped && this.floor < this.journal.head && Date.now() < until) await new Promise((r) => setTimeout(r, 50))
    this.stopped = true
    this.wakeUp?.()
    await this.loop
    await this.saveFloor(true).catch(() => undefined)
  }
}
