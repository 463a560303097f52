import { alertsTopic, deviceTopic, hasWildcard, parseTopic, type DeviceChannel } from '../contract/topics.js'
import type { DevicePrincipal, GatewayPrincipal, Principal } from '../registry.js'
import { problem, type Problem } from '../refusals.js'

/**
 * The topic ACL of docs/device-contract.md, as pure functions:
 * - a device publishes only its own telemetry and status, subscribes only to its own rejects;
 * - a service account publishes nothing and reads `mines/{its mines}/alerts`
 *   (`mines/+/alerts` is allowed and filtered per message on delivery);
 * - a gateway publishes the telemetry and status of the devices it lists, each under the device's
 *   own topics, and reads their rejects (`mines/+/devices/+/rejects` filtered per message); a
 *   gateway naming mines (a mine platform's uplink) also publishes their warning events on
 *   `mines/{mine}/uplink/alerts`, which no one may subscribe to (the regulator keeps them);
 * - `$` topics (`$SYS`) are the broker's own [MQTT-4.7.2-1] and closed to everyone.
 */
/** Allowed: on which channel, and as which device (the publisher itself, or one of a gateway's). */
export type PublishVerdict =
  { ok: true; channel: Extract<DeviceChannel, 'telemetry' | 'status'>; device: DevicePrincipal } | { ok: true; channel: 'reported'; mineId: string } | { ok: false; problem: Problem }

export function publishVerdict(principal: Principal, topic: string): PublishVerdict {
  if (topic.startsWith('$')) return refused('TOPIC_FORBIDDEN', `topics starting with "$" are reserved for the broker`)
  if (principal.type === 'account') return refused('TOPIC_FORBIDDEN', `service account ${principal.id} may not publish`)
  if (principal.type === 'gateway') return gatewayVerdict(principal, topic)
  const own = `mines/${principal.mineId}/devices/${principal.id}/`
  const parsed = parseTopic(topic)
  if (!parsed) {
    return topic.startsWith(own)
      ? refused('UNKNOWN_TOPIC', `"${topic}" is not in the device contract; publish to ${own}telemetry or ${own}status`)
      : refused('TOPIC_FORBIDDEN', `device ${principal.id} may publish only under ${own}`)
  }
  if (parsed.type !== 'device' || parsed.mineId !== principal.mineId || parsed.deviceId !== principal.id) {
    return refused('TOPIC_FORBIDDEN', `device ${principal.id} may publish only under ${own}`)
  }
  if (parsed.channel === 'rejects') return refused('TOPIC_FORBIDDEN', `${topic} is written by the platform, not the device`)
  return { ok: true, channel: parsed.channel, device: principal }
}

function gatewayVerdict(gateway: GatewayPrincipal, topic: string): PublishVerdict {
  const parsed = parseTopic(topic)
  if (parsed?.type === 'reported') {
    if (gateway.mines.has(parsed.mineId)) return { ok: true, channel: 'reported', mineId: parsed.mineId }
    return refused('TOPIC_FORBIDDEN', `gateway ${gateway.id} may report the warnings only of the mines it names (${[...gateway.mines].slice(0, 10).join(', ') || 'none'})`)
  }
  const device = parsed?.type === 'device' ? gateway.devices.get(parsed.deviceId) : undefined
  if (!parsed || parsed.type !== 'device' || !device || device.mineId !== parsed.mineId) {
    return refused('TOPIC_FORBIDDEN', `gateway ${gateway.id} may publish only for its devices (${[...gateway.devices.keys()].slice(0, 10).join(', ')}), under mines/{mine}/devices/{device}/`)
  }
  if (parsed.channel === 'rejects') return refused('TOPIC_FORBIDDEN', `${topic} is written by the platform, not the device`)
  return { ok: true, channel: parsed.channel, device }
}

/** One of the gateway's devices' topics on `channel`. */
function gatewayTopic(gateway: GatewayPrincipal, topic: string, channel: DeviceChannel): boolean {
  const parsed = parseTopic(topic)
  if (parsed?.type !== 'device' || parsed.channel !== channel) return false
  const device = gateway.devices.get(parsed.deviceId)
  return device !== undefined && device.mineId === parsed.mineId && topic === deviceTopic(device.mineId, device.id, channel)
}

function refused(code: 'TOPIC_FORBIDDEN' | 'UNKNOWN_TOPIC', message: string): PublishVerdict {
  return { ok: false, problem: problem(code, message) }
}

/** The only topic a device may set its will on: its own status (docs/device-contract.md). */
export function willAllowed(principal: Principal, topic: string): boolean {
  // a gateway's will may say one of its devices is gone (a DTU of one sensor)
  if (principal.type === 'gateway') return gatewayTopic(principal, topic, 'status')
  return principal.type === 'device' && topic === deviceTopic(principal.mineId, principal.id, 'status')
}

export function subscribeAllowed(principal: Principal, filter: string): boolean {
  if (principal.type === 'device') return filter === deviceTopic(principal.mineId, principal.id, 'rejects')
  if (principal.type === 'gateway') return filter === 'mines/+/devices/+/rejects' || gatewayTopic(principal, filter, 'rejects')
  if (filter === 'mines/+/alerts') return true
  if (hasWildcard(filter)) return false
  const parsed = parseTopic(filter)
  return parsed?.type === 'alerts' && principal.mines.has(parsed.mineId)
}

/** Checked on every delivery, so a wildcard subscription never leaks another mine's alerts. */
export function forwardAllowed(principal: Principal, topic: string): boolean {
  if (principal.type === 'device') return topic === deviceTopic(principal.mineId, principal.id, 'rejects')
  if (principal.type === 'gateway') return gatewayTopic(principal, topic, 'rejects')
  const parsed = parseTopic(topic)
  return parsed?.type === 'alerts' && principal.mines.has(parsed.mineId) && topic === alertsTopic(parsed.mineId)
}

/**
 * Whether a message a client published can reach anyone: no client may subscribe to a device's
 * telemetry or to a mine's reported warnings (`subscribeAllowed`), nor to the `$minewatch/` topic refused messages are moved to.
 * The broker does not route those (broker.ts): aedes would match each against every subscription
 * and the offline queues, for no one.
 */
export function routable(topic: string): boolean {
  if (topic.startsWith('$minewatch/')) return false
  const parsed = parseTopic(topic)
  return !(parsed?.type === 'device' && parsed.channel === 'telemetry') && parsed?.type !== 'reported'
}
