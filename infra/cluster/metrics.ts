import { Gauge, type Registry } from 'prom-client'
import type { HandoffStatus } from './handoff.js'
import type { PartitionStatus } from './partitions.js'

/** Cluster mode's hand-off and leases as metrics (docs/cluster.md): read at each scrape. */
export function registerClusterMetrics(registry: Registry, handoff: () => HandoffStatus, partitions: () => PartitionStatus): void {
  const gauge = (name: string, help: string, value: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(value())
      },
    })
  gauge('minewatch_cluster_handoff_backlog_bytes', 'Journal bytes Redis does not have yet (cluster mode: the hand-off)', () => handoff().backlogBytes)
  gauge('minewatch_cluster_handoff_lag_seconds', 'How long the oldest reading Redis does not have yet has waited (cluster mode: the hand-off)', () => handoff().lagSeconds)
  gauge('minewatch_cluster_members', 'Live nodes of the cluster as this node last saw them (cluster mode)', () => partitions().members.length)
  gauge('minewatch_cluster_mines_owned', 'Mines whose rules and warning book this node owns (cluster mode)', () => partitions().owns.length)
}
