import type { Redis } from 'ioredis'
import type { Log } from '../../ingest/log.js'
import { mergePresence, type DevicePresence, type Presence } from '../../ingest/presence.js'

const hashOf = (node: string) => `minewatch:presence:${node}`
const CHANNEL = 'minewatch:presence'
/** How often the other nodes' views are read whole again (a change missed while a subscription was down). */
const REREAD_MS = 10_000

/**
 * Who is connected, across the nodes (cluster mode; docs/cluster.md): each node keeps its own
 * devices' presence in a Redis hash of its own and announces each change; every node merges the
 * live members' views (a device is connected while it is connected to any node), so a board
 * served by one node shows a device connected to another as connected. A node that died drops
 * out of the merge as soon as it leaves the members (its heartbeat lapses, 10 s).
 */
export class ClusterPresence {
  private readonly others = new Map<string, Map<string, DevicePresence>>()
  private readonly sub: Redis
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly redis: Redis,
    private readonly node: string,
    private readonly local: Presence,
    private readonly members: () => readonly string[],
    private readonly log: Log,
  ) {
    this.sub = redis.duplicate()
    this.sub.on('error', () => undefined)
  }

  async start(): Promise<void> {
    // what this node held before a restart is gone with its connections
    await this.redis.del(hashOf(this.node)).catch(() => undefined)
    this.local.on('change', (p) => {
      this.redis
        .multi()
        .hset(hashOf(this.node), p.deviceId, JSON.stringify(p))
        .publish(CHANNEL, JSON.stringify({ node: this.node, p }))
        .exec()
        .catch((err: Error) => this.log.warn({ err: err.message }, 'cluster: a device’s presence could not be shared through Redis'))
    })
    this.sub.on('message', (_channel: string, text: string) => {
      const { node, p } = JSON.parse(text) as { node: string; p: DevicePresence }
      if (node === this.node) return
      let view = this.others.get(node)
      if (!view) this.others.set(node, (view = new Map()))
      view.set(p.deviceId, p)
    })
    await this.sub.subscribe(CHANNEL)
    await this.reread()
    const again = () => {
      this.timer = setTimeout(() => void this.reread().finally(again), REREAD_MS)
      this.timer.unref()
    }
    again()
  }

  /** A device's presence as the live nodes see it together. */
  get(deviceId: string): DevicePresence | undefined {
    const live = this.members()
    return mergePresence([this.local.get(deviceId), ...live.filter((n) => n !== this.node).map((n) => this.others.get(n)?.get(deviceId))])
  }

  private async reread(): Promise<void> {
    try {
      const live = this.members().filter((n) => n !== this.node)
      for (const n of live) {
        const all = await this.redis.hgetall(hashOf(n))
        this.others.set(n, new Map(Object.entries(all).map(([id, text]) => [id, JSON.parse(text) as DevicePresence])))
      }
      for (const n of [...this.others.keys()]) if (!live.includes(n)) this.others.delete(n)
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cluster: the other nodes’ device presence could not be read; read again shortly')
    }
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer)
    this.sub.disconnect()
    await this.redis.del(hashOf(this.node)).catch(() => undefined)
  }
}
