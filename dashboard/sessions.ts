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

/** A session's token: 256 random bits. */
export const newSessionToken = () => randomBytes(32).toString('base64url')

/** The digest a session or display token is known by (only digests are kept). */
export const tokenDigest = (token: string) => createHash('sha256').update(token).digest('hex')
const digest = tokenDigest

type Stored = [hash: string, userId: string, expires: number]

/**
 * Where login sessions are kept: this node's file (Sessions, below), or Redis, shared by a
 * cluster's nodes so that a screen keeps its session whichever node serves it (infra/cluster/sessions.ts).
 */
export interface SessionStore {
  /** A new session's token (given once; only its digest is kept). */
  create(userId: string, now: number): Promise<string>
  /** The user of a live session (undefined: none, or expired). */
  userOf(token: string, now: number): Promise<string | undefined>
  revoke(token: string): Promise<void>
  /** Ends every session of this user; their digests, for the live sockets to close. */
  revokeUser(userId: string): Promise<string[]>
  /** Forgets expired sessions, telling the listener of each (its live sockets close). */
  sweep(now: number): void
  onExpired(listener: (digest: string) => void): void
  /** Resolves once every change so far is kept. */
  flushed(): Promise<void>
}

export class Sessions implements SessionStore {
  private readonly byHash = new Map<string, { userId: string; expires: number }>()
  private saving: Promise<void> = Promise.resolve()
  private expiredListener: (digest: string) => void = () => undefined

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

  async create(userId: string, now: number): Promise<string> {
    const token = newSessionToken()
    this.sweep(now)
    this.byHash.set(digest(token), { userId, expires: now + SESSION_MS })
    this.save()
    return token
  }

  async userOf(token: string, now: number): Promise<string | undefined> {
    const s = this.byHash.get(digest(token))
    if (!s) return undefined
    if (s.expires <= now) {
      this.byHash.delete(digest(token))
      this.expiredListener(digest(token))
      return undefined
    }
    return s.userId
  }

  async revoke(token: string): Promise<void> {
    if (this.byHash.delete(digest(token))) this.save()
  }

  /** Ends every session of this user (retired, or given a new password); their digests, for the live sockets to close. */
  async revokeUser(userId: string): Promise<string[]> {
    const ended = [...this.byHash].filter(([, s]) => s.userId === userId).map(([hash]) => hash)
    for (const hash of ended) this.byHash.delete(hash)
    if (ended.length > 0) this.save()
    return ended
  }

  /** Sessions held (for tests and health). */
  get size(): number {
    return this.byHash.size
  }

  /** Resolves once every change so far is on disk. */
  flushed(): Promise<void> {
    return this.saving
  }

  /** Tells `listener` the digest of each session found expired (its live sockets are closed). */
  onExpired(listener: (digest: string) => void): void {
    this.expiredListener = listener
  }

  /**
   * Forgets the sessions past their lifetime and tells the listener of each: a screen signed in
   * with one must not keep receiving warnings after it (the platform sweeps every 30 s).
   */
  sweep(now: number): void {
    let swept = false
    for (const [hash, s] of this.byHash) {
      if (s.expires > now) continue
      this.byHash.delete(hash)
      this.expiredListener(hash)
      swept = true
    }
    if (swept) this.save()
  }

  /** Writes the sessions, one write at a time, the last one winning. */
  private save(): void {
    const file = this.file
    if (!file) return
    const sessions: Stored[] = [...this.byHash].map(([hash, s]) => [hash, s.userId, s.expires])
    this.saving = this.saving.then(() => writeFileAtomic(file, JSON.stringify({ sessions }))).catch((err: Error) => this.onError(err))
  }
}
