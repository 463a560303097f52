import { createHash, randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { SharedLoginFailures } from '../../ingest/login-limit.js'

/** The failed-login limit's window (ingest/login-limit.ts): a failure older than this no longer counts. */
const WINDOW_MS = 15 * 60_000
/** At most this many failures kept per key: more than any limit, so a flood costs Redis nothing more. */
const KEEP = 64
// what a person typed is not put in a key: its digest is
const keyOf = (...parts: string[]) => `minewatch:login-failures:${createHash('sha256').update(parts.join('\u0000')).digest('hex')}`

/**
 * The failed-login limit across a cluster (docs/security.md; docs/cluster.md, "Screens"): each
 * key's failures are a sorted set of times in Redis, kept for the window, so five wrong passwords
 * for one user from one address are five whichever nodes the load balancer sent them to.
 */
export class RedisLoginFailures implements SharedLoginFailures {
  constructor(private readonly redis: Redis) {}

  async load(username: string, address: string, now: number): Promise<{ user: number[]; address: number[] }> {
    const [user, addr] = await Promise.all([keyOf('u', username, address), keyOf('a', address)].map((k) => this.redis.zrangebyscore(k, now - WINDOW_MS, '+inf', 'WITHSCORES')))
    const times = (flat: string[]) => flat.filter((_, i) => i % 2 === 1).map(Number)
    return { user: times(user!), address: times(addr!) }
  }

  async failed(username: string, address: string, at: number): Promise<void> {
    const m = this.redis.multi()
    for (const k of [keyOf('u', username, address), keyOf('a', address)]) {
      m.zadd(k, at, `${at}:${randomBytes(6).toString('hex')}`)
      m.zremrangebyscore(k, '-inf', at - WINDOW_MS)
      m.zremrangebyrank(k, 0, -KEEP - 1)
      m.pexpire(k, WINDOW_MS)
    }
    await m.exec()
  }

  async succeeded(username: string, address: string): Promise<void> {
    await this.redis.del(keyOf('u', username, address))
  }
}
