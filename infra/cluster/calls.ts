import type { Redis } from 'ioredis'
import type { SharedCalls } from '../notify/outbox.js'

const callKey = (id: string) => `minewatch:call:${id}`
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
}
