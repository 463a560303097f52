import { isId } from './ids.js'

/**
 * Topics of the device contract (docs/device-contract.md):
 *   mines/{mineId}/devices/{deviceId}/telemetry | status | rejects
 *   mines/{mineId}/alerts
 *   mines/{mineId}/uplink/alerts   (a mine platform's warning events, to its regulator: docs/uplink.md)
 */
export type DeviceChannel = 'telemetry' | 'status' | 'rejects'

export type ParsedTopic =
  | { readonly type: 'device'; readonly mineId: string; readonly deviceId: string; readonly channel: DeviceChannel }
  | { readonly type: 'alerts'; readonly mineId: string }
  | { readonly type: 'reported'; readonly mineId: string }

const CHANNELS: ReadonlySet<string> = new Set<DeviceChannel>(['telemetry', 'status', 'rejects'])

/** Parses a concrete topic name (no wildcards); anything outside the contract is `null`. */
export function parseTopic(topic: string): ParsedTopic | null {
  const parts = topic.split('/')
  if (parts[0] !== 'mines') return null
  const mineId = parts[1]
  if (mineId === undefined || !isId(mineId)) return null
  if (parts.length === 3 && parts[2] === 'alerts') return { type: 'alerts', mineId }
  if (parts.length === 4 && parts[2] === 'uplink' && parts[3] === 'alerts') return { type: 'reported', mineId }
  if (parts.length !== 5 || parts[2] !== 'devices') return null
  const deviceId = parts[3]
  const channel = parts[4]
  if (deviceId === undefined || !isId(deviceId) || channel === undefined || !CHANNELS.has(channel)) return null
  return { type: 'device', mineId, deviceId, channel: channel as DeviceChannel }
}

export function deviceTopic(mineId: string, deviceId: string, channel: DeviceChannel): string {
  return `mines/${mineId}/devices/${deviceId}/${channel}`
}

export function alertsTopic(mineId: string): string {
  return `mines/${mineId}/alerts`
}

export function reportedTopic(mineId: string): string {
  return `mines/${mineId}/uplink/alerts`
}

/** True when an MQTT topic filter holds a wildcard ([MQTT-4.7.1]). */
export function hasWildcard(filter: string): boolean {
  return filter.includes('#') || filter.includes('+')
}

/**
 * A string of the protocol that holds NUL, or bytes that were not UTF-8 (the packet parser decodes
 * them to U+FFFD), is malformed: [MQTT-1.5.3-1], [MQTT-1.5.3-2] ask the server to close the
 * connection. No id, topic or filter of the device contract holds either.
 */
export function malformedString(s: string): boolean {
  return s.includes('\u0000') || s.includes('\uFFFD')
}
