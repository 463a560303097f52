import { Redis, type RedisOptions } from 'ioredis'
import type { RedisTarget } from './config.js'

/**
 * A Redis connection to the cluster's Redis, directly or through Sentinel (ioredis follows a
 * failover itself: it asks the sentinels for the new primary and reconnects). A command waits
 * while the connection is down (up to 5 s), and reconnects are tried on, 50 ms growing to 2 s apart.
 */
export function redisClient(target: RedisTarget, onError: (err: Error) => void, extra: RedisOptions = {}): Redis {
  const client = connectTo(target, extra)
  // a connection reset is an 'error' event: heard (and logged by the caller), it is a reconnect, not a crash
  client.on('error', onError)
  return client
}

function connectTo(target: RedisTarget, extra: RedisOptions): Redis {
  const retryStrategy = (times: number) => Math.min(50 * times, 2000)
  // a command on a line gone dead without a word fails after 5 s rather than waiting for ever
  const commandTimeout = 5000
  if (!target.sentinels) return new Redis(target.url!, { retryStrategy, commandTimeout, ...extra })
  const u = target.url ? new URL(target.url) : undefined
  return new Redis({
    sentinels: target.sentinels.map((s) => ({ ...s })),
    name: target.master!,
    ...(u?.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u?.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u && u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
    ...(u?.protocol === 'rediss:' ? { tls: {} } : {}),
    retryStrategy,
    commandTimeout,
    sentinelRetryStrategy: retryStrategy,
    ...extra,
  })
}
