import type { Redis } from 'ioredis'
import type { Log } from '../../ingest/log.js'
import { lagOf, mergeGateway, mergePresence, type DevicePresence, type GatewayPresence, type LagWindow, type Presence } from '../../ingest/presence.js'

const hashOf = (node: string) => `minewatch:presence:${node}`
const CHANNEL = 'minewatch:presence'
/** How often the other nodes' views are read whole again (a change missed while a subscription was down). */
const REREAD_MS = 10_000
/** How often this node shares its gateways' reading delays (a link's lag, judged by the minute). */
const LAG_SHARE_MS = 5_000
// a node's hash holds its devices by id, its gateways and their delays under these prefixes (ids have no colon)
const GW = 'gw:'
const LAG = 'lag:'

interface View {
  readonly devices: Map<string, DevicePresence>
  readonly gateways: Map<string, GatewayPresence>
  readonly lags: Map<string, LagWindow>
}
const emptyView = (): View => ({ devices: new Map(), gateways: new Map(), lags: new Map() })

/**
 * Who is connected, across the nodes (cluster mode; docs/cluster.md): each node keeps its own
 * devices' presence in a Redis hash of its own and announces each change; every node merges the
 * live members' views (a device is connected while it is connected to any node), so a board
 * served by one node shows a device connected to another as connected. A node that died drops
 * out of the merge as soon as it leaves the members (its heartbeat lapses, 10 s).
 */
export class ClusterPresence {
  private readonly others = new Map<string, View>()
  private readonly sub: Redis
  private timer: NodeJS.Timeout | undefined
  private lagTimer: NodeJS.Timeout | undefined
  /** Each gateway's connection as last told (merged), and who is told of its changes. */
  private readonly told = new Map<string, boolean>()
  private readonly gatewayListeners: ((p: GatewayPresence) => void)[] = []

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
    this.local.on('gateway', (g) => {
      this.redis
        .multi()
        .hset(hashOf(this.node), GW + g.gatewayId, JSON.stringify(g))
        .publish(CHANNEL, JSON.stringify({ node: this.node, g }))
        .exec()
        .catch((err: Error) => this.log.warn({ err: err.message }, 'cluster: a gateway’s presence could not be shared through Redis'))
      this.tellGateway(g.gatewayId)
    })
    this.sub.on('message', (_channel: string, text: string) => {
      const { node, p, g } = JSON.parse(text) as { node: string; p?: DevicePresence; g?: GatewayPresence }
      if (node === this.node) return
      let view = this.others.get(node)
      if (!view) this.others.set(node, (view = emptyView()))
      if (p) view.devices.set(p.deviceId, p)
      if (g) {
        view.gateways.set(g.gatewayId, g)
        this.tellGateway(g.gatewayId, undefined, node)
      }
    })
    await this.sub.subscribe(CHANNEL)
    await this.reread()
    const again = () => {
      this.timer = setTimeout(() => void this.reread().finally(again), REREAD_MS)
      this.timer.unref()
    }
    again()
    const shareLags = () => {
      const windows = this.local.gatewayLagWindows()
      if (windows.length > 0) void this.redis.hset(hashOf(this.node), ...windows.flatMap(([id, w]) => [LAG + id, JSON.stringify(w)])).catch(() => undefined)
      this.lagTimer = setTimeout(shareLags, LAG_SHARE_MS)
      this.lagTimer.unref()
    }
    shareLags()
  }

  /** A device's presence as the live nodes see it together. */
  get(deviceId: string): DevicePresence | undefined {
    const live = this.members()
    return mergePresence([this.local.get(deviceId), ...live.filter((n) => n !== this.node).map((n) => this.others.get(n)?.devices.get(deviceId))])
  }

  /**
   * Hears of each change of a gateway's connection across the nodes (connected to some node or
   * to none): a link connected to one node and taken over by another stays connected; one whose
   * node died is disconnected when that node leaves the members. The 联网在线率's log follows it.
   */
  onGateway(listener: (p: GatewayPresence) => void): void {
    this.gatewayListeners.push(listener)
  }

  /** `sender`: the node that just said so, live whether or not this node's view of the members has it yet. */
  private tellGateway(gatewayId: string, at?: number, sender?: string): void {
    const merged = this.gateway(gatewayId, sender)
    if (!merged || this.told.get(gatewayId) === merged.connected) return
    this.told.set(gatewayId, merged.connected)
    // a link lost with its node: disconnected when the node was found gone
    const p = at !== undefined && !merged.connected ? { ...merged, since: at } : merged
    for (const l of this.gatewayListeners) l(p)
  }

  /** A gateway's own connection as the live nodes (and `sender`, see tellGateway) see it together. */
  gateway(gatewayId: string, sender?: string): GatewayPresence | undefined {
    return mergeGateway([this.local.gateway(gatewayId), ...this.otherViews(sender).map((v) => v.gateways.get(gatewayId))])
  }

  /** The least delay of the gateway's readings on any live node (a link's lag), ms; undefined: none arrived. */
  gatewayLag(gatewayId: string, now: number): number | undefined {
    const lags = [this.local.gatewayLag(gatewayId, now), ...this.otherViews().map((v) => lagOf(v.lags.get(gatewayId), now))].filter((l): l is number => l !== undefined)
    return lags.length > 0 ? Math.min(...lags) : undefined
  }

  private otherViews(sender?: string): View[] {
    const live = this.members()
    return [...live, ...(sender && !live.includes(sender) ? [sender] : [])].filter((n) => n !== this.node).flatMap((n) => this.others.get(n) ?? [])
  }

  private async reread(): Promise<void> {
    try {
      const live = this.members().filter((n) => n !== this.node)
      for (const n of live) {
        const view = emptyView()
        for (const [key, text] of Object.entries(await this.redis.hgetall(hashOf(n)))) {
          if (key.startsWith(GW)) view.gateways.set(key.slice(GW.length), JSON.parse(text) as GatewayPresence)
          else if (key.startsWith(LAG)) view.lags.set(key.slice(LAG.length), JSON.parse(text) as LagWindow)
          else view.devices.set(key, JSON.parse(text) as DevicePresence)
        }
        this.others.set(n, view)
      }
      for (const n of [...this.others.keys()]) if (!live.includes(n)) this.others.delete(n)
      // a node that left takes its gateways' connections with it
      const gatewayIds = new Set([...this.told.keys(), ...this.local.gateways().map((g) => g.gatewayId), ...[...this.others.values()].flatMap((v) => [...v.gateways.keys()])])
      for (const id of gatewayIds) this.tellGateway(id, Date.now())
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cluster: the other nodes’ device presence could not be read; read again shortly')
    }
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer)
    clearTimeout(this.lagTimer)
    this.sub.disconnect()
    await this.redis.del(hashOf(this.node)).catch(() => undefined)
  }
}
