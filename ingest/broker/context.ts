import type { Client } from 'aedes'
import type { Intake } from '../intake.js'
import type { Log, LogThrottle } from '../log.js'
import type { IngestMetrics } from '../metrics.js'
import type { Presence } from '../presence.js'
import type { Principal, Registry } from '../registry.js'
import type { SecretVerifier } from '../secrets.js'
import type { ClientIds, SharedClientIds } from './client-ids.js'
import type { LoginLimiter } from '../login-limit.js'

/** What the broker hooks share. Principals hang off the aedes Client for the life of the connection. */
export interface BrokerContext {
  readonly registry: Registry
  readonly verifier: SecretVerifier
  readonly intake: Intake
  readonly presence: Presence
  readonly metrics: IngestMetrics
  readonly log: Log
  readonly now: () => number
  readonly principals: WeakMap<Client, Principal>
  /** Why devices cannot be taken on now (the journal refuses), or undefined. */
  readonly unavailable: () => string | undefined
  /** One log line a minute per journal refusal code. */
  readonly refusalLog: LogThrottle
  /** Clients that sent an empty client id with clean session off ([MQTT-3.1.3-8]). */
  readonly emptyIdPersistent: WeakSet<Client>
  /** The failed-connection limit per (username, address) and per address, tries in flight counted. */
  readonly authLimiter: LoginLimiter
  /** Which principal owns which client id (client-ids.ts). */
  readonly clientIds: ClientIds
  /** In cluster mode, the same across the nodes. */
  readonly sharedClientIds?: SharedClientIds
}

export function remoteAddress(client: Client): string | undefined {
  const conn = client.conn as { remoteAddress?: string } | undefined
  return client.req?.socket?.remoteAddress ?? conn?.remoteAddress
}
