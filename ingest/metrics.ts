import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/** Ingest's Prometheus series; the registry is made by the composition root. */
export function createIngestMetrics(registry: Registry) {
  const registers = [registry]
  return {
    accepted: new Counter({ name: 'minewatch_readings_accepted_total', help: 'Readings validated and accepted, by device kind', labelNames: ['kind'], registers }),
    reportedEvents: new Counter({ name: 'minewatch_reported_alert_events_total', help: 'Warning events the mine platforms reported (联网上报) and this platform kept', registers }),
    refused: new Counter({ name: 'minewatch_readings_refused_total', help: 'Refusals of device messages (a backlog array counts each bad reading), by code', labelNames: ['code'], registers }),
    quarantined: new Counter({ name: 'minewatch_quarantine_messages_total', help: 'Messages kept in quarantine', registers }),
    quarantineDropped: new Counter({ name: 'minewatch_quarantine_dropped_total', help: 'Refused messages counted but not kept because the daily quarantine cap was reached', registers }),
    connectionsRefused: new Counter({ name: 'minewatch_connections_refused_total', help: 'MQTT connections refused, by reason', labelNames: ['reason'], registers }),
    connectionsPending: new Gauge({ name: 'minewatch_connections_pending', help: 'MQTT connections open but not yet logged in (capped per address and in total)', registers }),
    subscriptionsRefused: new Counter({ name: 'minewatch_subscriptions_refused_total', help: 'MQTT subscriptions refused by the ACL', registers }),
    devicesConnected: new Gauge({ name: 'minewatch_devices_connected', help: 'Devices with at least one open MQTT connection, their own or a gateway’s', registers }),
    gatewaysConnected: new Gauge({ name: 'minewatch_gateways_connected', help: 'Gateways with at least one open MQTT connection', registers }),
    storeWriteSeconds: new Histogram({
      name: 'minewatch_store_write_seconds',
      help: 'Time to write one batch to the store',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    storeWriteErrors: new Counter({ name: 'minewatch_store_write_errors_total', help: 'Failed batch writes (retried)', registers }),
    storePending: new Gauge({ name: 'minewatch_store_pending_readings', help: 'Readings in the journal not yet confirmed by the store', registers }),
    storeWritten: new Counter({ name: 'minewatch_store_written_total', help: 'Readings the store confirmed', registers }),
    journalGroupSeconds: new Histogram({
      name: 'minewatch_journal_commit_seconds',
      help: 'Time to write and fsync one group of journal records (every PUBACK of the group waits for it)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    journalGroupReadings: new Histogram({ name: 'minewatch_journal_commit_readings', help: 'Readings per journal group commit', buckets: [1, 10, 100, 1000, 10000], registers }),
    journalRefusing: new Gauge({ name: 'minewatch_journal_refusing', help: '1 while the journal refuses readings (disk nearly full or a write failure)', registers }),
    journalRefused: new Counter({ name: 'minewatch_journal_refused_total', help: 'Messages not acknowledged because the journal refused them, by code', labelNames: ['code'], registers }),
  }
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>
