import { HttpError } from '@influxdata/influxdb-client'

/**
 * What differs between InfluxDB 1.x, 2.x and 3.x, found out from `/ping` (README, "Storing in InfluxDB"): the write
 * endpoint and how credentials travel. Everything else (line protocol, InfluxQL on /query) is
 * the same on all three.
 */
export interface InfluxConfig {
  readonly url: string
  /** 2.x/3.x API token. */
  readonly token?: string | undefined
  readonly org?: string | undefined
  /** The bucket (2.x/3.x), or the database on 1.x. */
  readonly bucket: string
  /** 1.x authentication (sent as HTTP basic auth, never in a URL). */
  readonly username?: string | undefined
  readonly password?: string | undefined
  readonly timeoutMs?: number
  /** Gzip the writes: by default only to an InfluxDB on another machine (see onThisMachine). */
  readonly gzip?: boolean
}

/** An InfluxDB on this machine (a loopback address): what is sent to it never crosses a network. */
export function onThisMachine(url: string): boolean {
  const host = new URL(url).hostname
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

export interface ServerInfo {
  readonly version: string
  readonly major: number
  readonly minor: number
}

export function parseVersion(header: string | null): ServerInfo {
  const m = /^v?(\d+)\.(\d+)/.exec(header ?? '')
  // a server that does not say is taken as a current one
  return m ? { version: header!, major: Number(m[1]), minor: Number(m[2]) } : { version: header || 'unknown', major: 2, minor: 0 }
}

/**
 * `/api/v2/write` exists from 1.8 on; older servers take the same line protocol on `/write`
 * (v1 precision `ms`). With 1.x user credentials and no token, `/write` with basic auth is
 * the one path that takes them everywhere.
 */
export function writePath(cfg: InfluxConfig, server: ServerInfo, precision: 'ms' | 'ns' = 'ms'): string | undefined {
  const old = server.major < 1 || (server.major === 1 && server.minor < 8)
  if (old || (cfg.username && !cfg.token)) return `/write?${new URLSearchParams({ db: cfg.bucket, precision })}`
  return undefined
}

export function authHeaders(cfg: InfluxConfig): Record<string, string> {
  if (cfg.token) return { authorization: `Token ${cfg.token}` }
  if (cfg.username) return { authorization: `Basic ${Buffer.from(`${cfg.username}:${cfg.password ?? ''}`).toString('base64')}` }
  return {}
}

/** What went wrong, and what to do, in words an operator can act on. Never includes credentials. */
export function explain(err: unknown, cfg: InfluxConfig): string {
  if (err instanceof HttpError) {
    const said = (err.json as { error?: string; message?: string } | undefined)?.error ?? (err.json as { message?: string } | undefined)?.message ?? err.body ?? err.message
    if (err.statusCode === 401 || err.statusCode === 403) {
      return `InfluxDB refused the credentials (HTTP ${err.statusCode}: ${said}); check MINEWATCH_INFLUX_TOKEN or MINEWATCH_INFLUX_USERNAME/PASSWORD`
    }
    if (err.statusCode === 404) {
      return `InfluxDB has no database or bucket "${cfg.bucket}" (HTTP 404: ${said}); create it (1.x: CREATE DATABASE "${cfg.bucket}") or fix MINEWATCH_INFLUX_BUCKET`
    }
    return `InfluxDB answered HTTP ${err.statusCode}: ${said}`
  }
  const e = err as NodeJS.ErrnoException
  // fetch says only "fetch failed"; the reason is its cause
  const code = e?.code ?? (e?.cause as NodeJS.ErrnoException | undefined)?.code
  if (code === 'ECONNREFUSED') return `InfluxDB at ${cfg.url} refuses connections (is it running?)`
  return `InfluxDB at ${cfg.url}: ${e?.message ?? String(err)}`
}
