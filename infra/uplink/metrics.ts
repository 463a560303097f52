import { Counter, Gauge, type Registry } from 'prom-client'
import type { UplinkStatus } from './uplink.js'

/** The uplink's status as metrics (docs/operations.md, metrics): read at each scrape. */
export function registerUplinkMetrics(registry: Registry, status: () => UplinkStatus): void {
  const gauge = (name: string, help: string, value: (s: UplinkStatus) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(value(status()))
      },
    })
  gauge('minewatch_uplink_connected', '1 while the uplink (联网上报) is connected to the upstream platform', (s) => (s.connected ? 1 : 0))
  gauge('minewatch_uplink_backlog_bytes', 'Journal bytes not yet acknowledged by the upstream platform', (s) => s.backlogBytes)
  gauge('minewatch_uplink_backlog_age_seconds', 'Age of the oldest reading not yet acknowledged upstream (0: none); to within a second', (s) => s.backlogAgeSeconds)
  gauge('minewatch_uplink_last_sent_timestamp_seconds', 'When the upstream platform last acknowledged a chunk (0: not since the start)', (s) => (s.lastSentAt ?? 0) / 1000)
  new Counter({
    name: 'minewatch_uplink_sent_readings_total',
    help: 'Readings acknowledged by the upstream platform since the start',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(status().sentReadings)
    },
  })
  new Counter({
    name: 'minewatch_uplink_dropped_bytes_total',
    help: 'Journal bytes given up upstream because the backlog passed MINEWATCH_UPLINK_MAX_BACKLOG_MB (kept in this platform)',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(status().droppedBytes)
    },
  })
}
