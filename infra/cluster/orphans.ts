import type { Redis } from 'ioredis'
import type { Log } from '../../ingest/log.js'
import { readingsStream, STREAM_KEEP_MS } from './handoff.js'
import { LEASE_TTL_MS, ROUND_MS } from './partitions.js'
import { alertsStream, ALERTS_KEEP_MS } from './rules.js'
import { fieldOf, idMs, optionalField } from './stream-ids.js'

/** Each node's mark: how far its store has written its journal (docs/cluster.md, "A node that never comes back"). */
const MARKS = 'minewatch:stored'
/** Per dead node: the mines whose orphans were written, with the mark they were written against. */
const doneKey = (node: string) => `minewatch:orphans-done:${node}`
/** The backlog's age is known to within a second; the margin takes in that and a slow hand-off. */
const SINCE_MARGIN_MS = 10_000
const PAGE = 1000

// the mark on Redis's clock, like the stream ids it is compared with: "position since at
// eventsSince", where `since` is when the oldest reading the store has not written was committed
// (now, with none), and `eventsSince` the same of the warning events this node wrote
const MARK = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. (now - tonumber(ARGV[3])) .. ' ' .. now .. ' ' .. (now - tonumber(ARGV[4])))
return now`

interface Mark {
  /** The node's store has every reading of its journal before this position. */
  readonly position: number
  /** Readings after it were committed no earlier than this (Redis's clock, ms). */
  readonly since: number
  /** When the node last said so (Redis's clock, ms). */
  readonly at: number
  /** The warning events it wrote to its mines' alerts streams from this time on may not be in the store (Redis's clock, ms). */
  readonly eventsSince: number
}

function parseMark(text: string): Mark | undefined {
  const [position, since, at, eventsSince] = text.split(' ').map(Number)
  return [position, since, at, eventsSince].every(Number.isFinite) ? { position: position!, since: since!, at: at!, eventsSince: eventsSince! } : undefined
}

export interface OrphanDeps {
  readonly redis: Redis
  readonly node: string
  /** This node's store: its journal position written, and how long the oldest reading not written has waited, ms. */
  readonly stored: () => { position: number; backlogAgeMs: number; eventsBacklogAgeMs: number }
  readonly members: () => readonly string[]
  readonly owned: () => readonly string[]
  /** Writes readings (a JSON array of them) to the store. */
  readonly write: (payload: Buffer) => Promise<void>
  /** Writes warning events (a JSON array of them) to the store. */
  readonly writeEvents: (payload: Buffer) => Promise<void>
  readonly log: Log
}

/**
 * The readings (and warning events) a dead node acknowledged and handed off to Redis but never wrote to the store
 * (docs/cluster.md, "A node that never comes back"; issue 17, "loses no acknowledged reading").
 * Each node says, every round, how far its store has written its journal; every entry of a
 * mine's readings stream says which node's journal it came from and where (infra/cluster/handoff.ts).
 * When a node has left the members and stopped saying so, the owner of each mine writes to the
 * store that node's entries of the mine's stream past its mark. Writing a reading twice is
 * harmless (a point in InfluxDB is its series and time), so a node that comes back after all and
 * writes its journal itself only repeats what was written; and an owner that dies midway leaves
 * the mine to the next, which does it again.
 */
export class OrphanedReadings {
  private timer: NodeJS.Timeout | undefined
  private markTimer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private stopped = false
  private written = 0
  private eventsWritten = 0
  private lastError: string | null = null

  constructor(private readonly deps: OrphanDeps) {}

  start(): void {
    // on a timer of its own: a long write of another's orphans must not let this node's mark go stale
    const mark = () => {
      this.mark()
        .catch((err: Error) => (this.lastError = err.message))
        .finally(() => {
          if (!this.stopped) this.markTimer = setTimeout(mark, ROUND_MS)
        })
    }
    mark()
    const tick = () => {
      this.running = this.round().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, ROUND_MS)
      })
    }
    tick()
  }

  status(): { readonly orphansWritten: number; readonly orphanEventsWritten: number; readonly lastError: string | null } {
    return { orphansWritten: this.written, orphanEventsWritten: this.eventsWritten, lastError: this.lastError }
  }

  /** Says how far this node's store has written; Redis's time now. */
  private async mark(): Promise<number> {
    const { position, backlogAgeMs, eventsBacklogAgeMs } = this.deps.stored()
    return Number(await this.deps.redis.eval(MARK, 1, MARKS, this.deps.node, String(position), String(Math.round(backlogAgeMs)), String(Math.round(eventsBacklogAgeMs))))
  }

  private async round(): Promise<void> {
    try {
      const now = await this.mark()
      const members = this.deps.members()
      for (const [node, text] of Object.entries(await this.deps.redis.hgetall(MARKS))) {
        const mark = parseMark(text)
        // live, or only just gone (a restart, or a members view a round behind): not an orphan's
        if (node === this.deps.node || members.includes(node) || (mark && now - mark.at < LEASE_TTL_MS)) continue
        if (!mark || now - mark.at > ALERTS_KEEP_MS + 3_600_000) {
          // its streams' entries are trimmed by now: nothing left to write
          await this.deps.redis.multi().hdel(MARKS, node).del(doneKey(node)).exec()
          continue
        }
        for (const mine of this.deps.owned()) {
          if (this.stopped) return
          if ((await this.deps.redis.hget(doneKey(node), mine)) === text) continue
          const n = now - mark.at <= STREAM_KEEP_MS ? await this.writeOrphans(mine, node, mark) : 0
          const events = await this.writeOrphanEvents(mine, node, mark)
          await this.deps.redis
            .multi()
            .hset(doneKey(node), mine, text)
            .pexpire(doneKey(node), ALERTS_KEEP_MS + 3_600_000)
            .exec()
          if (n + events > 0) this.deps.log.warn({ node, mine, readings: n, events }, 'cluster: wrote to the store the readings and warning events a node that left had not written (docs/cluster.md)')
        }
      }
      this.lastError = null
    } catch (err) {
      this.lastError = (err as Error).message
      this.deps.log.warn({ err: this.lastError }, 'cluster: could not check for readings a node that left had not written; trying again next round')
    }
  }

  /** Writes the node's entries of the mine's readings stream past its mark; how many. */
  private async writeOrphans(mineId: string, node: string, mark: Mark): Promise<number> {
    const n = await this.scan(
      readingsStream(mineId),
      mark.since,
      mark,
      (f) => (optionalField(f, 'n') === node && Number(optionalField(f, 'p')) > mark.position ? fieldOf(f, 'r') : undefined),
      this.deps.write,
    )
    this.written += n
    return n
  }

  /** Writes the node's warning events of the mine's alerts stream since its mark; how many (written again if already there: harmless, same point). */
  private async writeOrphanEvents(mineId: string, node: string, mark: Mark): Promise<number> {
    const n = await this.scan(alertsStream(mineId), mark.eventsSince, mark, (f) => (optionalField(f, 'n') === node ? fieldOf(f, 'e') : undefined), this.deps.writeEvents)
    this.eventsWritten += n
    return n
  }

  /** A stream read from `since` (less the margin) in pages, what `pick` takes of each page written; how many. */
  private async scan(stream: string, since: number, mark: Mark, pick: (fields: string[]) => string | undefined, write: (payload: Buffer) => Promise<void>): Promise<number> {
    let from = `${Math.max(0, since - SINCE_MARGIN_MS)}-0`
    let n = 0
    for (;;) {
      const entries = (await this.deps.redis.xrange(stream, from, '+', 'COUNT', PAGE)) as [string, string[]][]
      const orphans = entries.flatMap(([, f]) => pick(f) ?? [])
      if (orphans.length > 0) {
        await write(Buffer.from(`[${orphans.join(',')}]`))
        n += orphans.length
      }
      // the node's entries end where it died, within a round or so of its last mark
      if (entries.length < PAGE || this.stopped) return n
      const last = entries.at(-1)![0]
      if (idMs(last) > mark.at + 2 * LEASE_TTL_MS) return n
      from = `(${last}`
    }
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    clearTimeout(this.markTimer)
    await this.running
    // the last word, after the store's last write: what it did not write, another will if this node does not come back
    await this.mark().catch(() => undefined)
  }
}
