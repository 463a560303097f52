import { createHash } from 'node:crypto'

/**
 * Who should own each mine's rules and warning book in a cluster (issue 17 item 4; docs/cluster.md,
 * "One owner per mine"): rendezvous hashing over the live nodes, so that every node, seeing the
 * same members, reaches the same answer without talking to the others, a node joining or leaving
 * moves only the mines it gains or loses (about 1/N of them), and the share is even on average.
 * Ownership itself is an expiring lease in Redis (infra/cluster/partitions.ts): this only says
 * which leases a node should try to take and which to hand back.
 */
export function preferredOwner(mineId: string, members: readonly string[]): string | undefined {
  let best: string | undefined
  let bestScore = ''
  for (const node of members) {
    const score = createHash('sha256').update(`${mineId}\u0000${node}`).digest('hex')
    if (best === undefined || score > bestScore) {
      best = node
      bestScore = score
    }
  }
  return best
}

export interface LeasePlan {
  /** Free mines this node is preferred for: take their leases. */
  readonly acquire: readonly string[]
  /** Mines this node holds that a live member is preferred for: hand their leases back, for it to take. */
  readonly release: readonly string[]
  /** Mines this node holds and keeps: renew their leases. */
  readonly renew: readonly string[]
}

/**
 * One round of the plan. `owners`: each mine's lease holder now (absent: free). A mine whose
 * preferred node holds nothing of it and whose holder is alive stays where it is until handed
 * back, so a mine is never without an owner longer than a lease takes to be taken. A free mine
 * whose preferred node is not this one is still taken by this one if the preferred node has not
 * taken it after `graceRounds` rounds (a member that heartbeats but cannot take leases).
 */
export function planLeases(
  self: string,
  mines: readonly string[],
  members: readonly string[],
  owners: ReadonlyMap<string, string>,
  freeRounds: ReadonlyMap<string, number> = new Map(),
  graceRounds = 3,
): LeasePlan {
  const acquire: string[] = []
  const release: string[] = []
  const renew: string[] = []
  const live = members.includes(self) ? members : [...members, self]
  for (const mine of mines) {
    const holder = owners.get(mine)
    const preferred = preferredOwner(mine, live)
    if (holder === self) {
      // hand back only to a live preferred node; else keep it
      if (preferred !== self && members.includes(preferred!)) release.push(mine)
      else renew.push(mine)
    } else if (holder === undefined) {
      if (preferred === self || (freeRounds.get(mine) ?? 0) >= graceRounds) acquire.push(mine)
    }
  }
  return { acquire, release, renew }
}
