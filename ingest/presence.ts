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
}

export class Presence extends EventEmitter<PresenceEvents> {
  private readonly connections = new Map<string, number>()
  private readonly state = new Map<string, DevicePresence>()

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
