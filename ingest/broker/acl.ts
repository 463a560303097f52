import { alertsTopic, deviceTopic, hasWildcard, parseTopic, type DeviceChannel } from '../contract/topics.js'
import type { Principal } from '../registry.js'
import { problem, type Problem } from '../refusals.js'

/**
 * The topic ACL of docs/device-contract.md, as pure functions:
 * - a device publishes only its own telemetry and status, subscribes only to its own rejects;
 * - a service account publishes nothing and reads `mines/{its mines}/alerts`
 *   (`mines/+/alerts` is allowed and filtered per message on delivery);
 * - `$` topics (`$SYS`) are the broker's own [MQTT-4.7.2-1] and closed to everyone.
 */
export type PublishVerdict = { ok: true; channel: Extract<DeviceChannel, 'telemetry' | 'status'> } | { ok: false; problem: Problem }

export function publishVerdict(principal: Principal, topic: string): PublishVerdict {
  if (topic.startsWith('$')) return refused('TOPIC_FORBIDDEN', `topics starting with "$" are reserved for the broker`)
  if (principal.type === 'account') return refused('TOPIC_FORBIDDEN', `service account ${principal.id} may not publish`)
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
  return { ok: true, channel: parsed.channel }
}

function refused(code: 'TOPIC_FORBIDDEN' | 'UNKNOWN_TOPIC', message: string): PublishVerdict {
  return { ok: false, problem: problem(code, message) }
}

/** The only topic a device may set its will on: its own status (docs/device-contract.md). */
export function willAllowed(principal: Principal, topic: string): boolean {
  return principal.type === 'device' && topic === deviceTopic(principal.mineId, principal.id, 'status')
}

export function subscribeAllowed(principal: Principal, filter: string): boolean {
  if (principal.type === 'device') return filter === deviceTopic(principal.mineId, principal.id, 'rejects')
  if (filter === 'mines/+/alerts') return true
  if (hasWildcard(filter)) return false
  const parsed = parseTopic(filter)
  return parsed?.type === 'alerts' && principal.mines.has(parsed.mineId)
}

/** Checked on every delivery, so a wildcard subscription never leaks another mine's alerts. */
export function forwardAllowed(principal: Principal, topic: string): boolean {
  if (principal.type === 'device') return topic === deviceTopic(principal.mineId, principal.id, 'rejects')
  const parsed = parseTopic(topic)
  return parsed?.type === 'alerts' && principal.mines.has(parsed.mineId) && topic === alertsTopic(parsed.mineId)
}

/**
 * Whether a message a client published can reach anyone: no client may subscribe to a device's
 * telemetry (`subscribeAllowed`), nor to the `$minewatch/` topic refused messages are moved to.
 * The broker does not route those (broker.ts): aedes would match each against every subscription
 * and the offline queues, for no one.
 */
export function routable(topic: string): boolean {
  if (topic.startsWith('$minewatch/')) return false
  const parsed = parseTopic(topic)
  return !(parsed?.type === 'device' && parsed.channel === 'telemetry')
}
