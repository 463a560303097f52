import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { OutboxEntry, SharedCalls } from '../notify/outbox.js'
import type { SharedLinks } from '../notify/sign-links.js'

const callKey = (id: string) => `minewatch:call:${id}`
/** A warning's calls' records, by call id (every node's view of the warning's calls, the monthly report's count). */
const recordKey = (alertId: string) => `minewatch:calls-of:${alertId}`
/** As long as a node keeps a settled call in its outbox (the monthly reports of the last year). */
const RECORD_KEEP_MS = 400 * 86_400_000
/** A call's delivery is remembered this long: a warning open longer is called by steps of its own ids. */
const KEEP_MS = 30 * 86_400_000

/**
 * The calls (叫应) delivered by any node (docs/cluster.md, "Calls"): a key per call, `<node> <at>`.
 * The node taking a mine over decides its open warnings' calls again, with the same ids, and
 * sends none that a node before it delivered.
 */
export class RedisCalls implements SharedCalls {
  constructor(
    private readonly redis: Redis,
    private readonly node: string,
  ) {}

  async delivered(ids: readonly string[]): Promise<Map<string, { by: string; at: number }>> {
    const out = new Map<string, { by: string; at: number }>()
    if (ids.length === 0) return out
    const values = await this.redis.mget(...ids.map(callKey))
    ids.forEach((id, i) => {
      const v = values[i]
      if (!v) return
      const space = v.lastIndexOf(' ')
      out.set(id, { by: v.slice(0, space), at: Number(v.slice(space + 1)) })
    })
    return out
  }

  async markDelivered(ids: readonly string[], at: number): Promise<void> {
    const m = this.redis.multi()
    for (const id of ids) m.set(callKey(id), `${this.node} ${at}`, 'PX', KEEP_MS)
    await m.exec()
  }

  async keep(entries: readonly OutboxEntry[]): Promise<void> {
    if (entries.length === 0) return
    const m = this.redis.multi()
    for (const e of entries) m.hset(recordKey(e.call.alertId), e.call.id, JSON.stringify(e)).pexpire(recordKey(e.call.alertId), RECORD_KEEP_MS)
    await m.exec()
  }

  async recordsOf(alertId: string): Promise<OutboxEntry[]> {
    return Object.values(await this.redis.hgetall(recordKey(alertId))).map((text) => JSON.parse(text) as OutboxEntry)
  }
}

const LINK_KEY = 'minewatch:link-key'
const linkKey = (token: string) => `minewatch:link:${token}`
const usedKey = (callId: string) => `minewatch:link-used:${callId}`

/**
 * The calls' one-time links across the nodes (docs/cluster.md, "Calls"): one key for the cluster
 * (made by the first node that asks, kept in Redis as the data directory keeps it on one node),
 * each call's token naming its call, warning and person, and each use recorded once. A link sent
 * by one node signs on whichever node the person's phone reaches.
 */
export class RedisLinks implements SharedLinks {
  constructor(private readonly redis: Redis) {}

  async key(): Promise<Buffer> {
    try {
      await this.redis.set(LINK_KEY, randomBytes(32).toString('hex'), 'NX')
      return Buffer.from((await this.redis.get(LINK_KEY))!, 'hex')
    } catch (err) {
      throw new Error(
        `集群的 Redis 暂不可用: 无法读取叫应链接的密钥, 请确认 Redis 可达后重启本节点 (the calls’ link key could not be read from the cluster’s Redis: ${(err as Error).message}; make Redis reachable and start the node again)`,
      )
    }
  }

  async remember(calls: readonly { token: string; call: string; alertId: string; contact: string }[]): Promise<void> {
    if (calls.length === 0) return
    const m = this.redis.multi()
    for (const c of calls) m.set(linkKey(c.token), JSON.stringify({ call: c.call, alertId: c.alertId, contact: c.contact }), 'PX', KEEP_MS)
    await m.exec()
  }

  async lookup(token: string): Promise<{ call: string; alertId: string; contact: string } | undefined> {
    const text = await this.redis.get(linkKey(token))
    return text ? (JSON.parse(text) as { call: string; alertId: string; contact: string }) : undefined
  }

  async use(callId: string, at: number): Promise<boolean> {
    return (await this.redis.set(usedKey(callId), String(at), 'PX', KEEP_MS, 'NX')) === 'OK'
  }

  async usedAt(callId: string): Promise<number | undefined> {
    const v = await this.redis.get(usedKey(callId))
    return v === null ? undefined : Number(v)
  }
}
