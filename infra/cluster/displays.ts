import type { Redis } from 'ioredis'
import { newDisplay, view, type Display, type DisplayStore, type StoredDisplay } from '../../dashboard/displays.js'
import { tokenDigest } from '../../dashboard/sessions.js'

const KEY = 'minewatch:displays'

/**
 * Wall screens' display credentials in cluster mode (docs/cluster.md, "Screens"): one Redis hash
 * (the token's SHA-256 → the credential), so a display issued on one node signs its screen in on
 * any node, and a revocation on one ends it on all. Only digests are kept, as on one node.
 */
export class RedisDisplays implements DisplayStore {
  constructor(private readonly redis: Redis) {}

  async issue(name: string, userId: string, now: number): Promise<{ display: Display; token: string }> {
    const { stored, token } = newDisplay(name, userId, now)
    await this.redis.hset(KEY, stored.hash, JSON.stringify(stored))
    return { display: view(stored), token }
  }

  async of(token: string): Promise<Display | undefined> {
    const text = await this.redis.hget(KEY, tokenDigest(token))
    return text ? view(JSON.parse(text) as StoredDisplay) : undefined
  }

  async list(): Promise<Display[]> {
    const all = Object.values(await this.redis.hgetall(KEY)).map((t) => JSON.parse(t) as StoredDisplay)
    return all.map(view).sort((a, b) => a.createdAt - b.createdAt)
  }

  async revoke(id: string): Promise<string | undefined> {
    for (const [hash, text] of Object.entries(await this.redis.hgetall(KEY))) if ((JSON.parse(text) as StoredDisplay).id === id && (await this.redis.hdel(KEY, hash)) === 1) return hash
    return undefined
  }

  async flushed(): Promise<void> {}
}
