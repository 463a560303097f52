import type { Redis } from 'ioredis'
import { planLeases } from '../../alerting/partitions.js'
import type { Log } from '../../ingest/log.js'

/** A lease lapses this long after its holder last renewed it (its node died or lost Redis). */
export const LEASE_TTL_MS = 10_000
/** A round: heartbeat, read the owners, take, renew and hand back leases. */
export const ROUND_MS = 2_000
/** A node holds a lease, for itself, only this share of the TTL after the renewal began: it stops acting before Redis lets another take it. */
const SAFE_SHARE = 0.8
/** How long a hand-back waits for the mine's state to be saved: well within the lease's safe share. */
const HAND_BACK_SAVE_MS = 3_000

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not done within ${ms} ms`)), ms)))
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}

const MEMBERS = 'minewatch:members'
/** Who holds the mine's lease: the node id, while it lasts. */
export const leaseKey = (mineId: string) => `minewatch:lease:${mineId}`
/** The mine's epoch: counted up at each take of its lease; what the owner writes carries it. */
export const epochKey = (mineId: string) => `minewatch:lease-epoch:${mineId}`

// members by Redis's clock, not the nodes': a node's clock running wrong does not make it dead or alive
const HEARTBEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)`
// each take of a lease counts up the mine's epoch: what the owner writes can carry it, and a
// writer with an older epoch can be told it is no longer the owner (a fencing token)
const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return redis.call('INCR', KEYS[2]) end
return 0`
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0`
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0`

export interface PartitionEvents {
  /** This node now owns the mine's rules and book, under this epoch. */
  gained?(mineId: string, epoch: number): void
  /** It no longer does (handed back, lapsed, or taken). */
  lost?(mineId: string): void
}

export interface PartitionStatus {
  readonly node: string
  readonly members: readonly string[]
  /** Each mine's lease holder as last read (absent: none). */
  readonly owners: Readonly<Record<string, string>>
  /** The mines this node owns now, with their epochs. */
  readonly owns: readonly { mineId: string; epoch: number }[]
  readonly lastError: string | null
}

/**
 * One owner per mine (issue 17 item 4; docs/cluster.md): each node heartbeats its membership and,
 * every round, takes the leases of the mines rendezvous hashing gives it (alerting/partitions.ts),
 * renews those it keeps and hands back those a live node is preferred for. A node that cannot
 * renew (Redis unreachable, the process stalled) stops counting itself the owner before its lease
 * can lapse in Redis, so two nodes never both act as a mine's owner on the same clock rate.
 */
export class Partitions {
  private members: string[] = []
  private owners = new Map<string, string>()
  private readonly held = new Map<string, { epoch: number; validUntil: number }>()
  private readonly freeRounds = new Map<string, number>()
  private lastError: string | null = null
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private stopped = false
  /** Called before a lease is handed back to the node preferred for it (the rules save the mine's state). */
  beforeHandBack: ((mineId: string) => Promise<void>) | undefined

  constructor(
    private readonly redis: Redis,
    private readonly node: string,
    private mines: readonly string[],
    private readonly log: Log,
    private readonly events: PartitionEvents = {},
    private readonly clock: () => number = () => performance.now(),
  ) {}

  start(): void {
    const tick = () => {
      this.running = this.round().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, ROUND_MS)
      })
    }
    tick()
  }

  /** The site's mines changed (站点管理). */
  setMines(mines: readonly string[]): void {
    this.mines = mines
  }

  /** Whether this node may act as the mine's owner now. */
  owns(mineId: string): boolean {
    const h = this.held.get(mineId)
    return h !== undefined && h.validUntil > this.clock()
  }

  status(): PartitionStatus {
    return {
      node: this.node,
      members: this.members,
      owners: Object.fromEntries(this.owners),
      owns: [...this.held].filter(([m]) => this.owns(m)).map(([mineId, h]) => ({ mineId, epoch: h.epoch })),
      lastError: this.lastError,
    }
  }

  private async round(): Promise<void> {
    const began = this.clock()
    try {
      this.members = ((await this.redis.eval(HEARTBEAT, 1, MEMBERS, this.node, LEASE_TTL_MS)) as string[]).sort()
      const holders = this.mines.length ? await this.redis.mget(...this.mines.map(leaseKey)) : []
      this.owners = new Map(this.mines.flatMap((m, i) => (holders[i] ? [[m, holders[i]!] as [string, string]] : [])))
      for (const m of this.mines) this.freeRounds.set(m, this.owners.has(m) ? 0 : (this.freeRounds.get(m) ?? 0) + 1)
      // a lease this node thinks it holds but Redis gives to another (or to none): lost
      for (const m of [...this.held.keys()]) if (this.owners.get(m) !== this.node) this.drop(m, 'its lease lapsed or was taken')
      const plan = planLeases(this.node, this.mines, this.members, this.owners, this.freeRounds)
      const validUntil = began + LEASE_TTL_MS * SAFE_SHARE
      for (const m of plan.renew) {
        if (Number(await this.redis.eval(RENEW, 1, leaseKey(m), this.node, LEASE_TTL_MS)) === 1) {
          const h = this.held.get(m)
          if (h) h.validUntil = validUntil
          // held in Redis but not known here (this node restarted within a lease): take it up under a new epoch
          else if (Number(await this.redis.eval(RELEASE, 1, leaseKey(m), this.node)) === 1) this.owners.delete(m)
        } else this.drop(m, 'its lease could not be renewed')
      }
      for (const m of plan.release) {
        // the state the joining node starts from, saved while this node still holds the lease (bounded: a slow save only means a longer replay there)
        if (this.beforeHandBack && this.owns(m))
          await withTimeout(this.beforeHandBack(m), HAND_BACK_SAVE_MS).catch((err: Error) =>
            this.log.warn({ mine: m, err: err.message }, 'cluster: the mine’s rule state could not be saved before handing it back; the next owner replays from the last save'),
          )
        this.drop(m, 'handed back to the node preferred for it')
        await this.redis.eval(RELEASE, 1, leaseKey(m), this.node)
      }
      for (const m of plan.acquire) {
        const epoch = Number(await this.redis.eval(ACQUIRE, 2, leaseKey(m), epochKey(m), this.node, LEASE_TTL_MS))
        if (epoch > 0) {
          this.held.set(m, { epoch, validUntil })
          this.owners.set(m, this.node)
          this.events.gained?.(m, epoch)
        }
      }
      for (const m of [...this.held.keys()]) if (!this.mines.includes(m)) this.drop(m, 'no longer in the site')
      this.lastError = null
    } catch (err) {
      this.lastError = (err as Error).message
      // the leases lapse by themselves if Redis stays away: owns() says so at its deadline
      this.log.warn({ err: this.lastError }, 'cluster: a lease round failed (Redis unreachable?); the mines this node holds are given up at their deadline')
    }
  }

  private drop(mineId: string, why: string): void {
    if (!this.held.delete(mineId)) return
    this.log.info({ mine: mineId, node: this.node, why }, 'cluster: this node no longer owns the mine')
    this.events.lost?.(mineId)
  }

  /** Hands every lease back (a clean stop: the others take them at their next round) and leaves the members. */
  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.running
    for (const m of [...this.held.keys()]) {
      this.drop(m, 'this node is stopping')
      await this.redis.eval(RELEASE, 1, leaseKey(m), this.node).catch(() => undefined)
    }
    await this.redis.zrem(MEMBERS, this.node).catch(() => undefined)
  }
}
