import type { Alert, AlertEvent } from './book/alert.js'

/**
 * Where the warning book's events are kept (README, "Warnings": every step is kept): a table in the
 * embedded store, a measurement in InfluxDB; adapters in infra/. Appending is idempotent on
 * (alert, at), since the journal may hand an event over twice after a crash; events are never
 * edited or deleted.
 */
export interface AlertEventStore {
  appendAlertEvents(events: readonly AlertEvent[]): Promise<void>
  /**
   * The last event of every alert (it carries the alert as it stands): what a restart rebuilds
   * from; with `resolvedSince`, without the alerts resolved before it (the book does not keep them,
   * and a year of them cost a rebuild 6.5 s and 700 MiB, docs/benchmarks.md "History").
   */
  latestAlertEvents(resolvedSince?: number): Promise<AlertEvent[]>
  /** Every event of one alert, oldest first (its record). */
  alertHistory(alertId: string): Promise<AlertEvent[]>
  /**
   * Warnings of these mines resolved before `before` (epoch ms; none: the latest), the latest resolved first, at most
   * `limit`, as they stood when resolved: the pages of the book older than what it keeps in memory.
   */
  resolvedAlerts(q: ResolvedQuery): Promise<Alert[]>
}

export interface ResolvedQuery {
  readonly mines: readonly string[]
  readonly before?: number | undefined
  readonly limit: number
}
