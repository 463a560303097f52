import { hostname } from 'node:os'
import type { Env } from '../config/env.js'

/**
 * Cluster mode's settings (docs/cluster.md): the Redis the nodes share, directly
 * (MINEWATCH_REDIS_URL) or through Sentinel (MINEWATCH_REDIS_SENTINELS and MINEWATCH_REDIS_MASTER,
 * the URL then giving only the password and database), and this node's name.
 */
export interface ClusterConfig {
  readonly redis: RedisTarget
  readonly nodeId: string
  /** Redis replicas that must hold a handed-off reading before this node's journal lets it go (WAIT). */
  readonly replicas: number
}

export interface RedisTarget {
  /** redis://[:password@]host:port[/db]; with sentinels, its password and db only. */
  readonly url?: string
  readonly sentinels?: readonly { host: string; port: number }[]
  /** The primary's name as the sentinels know it. */
  readonly master?: string
}

export function clusterConfig(env: Env, influxConfigured: boolean): ClusterConfig | { errors: string[] } | undefined {
  if (!env.MINEWATCH_REDIS_URL && !env.MINEWATCH_REDIS_SENTINELS) {
    if (env.MINEWATCH_REDIS_MASTER) return { errors: ['MINEWATCH_REDIS_MASTER: only with MINEWATCH_REDIS_SENTINELS'] }
    return undefined
  }
  const errors: string[] = []
  // the nodes share one store; each one's embedded SQLite file would hold a part of the readings
  if (!influxConfigured) errors.push('MINEWATCH_INFLUX_URL: cluster mode stores in InfluxDB, which every node shares (the embedded SQLite store is one node’s); set MINEWATCH_INFLUX_*')
  let sentinels: { host: string; port: number }[] | undefined
  if (env.MINEWATCH_REDIS_SENTINELS) {
    sentinels = []
    for (const part of env.MINEWATCH_REDIS_SENTINELS.split(',').map((s) => s.trim())) {
      const m = /^([^:\s]+):(\d{1,5})$/.exec(part)
      if (!m || Number(m[2]) > 65535) errors.push(`MINEWATCH_REDIS_SENTINELS: "${part}" is not host:port (e.g. sentinel-1:26379,sentinel-2:26379)`)
      else sentinels.push({ host: m[1]!, port: Number(m[2]) })
    }
    if (!env.MINEWATCH_REDIS_MASTER) errors.push('MINEWATCH_REDIS_MASTER: required with MINEWATCH_REDIS_SENTINELS (the primary’s name in the sentinels’ configuration, e.g. mymaster)')
  } else if (env.MINEWATCH_REDIS_MASTER) errors.push('MINEWATCH_REDIS_MASTER: only with MINEWATCH_REDIS_SENTINELS')
  if (errors.length) return { errors }
  return {
    redis: { ...(env.MINEWATCH_REDIS_URL ? { url: env.MINEWATCH_REDIS_URL } : {}), ...(sentinels ? { sentinels, master: env.MINEWATCH_REDIS_MASTER! } : {}) },
    nodeId:
      env.MINEWATCH_NODE_ID ??
      `${hostname()
        .replace(/[^A-Za-z0-9_.-]/g, '-')
        .slice(0, 50)}-${process.pid}`,
    // with Sentinel there are replicas to fail over to: a reading must be on one before the journal lets it go
    replicas: env.MINEWATCH_REDIS_MIN_REPLICAS ?? (sentinels ? 1 : 0),
  }
}

/** Where Redis is, for a log line: no password. */
export function describeRedis(target: RedisTarget): string {
  if (target.sentinels) return `sentinel ${target.master} via ${target.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`
  const u = new URL(target.url!)
  return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`
}
