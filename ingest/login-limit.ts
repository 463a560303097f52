/**
 * The failed-login limit (docs/security.md): per (user name, address) 5 failures in 15 minutes, and
 * per address 20 whatever the user names, after which tries are refused until the oldest failure
 * is 15 minutes old. A try counts from the moment it starts: tries still being checked (a
 * password check takes tens of milliseconds) count against the limit as failures would, so
 * sixty guesses sent at once get five checks, not sixty. Memory is bounded: past `maxKeys`
 * entries the least recently used idle ones are forgotten, never all at once.
 */
export class LoginLimiter {
  private readonly entries = new Map<string, { failures: number[]; inFlight: number }>()

  constructor(
    private readonly perUser = 5,
    private readonly perAddress = 20,
    private readonly windowMs = 15 * 60_000,
    private readonly maxKeys = 100_000,
  ) {}

  /**
   * Starts a try: refused with the seconds to wait and why (too many failures, or too many tries
   * still being checked), or a ticket to settle once the password is checked.
   */
  begin(username: string, address: string, now: number): { retryAfter: number; reason: 'failures' | 'busy' } | { ticket: LoginTicket } {
    const keys = [userKeyOf(username, address), addressKeyOf(address)] as const
    const limits = [this.perUser, this.perAddress]
    let wait = 0
    let reason: 'failures' | 'busy' = 'busy'
    keys.forEach((key, i) => {
      const e = this.entry(key, now)
      if (e.failures.length >= limits[i]!) {
        wait = Math.max(wait, Math.ceil((e.failures[0]! + this.windowMs - now) / 1000))
        reason = 'failures'
      } else if (e.failures.length + e.inFlight >= limits[i]!) {
        // a limit full of tries still in flight frees up in a second or two
        wait = Math.max(wait, 1)
      }
    })
    if (wait > 0) return { retryAfter: wait, reason }
    for (const key of keys) this.entry(key, now).inFlight++
    return { ticket: { keys, at: now } }
  }

  /** Ends a try: a failure counts for both keys; a success clears the user's failures from that address. */
  settle(ticket: LoginTicket, ok: boolean): void {
    const [userKey] = ticket.keys
    for (const key of ticket.keys) {
      const e = this.entries.get(key)
      if (!e) continue
      e.inFlight = Math.max(0, e.inFlight - 1)
      if (!ok) e.failures.push(ticket.at)
    }
    if (ok) this.entries.get(userKey)!.failures = []
    this.evict()
  }

  /**
   * The failures of these keys as another source knows them (cluster mode: every node's, from
   * Redis), in place of this node's own: the limit is the cluster's, not each node's.
   */
  adopt(username: string, address: string, failures: { user: readonly number[]; address: readonly number[] }, now: number): void {
    this.entry(userKeyOf(username, address), now).failures = failures.user.filter((t) => t > now - this.windowMs)
    this.entry(addressKeyOf(address), now).failures = failures.address.filter((t) => t > now - this.windowMs)
  }

  /** Ends a try that checked nothing (the checker was busy): neither a failure nor a success. */
  abandon(ticket: LoginTicket): void {
    for (const key of ticket.keys) {
      const e = this.entries.get(key)
      if (e) e.inFlight = Math.max(0, e.inFlight - 1)
    }
  }

  get size(): number {
    return this.entries.size
  }

  /** The entry of a key with its failures inside the window, moved to the most recently used end. */
  private entry(key: string, now: number): { failures: number[]; inFlight: number } {
    const e = this.entries.get(key) ?? { failures: [], inFlight: 0 }
    e.failures = e.failures.filter((t) => t > now - this.windowMs)
    this.entries.delete(key)
    this.entries.set(key, e)
    return e
  }

  private evict(): void {
    if (this.entries.size <= this.maxKeys) return
    for (const [key, e] of this.entries) {
      if (this.entries.size <= this.maxKeys) break
      if (e.inFlight === 0) this.entries.delete(key)
    }
  }
}

/** The failures of every node (cluster mode, infra/cluster/login-failures.ts): read before a try, told after it. */
export interface SharedLoginFailures {
  load(username: string, address: string, now: number): Promise<{ user: number[]; address: number[] }>
  failed(username: string, address: string, at: number): Promise<void>
  succeeded(username: string, address: string): Promise<void>
}

const userKeyOf = (username: string, address: string) => `u\u0000${username}\u0000${address}`
const addressKeyOf = (address: string) => `a\u0000${address}`

export interface LoginTicket {
  readonly keys: readonly [user: string, address: string]
  readonly at: number
}
