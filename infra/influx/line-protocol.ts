import { escape } from '@influxdata/influxdb-client'
import { KINDS } from '../../ingest/contract/kinds.js'
import type { Reading } from '../../ingest/reading.js'
import type { AlertEvent } from '../../alerting/book/alert.js'

/**
 * The schema (README, "Storing in InfluxDB"): one measurement per device kind, tags `device` and `mine` (low
 * cardinality: one series per device), one field per metric, the device's own timestamp in ms.
 * Escaping is the client library's. Integer metrics are written as integers (`i`) and every
 * other number as a float, always, because InfluxDB fixes a field's type per shard and refuses
 * the other type afterwards.
 */
export const SEQ_FIELD = '_seq'

export function toLine(r: Reading): string {
  const metrics = KINDS[r.kind].metrics as Record<string, { type: string }>
  let fields = ''
  for (const [name, value] of Object.entries(r.values)) {
    const v = typeof value === 'boolean' ? (value ? 'true' : 'false') : metrics[name]?.type === 'integer' ? `${Math.trunc(value)}i` : String(value)
    fields += `${fields ? ',' : ''}${escape.tag(name)}=${v}`
  }
  if (r.seq !== undefined) fields += `,${SEQ_FIELD}=${Math.trunc(r.seq)}i`
  return `${escape.measurement(r.kind)},device=${escape.tag(r.deviceId)},mine=${escape.tag(r.mineId)} ${fields} ${r.ts}`
}

/**
 * The warning book's events: measurement `alert_events`, tag `mine`, the alert's id in the field
 * `alert_id`, the type in `type` and the event as JSON in `body`. The alert's id is not a tag: one
 * series per alert reached InfluxDB 1.x's `max-values-per-tag` (100,000 by default) after
 * 100,000 warnings, and every later event was refused (bench/history.ts found it). Databases
 * written before hold the id in a tag `alert`; the queries read both.
 *
 * Time is the event's millisecond plus nanoseconds from the alert's id (alertEventTime): points of
 * one series and one time overwrite each other, so two alerts of a mine changing in the same
 * millisecond must not share a time. The book gives one alert's events strictly increasing
 * milliseconds, so they keep their order.
 */
export const ALERT_MEASUREMENT = 'alert_events'

/** FNV-1a of the alert's id, as six digits of nanoseconds: two alerts share them once in a million. */
export function alertEventTime(e: Pick<AlertEvent, 'alertId' | 'at'>): string {
  let h = 0x811c9dc5
  for (let i = 0; i < e.alertId.length; i++) h = Math.imul(h ^ e.alertId.charCodeAt(i), 0x01000193)
  return `${Math.trunc(e.at)}${String((h >>> 0) % 1_000_000).padStart(6, '0')}`
}

export function alertEventLine(e: AlertEvent): string {
  return `${ALERT_MEASUREMENT},mine=${escape.tag(e.mineId)} alert_id=${escape.quoted(e.alertId)},type=${escape.quoted(e.type)},body=${escape.quoted(JSON.stringify(e))} ${alertEventTime(e)}`
}
