import { createHash, randomBytes } from 'node:crypto'

/**
 * Login sessions: a random token given once to the browser (an httpOnly cookie) or to an API
 * client (bearer); only its SHA-256 is held, in memory. A session lasts a 12-hour shift.
 */
export const SESSION_MS = 12 * 3_600_000

const digest = (token: string) => createHash('sha256').update(token).digest('hex')

export class Sessions {
  private readonly byHash = new Map<string, { userId: string; expires: number }>()

  create(userId: string, now: number): string {
    const token = randomBytes(32).toString('base64url')
    this.byHash.set(digest(token), { userId, expires: now + SESSION_MS })
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
    this.byHash.delete(digest(token))
  }
}

/**
 * Failed logins per (user name, address): after `max` in `windowMs`, further tries are refused
 * until the window has passed (and each refusal is logged by the caller).
 */
export class LoginLimiter {
  private readonly failures = new Map<string, number[]>()

  constructor(
    private readonly max = 5,
    private readonly windowMs = 15 * 60_000,
  ) {}

  /** Seconds to wait, or 0 to go ahead. */
  retryAfter(key: string, now: number): number {
    const recent = (this.failures.get(key) ?? []).filter((t) => t > now - this.windowMs)
    this.failures.set(key, recent)
    return recent.length >= this.max ? Math.ceil((recent[0]! + this.windowMs - now) / 1000) : 0
  }

  failed(key: string, now: number): void {
    if (this.failures.size > 100_000) this.failures.clear()
    this.failures.set(key, [...(this.failures.get(key) ?? []), now])
  }

  succeeded(key: string): void {
    this.failures.delete(key)
  }
}
