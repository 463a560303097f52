import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { writeFileAtomic } from '../ingest/atomic-file.js'

/**
 * Login sessions: a random token given once to the browser (an httpOnly cookie) or to an API
 * client (bearer); only its SHA-256 is held. A session lasts a 12-hour shift.
 *
 * With a file, the sessions survive a restart: a wall screen in the dispatch room stays signed in
 * and keeps receiving warnings when the platform is restarted, instead of falling back to the
 * login page and going silent until someone logs in. The file holds only the digests (a digest
 * of a 256-bit random token cannot be turned back into the token), the user ids and the expiry
 * times; it is rewritten on every login and logout, and expired sessions are swept then.
 */
export const SESSION_MS = 12 * 3_600_000

/** The digest a session or display token is known by (only digests are kept). */
export const tokenDigest = (token: string) => createHash('sha256').update(token).digest('hex')
const digest = tokenDigest

type Stored = [hash: string, userId: string, expires: number]

export class Sessions {
  private readonly byHash = new Map<string, { userId: string; expires: number }>()
  private saving: Promise<void> = Promise.resolve()

  /** `file`: where the sessions are kept across restarts (none: in memory only). */
  constructor(
    private readonly file?: string,
    private readonly onError: (err: Error) => void = () => undefined,
    now = Date.now(),
  ) {
    if (!file) return
    try {
      const stored = JSON.parse(readFileSync(file, 'utf8')) as { sessions?: Stored[] }
      for (const [hash, userId, expires] of stored.sessions ?? []) if (expires > now) this.byHash.set(hash, { userId, expires })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onError(err as Error)
    }
  }

  create(userId: string, now: number): string {
    const token = randomBytes(32).toString('base64url')
    this.sweep(now)
    this.byHash.set(digest(token), { userId, expires: now + SESSION_MS })
    this.save()
    return token
  }

  userOf(token: string, now: number): string | undefined {
    const s = this.byHash.get(digest(token))
    if (!s) return undefined
    if (s.expires <= now) {
      this.byHash.delete(digest(token))
      return undefined
    }
    return s.userId
  }

  revoke(token: string): void {
    if (this.byHash.delete(digest(token))) this.save()
  }

  /** Sessions held (for tests and health). */
  get size(): number {
    return this.byHash.size
  }

  /** Resolves once every change so far is on disk. */
  flushed(): Promise<void> {
    return this.saving
  }

  private sweep(now: number): void {
    for (const [hash, s] of this.byHash) if (s.expires <= now) this.byHash.delete(hash)
  }

  /** Writes the sessions, one write at a time, the last one winning. */
  private save(): void {
    const file = this.file
    if (!file) return
    const sessions: Stored[] = [...this.byHash].map(([hash, s]) => [hash, s.userId, s.expires])
    this.saving = this.saving.then(() => writeFileAtomic(file, JSON.stringify({ sessions }))).catch((err: Error) => this.onError(err))
  }
}

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

  /** Starts a try: seconds to wait (refused), or a ticket to settle once the password is checked. */
  begin(username: string, address: string, now: number): { retryAfter: number } | { ticket: LoginTicket } {
    const keys = [`u\u0000${username}\u0000${address}`, `a\u0000${address}`] as const
    const limits = [this.perUser, this.perAddress]
    let wait = 0
    keys.forEach((key, i) => {
      const e = this.entry(key, now)
      if (e.failures.length + e.inFlight >= limits[i]!) {
        // a limit full of tries still in flight frees up in a second or two
        wait = Math.max(wait, e.failures.length >= limits[i]! ? Math.ceil((e.failures[0]! + this.windowMs - now) / 1000) : 1)
      }
    })
    if (wait > 0) return { retryAfter: wait }
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

export interface LoginTicket {
  readonly keys: readonly [user: string, address: string]
  readonly at: number
}
