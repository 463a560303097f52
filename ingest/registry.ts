import type { DeviceKind } from './contract/kinds.js'
import { gatewayDevices, type IngestSite } from './site.js'

/** Who may connect: every device and service account of the site, by MQTT username. */
export interface DevicePrincipal {
  readonly type: 'device'
  readonly id: string
  readonly mineId: string
  readonly kind: DeviceKind
  readonly name: string
  /** Expected reporting interval, ms. */
  readonly intervalMs: number
  readonly secretHash: string
}

export interface AccountPrincipal {
  readonly type: 'account'
  readonly id: string
  readonly name: string
  readonly mines: ReadonlySet<string>
  readonly secretHash: string
}

/** A gateway: publishes for the devices it lists, under each one's own topics (site.ts). */
export interface GatewayPrincipal {
  readonly type: 'gateway'
  readonly id: string
  readonly name: string
  /** Its devices, by id. */
  readonly devices: ReadonlyMap<string, DevicePrincipal>
  /** The mines it names (a mine platform's uplink): it may report their warning events. */
  readonly mines: ReadonlySet<string>
  readonly secretHash: string
}

export type Principal = DevicePrincipal | AccountPrincipal | GatewayPrincipal

export class Registry {
  private readonly byId = new Map<string, Principal>()

  constructor(site: IngestSite) {
    this.load(site)
  }

  /** The site's principals from now on (站点管理: a device added, a secret reset, a device retired). */
  load(site: IngestSite): void {
    this.byId.clear()
    for (const mine of site.mines) {
      for (const d of mine.devices) {
        this.byId.set(d.id, { type: 'device', id: d.id, mineId: mine.id, kind: d.kind, name: d.name, intervalMs: d.interval * 1000, secretHash: d.secretHash })
      }
    }
    for (const g of site.gateways ?? []) {
      const devices = new Map<string, DevicePrincipal>()
      for (const id of gatewayDevices(site, g)) {
        const d = this.byId.get(id)
        if (d?.type === 'device') devices.set(id, d)
      }
      this.byId.set(g.id, { type: 'gateway', id: g.id, name: g.name, devices, mines: new Set(g.mines), secretHash: g.secretHash })
    }
    for (const a of site.serviceAccounts) {
      this.byId.set(a.id, { type: 'account', id: a.id, name: a.name, mines: new Set(a.mines), secretHash: a.secretHash })
    }
  }

  principal(id: string): Principal | undefined {
    return this.byId.get(id)
  }

  device(id: string): DevicePrincipal | undefined {
    const p = this.byId.get(id)
    return p?.type === 'device' ? p : undefined
  }

  devices(): DevicePrincipal[] {
    return [...this.byId.values()].filter((p): p is DevicePrincipal => p.type === 'device')
  }

  gateways(): GatewayPrincipal[] {
    return [...this.byId.values()].filter((p): p is GatewayPrincipal => p.type === 'gateway')
  }
}
