import type { Redis } from 'ioredis'
import { HttpError } from '../../dashboard/errors.js'
import { SESSION_MS, newSessionToken, tokenDigest, type SessionStore } from '../../dashboard/sessions.js'

const sessionKey = (digest: string) => `minewatch:session:${digest}`
const userKey = (userId: string) => `minewatch:user-sessions:${userId}`
/** How long a request waits for Redis before it is answered 503 rather than held. */
const ANSWER_MS = 3000

/**
 * Login sessions in cluster mode (docs/cluster.md, "Screens"): kept in Redis, so a screen signed
 * in on one node is signed in on every node, and keeps its session when its node dies and the
 * load balancer sends it to another; a logout or a revocation on any node ends it on all. As on
 * one node only the token's SHA-256 is kept; Redis forgets a session when it expires.
 *
 * A session's end is told to the live sockets of this node (their rooms close across the cluster
 * through the socket.io adapter): at a logout or revocation here, and at expiry for the sessions
 * this node has seen, since Redis does not say when a key lapses.
 */
export class RedisSessions implements SessionStore {
  /** digest → expiry of the sessions this node created or looked up: their expiry is told to the live sockets. */
  private readonly seen = new Map<string, number>()
  private expiredListener: (digest: string) => void = () => undefined

  constructor(private readonly redis: Redis) {}

  async create(userId: string, now: number): Promise<string> {
    const token = newSessionToken()
    const digest = tokenDigest(token)
    const expires = now + SESSION_MS
    await this.answer(this.redis.multi().set(sessionKey(digest), JSON.stringify({ userId, expires }), 'PX', SESSION_MS).sadd(userKey(userId), digest).pexpire(userKey(userId), SESSION_MS).exec())
    this.seen.set(digest, expires)
    return token
  }

  async userOf(token: string, now: number): Promise<string | undefined> {
    const digest = tokenDigest(token)
    const text = await this.answer(this.redis.get(sessionKey(digest)))
    if (!text) return undefined
    const s = JSON.parse(text) as { userId: string; expires: number }
    if (s.expires <= now) return undefined
    this.seen.set(digest, s.expires)
    return s.userId
  }

  async revoke(token: string): Promise<void> {
    const digest = tokenDigest(token)
    const text = await this.answer(this.redis.get(sessionKey(digest)))
    const userId = text ? (JSON.parse(text) as { userId: string }).userId : undefined
    await this.answer<unknown>(userId ? this.redis.multi().del(sessionKey(digest)).srem(userKey(userId), digest).exec() : this.redis.del(sessionKey(digest)))
    this.seen.delete(digest)
  }

  async revokeUser(userId: string): Promise<string[]> {
    const digests = await this.answer(this.redis.smembers(userKey(userId)))
    await this.answer(
      this.redis
        .multi()
        .del(...digests.map(sessionKey), userKey(userId))
        .exec(),
    )
    for (const d of digests) this.seen.delete(d)
    return digests
  }

  sweep(now: number): void {
    for (const [digest, expires] of this.seen) {
      if (expires > now) continue
      this.seen.delete(digest)
      this.expiredListener(digest)
    }
  }

  onExpired(listener: (digest: string) => void): void {
    this.expiredListener = listener
  }

  async flushed(): Promise<void> {}

  /** Redis's answer, or a 503 that says what is wrong: a screen is told, not held. */
  private answer<T>(p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), ANSWER_MS)))
    return Promise.race([p, late])
      .catch(() => {
        throw new HttpError('MW_CLUSTER_UNAVAILABLE', '集群的 Redis 暂不可用, 无法核对登录状态, 请稍后重试 (the cluster’s Redis is unavailable; the session cannot be checked; try again shortly)')
      })
      .finally(() => clearTimeout(timer))
  }
}
