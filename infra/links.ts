import { DEFAULT_LINK_LIMITS, type LinkLimits, type LinkObservation } from '../alerting/links.js'
import type { LinkInput } from '../alerting/service.js'
import type { Presence } from '../ingest/presence.js'
import { gatewayDevices, type GatewayConfig } from '../ingest/site.js'
import type { Site } from './config/site-file.js'

/** Where the gateways stand: this node's presence, or the cluster's (infra/cluster/presence.ts). */
export type GatewayView = Pick<Presence, 'gateway' | 'gatewayLag'>

/*
 * The links of the mine platforms that report to this one (a regulator's platform, docs/uplink.md):
 * each is a gateway account naming mines, judged by the 联网 rule from what presence saw of it.
 */

/** A mine platform's account as this platform sees it: connected, since when, how late its freshest readings. */
export function linkObservation(presence: GatewayView, gatewayId: string, startedAt: number, at: number): LinkObservation {
  const seen = presence.gateway(gatewayId)
  return { connected: seen?.connected ?? false, since: seen?.since ?? startedAt, lagMs: presence.gatewayLag(gatewayId, at) }
}

/** Each device carried by a mine platform's account (a gateway naming mines): the account. */
export function linkCarriers(site: Site): Map<string, GatewayConfig> {
  const out = new Map<string, GatewayConfig>()
  for (const g of site.gateways) if (g.mines.length > 0) for (const d of gatewayDevices(site, { devices: [], mines: g.mines })) out.set(d, g)
  return out
}

/** When the regulator warns of this account's link (its site entry, or the defaults). */
export function linkLimits(g: GatewayConfig): LinkLimits {
  return g.link ? { downAfterMs: g.link.downAfter * 1000, lagAfterMs: g.link.lagAfter * 1000 } : DEFAULT_LINK_LIMITS
}

/** Each mine platform's link (a gateway naming mines), for each of its mines, as this platform sees it. */
export function mineLinks(site: Site, presence: GatewayView, startedAt: number, at: number): LinkInput[] {
  const zones = new Map(site.mines.map((m) => [m.id, m.timezone]))
  return site.gateways.flatMap((g) => {
    const observation = linkObservation(presence, g.id, startedAt, at)
    const limits = linkLimits(g)
    return g.mines.map((mineId) => ({ id: `${g.id}@${mineId}`, name: g.name, mineId, timeZone: zones.get(mineId) ?? 'Asia/Shanghai', observation, limits }))
  })
}
