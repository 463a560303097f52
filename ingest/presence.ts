import { EventEmitter } from 'node:events'

/**
 * Who is connected right now, and what each device last said on its status topic.
 * A device may hold several connections (a takeover overlaps old and new); it is connected while
 * it holds at least one.
 */
export interface DevicePresence {
  readonly deviceId: string
  readonly connected: boolean
  /** Last `{"online": …}` the device (or its will) published; undefined if never. */
  readonly online: boolean | undefined
  /** Epoch ms of the last change. */
  readonly since: number
}

interface PresenceEvents {
  change: [presence: DevicePresence]
  /** A gateway's own connection opened or closed (not each of its overlapping connections). */
  gateway: [presence: GatewayPresence]
}

/** A gateway's own connection, shown apart from its devices' (issue 16 item 1). */
export interface GatewayPresence {
  readonly gatewayId: string
  readonly connected: boolean
  /** Epoch ms of the last change. */
  readonly since: number
}

/** A gateway's least delay of its readings in a minute (`least`) and in the minute before (`before`). */
export interface LagWindow {
  minute: number
  least: number
  before: number | undefined
}

/** The least delay over this minute and the one before, ms; undefined: no reading in them. */
export function lagOf(w: LagWindow | undefined, now: number): number | undefined {
  const minute = Math.floor(now / 60_000)
  if (!w || w.minute < minute - 1) return undefined
  if (w.minute === minute - 1) return w.least
  return w.before === undefined ? w.least : Math.min(w.least, w.before)
}

/**
 * A gateway's own connection from several views (cluster mode): connected while any view has it
 * connected, since the earliest of those; otherwise as the latest view left it.
 */
export function mergeGateway(views: readonly (GatewayPresence | undefined)[]): GatewayPresence | undefined {
  const known = views.filter((v): v is GatewayPresence => v !== undefined)
  if (known.length === 0) return undefined
  const holding = known.filter((v) => v.connected)
  const pick = holding.length > 0 ? holding.reduce((a, b) => (b.since < a.since ? b : a)) : known.reduce((a, b) => (b.since > a.since ? b : a))
  return pick
}

export class Presence extends EventEmitter<PresenceEvents> {
  private readonly connections = new Map<string, number>()
  private readonly state = new Map<string, DevicePresence>()
  private readonly gatewayConnections = new Map<string, number>()
  private readonly gatewayState = new Map<string, GatewayPresence>()
  /** Per gateway, the least delay of its readings this minute and the minute before (a link's lag). */
  private readonly gatewayLags = new Map<string, LagWindow>()

  /**
   * A gateway's connection opened: it, and each of its devices through it (a device behind a
   * gateway is reachable while its gateway is; its own connection may overlap).
   */
  gatewayConnected(gatewayId: string, deviceIds: readonly string[], now: number): void {
    const n = (this.gatewayConnections.get(gatewayId) ?? 0) + 1
    this.gatewayConnections.set(gatewayId, n)
    if (n === 1) {
      const p = { gatewayId, connected: true, since: now }
      this.gatewayState.set(gatewayId, p)
      this.emit('gateway', p)
    }
    for (const d of deviceIds) this.connected(d, now)
  }

  gatewayDisconnected(gatewayId: string, deviceIds: readonly string[], now: number): void {
    const n = (this.gatewayConnections.get(gatewayId) ?? 1) - 1
    if (n > 0) this.gatewayConnections.set(gatewayId, n)
    else {
      this.gatewayConnections.delete(gatewayId)
      const p = { gatewayId, connected: false, since: now }
      this.gatewayState.set(gatewayId, p)
      this.emit('gateway', p)
    }
    for (const d of deviceIds) this.disconnected(d, now)
  }

  /** A gateway delivered readings taken up to `newestTs`, at `now`: how late its freshest reading is. */
  gatewayDelivered(gatewayId: string, newestTs: number, now: number): void {
    const lag = Math.max(0, now - newestTs)
    const minute = Math.floor(now / 60_000)
    const w = this.gatewayLags.get(gatewayId)
    if (!w || minute > w.minute + 1) this.gatewayLags.set(gatewayId, { minute, least: lag, before: undefined })
    else if (minute === w.minute + 1) this.gatewayLags.set(gatewayId, { minute, least: lag, before: w.least })
    else w.least = Math.min(w.least, lag)
  }

  /** The least delay of the gateway's readings over this minute and the one before, ms; undefined: none arrived. */
  gatewayLag(gatewayId: string, now: number): number | undefined {
    return lagOf(this.gatewayLags.get(gatewayId), now)
  }

  /** The gateways whose readings' delay this node measures, with their windows (cluster mode shares them). */
  gatewayLagWindows(): [string, LagWindow][] {
    return [...this.gatewayLags].map(([id, w]) => [id, { ...w }])
  }

  /** Every gateway's own connection as this node has it. */
  gateways(): GatewayPresence[] {
    return [...this.gatewayState.values()]
  }

  gateway(gatewayId: string): GatewayPresence | undefined {
    return this.gatewayState.get(gatewayId)
  }

  get gatewaysConnected(): number {
    return this.gatewayConnections.size
  }

  connected(deviceId: string, now: number): void {
    const n = (this.connections.get(deviceId) ?? 0) + 1
    this.connections.set(deviceId, n)
    if (n === 1) this.update(deviceId, { connected: true }, now)
  }

  disconnected(deviceId: string, now: number): void {
    const n = (this.connections.get(deviceId) ?? 1) - 1
    if (n > 0) {
      this.connections.set(deviceId, n)
      return
    }
    this.connections.delete(deviceId)
    this.update(deviceId, { connected: false }, now)
  }

  status(deviceId: string, online: boolean, now: number): void {
    this.update(deviceId, { online }, now)
  }

  get(deviceId: string): DevicePresence | undefined {
    return this.state.get(deviceId)
  }

  get connectedCount(): number {
    return this.connections.size
  }

  private update(deviceId: string, change: Partial<Pick<DevicePresence, 'connected' | 'online'>>, now: number): void {
    const prev = this.state.get(deviceId) ?? { deviceId, connected: false, online: undefined, since: now }
    const next: DevicePresence = { ...prev, ...change, since: now }
    this.state.set(deviceId, next)
    this.emit('change', next)
  }
}

/**
 * One device's presence from several views (cluster mode: each node's own): connected while any
 * view has it connected, since the earliest of those connections; otherwise as the latest view
 * left it. Its `online` is the latest status any view heard.
 */
export function mergePresence(views: readonly (DevicePresence | undefined)[]): DevicePresence | undefined {
  const known = views.filter((v): v is DevicePresence => v !== undefined)
  if (known.length === 0) return undefined
  const latest = known.reduce((a, b) => (b.since > a.since ? b : a))
  const holding = known.filter((v) => v.connected)
  if (holding.length === 0) return latest
  const first = holding.reduce((a, b) => (b.since < a.since ? b : a))
  return { ...first, online: latest.online ?? first.online }
}
