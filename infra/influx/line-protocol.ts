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
 * The warning book's events: measurement `alert_events`, tags `mine` and `alert` (one series per
 * alert, so `last()` per alert rebuilds the book), the event as JSON in a string field, time = the
 * event's time (the book keeps it strictly increasing per alert, so no event overwrites another).
 */
export const ALERT_MEASUREMENT = 'alert_events'

export function alertEventLine(e: AlertEvent): string {
  return `${ALERT_MEASUREMENT},alert=${escape.tag(e.alertId)},mine=${escape.tag(e.mineId)} type=${escape.quoted(e.type)},body=${escape.quoted(JSON.stringify(e))} ${e.at}`
}
