import { createRequire } from 'node:module'
import mqemitterRedis from 'mqemitter-redis'
import type { RedisTarget } from './config.js'
import { redisClient } from './redis.js'

/** aedes' persistence as aedes-persistence-redis makes it (the package has no types of its own). */
interface RedisPersistence {
  /** Promise form: aedes 1.x sets it up with `await setup()`, after which the callback form would wait for a 'ready' that never comes. */
  destroy(): Promise<void>
}
const persistenceRedis = createRequire(import.meta.url)('aedes-persistence-redis') as (opts: { conn: unknown }) => RedisPersistence

export interface BrokerEngine {
  /** aedes' `mq` and `persistence` options. */
  readonly mq: unknown
  readonly persistence: unknown
  /** Ends the persistence's connection (aedes' close ends the emitter's). */
  close(): Promise<void>
}

/**
 * The broker across nodes (docs/cluster.md), on the engines aedes itself scales out on: messages
 * between nodes through Redis pub/sub (mqemitter-redis), and retained messages, subscriptions,
 * sessions, queued QoS 1 messages and wills in Redis (aedes-persistence-redis). A device on one
 * node and a service account on another reach each other as on one broker; a persistent session
 * follows its client to whichever node it reconnects to; the wills of a node that died are sent by
 * the others (aedes' heartbeat).
 */
export function redisBrokerEngine(target: RedisTarget, onError: (err: Error) => void): BrokerEngine {
  const mq = mqemitterRedis({ subConn: redisClient(target, onError), pubConn: redisClient(target, onError) })
  // the emitter re-emits its connections' errors on its own `state`: unheard, a reset of the line to Redis would end the process
  ;(mq as unknown as { state: { on(event: 'error', listener: (err: Error) => void): void } }).state.on('error', onError)
  const persistence = persistenceRedis({ conn: redisClient(target, onError) })
  return {
    mq,
    persistence,
    async close() {
      await persistence.destroy().catch(() => undefined)
    },
  }
}
