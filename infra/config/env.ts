import { resolve } from 'node:path'
import { z } from 'zod'
import { REPO_ROOT } from '../../ingest/repo-root.js'
import type { InfluxConfig } from '../influx/server.js'

/**
 * Environment variables, all documented in README §Configuration. Parsed once here; no other
 * part of the platform reads process.env (README, "Layout").
 */
export const DEMO_SITE = resolve(REPO_ROOT, 'infra/sites/demo.yaml')

const port = (fallback: number) =>
  z.coerce.number({ error: 'expected a port number' }).int({ error: 'expected a port number' }).min(0).max(65535, { error: 'expected a port 0–65535' }).default(fallback)
const positive = (fallback: number) => z.coerce.number({ error: 'expected a positive number' }).positive({ error: 'expected a positive number' }).default(fallback)
const optionalText = z.string().trim().min(1).optional().catch(undefined)

export const envSchema = z.object({
  MINEWATCH_SITE: z.string().min(1).default(DEMO_SITE),
  MINEWATCH_BIND: z.string().min(1).default('0.0.0.0'),
  MINEWATCH_MQTT_PORT: port(1883),
  MINEWATCH_MQTT_WS_PORT: port(8083),
  MINEWATCH_HTTP_PORT: port(3000),
  MINEWATCH_DATA_DIR: z.string().min(1).default('data'),
  MINEWATCH_ADMIN_TOKEN: z
    .string()
    .min(16, { error: 'must be at least 16 characters; e.g. `openssl rand -hex 24`' })
    // the placeholder of .env.example is public: a platform that accepted it would be open to anyone
    .refine((v) => !/^change-me/i.test(v), { error: 'is the placeholder of .env.example; set a token of your own, e.g. `openssl rand -hex 24`' })
    .optional(),
  MINEWATCH_LOG_FORMAT: z.enum(['auto', 'pretty', 'json']).default('auto'),
  MINEWATCH_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  MINEWATCH_MAX_PAYLOAD_BYTES: positive(256 * 1024),
  MINEWATCH_MAX_BACKLOG_DAYS: positive(30),
  MINEWATCH_QUARANTINE_MAX_MB_PER_DAY: positive(256),
  MINEWATCH_STORE_BATCH: positive(5000),
  MINEWATCH_STORE_FLUSH_MS: positive(200),
  MINEWATCH_JOURNAL_MIN_FREE_MB: positive(512),
  /** Run the simulators in this scenario against the embedded broker (the demo; devices use `<id>-demo`). */
  MINEWATCH_SIMULATE: optionalText,
  /** Allow the demo's public credentials without the simulators (e.g. fed by `npm run sim`). */
  MINEWATCH_DEMO: z.stringbool({ error: 'expected 1 or 0' }).default(false),
  /** A certificate chain and its key (PEM files): HTTPS, MQTTS and secure WebSocket (docs/security.md, TLS). */
  MINEWATCH_TLS_CERT: optionalText,
  MINEWATCH_TLS_KEY: optionalText,
  MINEWATCH_MQTTS_PORT: port(8883),
  /** A reverse proxy that ends TLS: `true`, or its addresses / CIDRs, comma-separated (e.g. `127.0.0.1`). */
  MINEWATCH_TRUST_PROXY: optionalText,
  /** The CJK font the 月报's PDF embeds: a .ttf/.otf, or a .ttc with #PostScriptName (default: Debian's fonts-wqy-microhei and others). */
  MINEWATCH_PDF_FONT: optionalText,
  MINEWATCH_INFLUX_URL: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL such as http://127.0.0.1:8086' }).optional(),
  MINEWATCH_INFLUX_TOKEN: optionalText,
  MINEWATCH_INFLUX_ORG: optionalText,
  MINEWATCH_INFLUX_BUCKET: optionalText,
  MINEWATCH_INFLUX_USERNAME: optionalText,
  MINEWATCH_INFLUX_PASSWORD: optionalText,
  MINEWATCH_INFLUX_GZIP: z.stringbool({ error: 'expected 1 or 0' }).optional(),
  /** 联网上报 (docs/uplink.md): the upstream platform's broker, mqtt:// or mqtts://. */
  MINEWATCH_UPLINK_URL: z.url({ protocol: /^mqtts?$/, error: 'expected an mqtt:// or mqtts:// URL such as mqtts://province.example:8883' }).optional(),
  MINEWATCH_UPLINK_USERNAME: optionalText,
  MINEWATCH_UPLINK_PASSWORD: optionalText,
  /** A file holding the password (a container secret), instead of MINEWATCH_UPLINK_PASSWORD. */
  MINEWATCH_UPLINK_PASSWORD_FILE: optionalText,
  MINEWATCH_UPLINK_CA: optionalText,
  MINEWATCH_UPLINK_MAPPING: optionalText,
  MINEWATCH_UPLINK_MINES: optionalText,
  MINEWATCH_UPLINK_RATE: positive(2000),
  MINEWATCH_UPLINK_MAX_BACKLOG_MB: positive(4096),
  /** Cluster mode (docs/cluster.md): the Redis the nodes share, redis:// or rediss://. */
  MINEWATCH_REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL such as redis://:password@redis.example:6379/0' }).optional(),
  /** Redis through Sentinel: the sentinels, host:port comma-separated, and the primary's name. */
  MINEWATCH_REDIS_SENTINELS: optionalText,
  MINEWATCH_REDIS_MASTER: optionalText,
  /** Replicas that must have a handed-off reading before the journal lets it go (default: 1 with Sentinel, else 0). */
  MINEWATCH_REDIS_MIN_REPLICAS: z.coerce.number({ error: 'expected a whole number' }).int({ error: 'expected a whole number' }).min(0).max(16).optional(),
  /** This node's name in the cluster (default: the host name and process id). */
  MINEWATCH_NODE_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: 'expected 1–64 letters, digits, _ . or -' })
    .optional(),
})

export type Env = z.infer<typeof envSchema>

export type EnvResult = { ok: true; env: Env } | { ok: false; errors: string[] }

export function parseEnv(source: NodeJS.ProcessEnv): EnvResult {
  // an empty variable means "unset", as in most twelve-factor tools
  const present = Object.fromEntries(Object.entries(source).filter(([k, v]) => k.startsWith('MINEWATCH_') && v !== ''))
  const parsed = envSchema.safeParse(present)
  if (parsed.success) return { ok: true, env: parsed.data }
  return { ok: false, errors: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }
}

/**
 * The InfluxDB store's settings, when MINEWATCH_INFLUX_URL is set: a bucket (the database on
 * 1.x) is required; a token (2.x/3.x) or a username and password (1.x with auth) are optional.
 */
export function influxConfig(env: Env): InfluxConfig | { errors: string[] } | undefined {
  if (!env.MINEWATCH_INFLUX_URL) return undefined
  const errors: string[] = []
  if (!env.MINEWATCH_INFLUX_BUCKET) errors.push('MINEWATCH_INFLUX_BUCKET: required with MINEWATCH_INFLUX_URL (the bucket; the database on InfluxDB 1.x)')
  if (env.MINEWATCH_INFLUX_PASSWORD && !env.MINEWATCH_INFLUX_USERNAME) errors.push('MINEWATCH_INFLUX_USERNAME: required with MINEWATCH_INFLUX_PASSWORD')
  if (errors.length > 0) return { errors }
  return {
    url: env.MINEWATCH_INFLUX_URL.replace(/\/+$/, ''),
    bucket: env.MINEWATCH_INFLUX_BUCKET!,
    token: env.MINEWATCH_INFLUX_TOKEN,
    org: env.MINEWATCH_INFLUX_ORG,
    username: env.MINEWATCH_INFLUX_USERNAME,
    password: env.MINEWATCH_INFLUX_PASSWORD,
    ...(env.MINEWATCH_INFLUX_GZIP === undefined ? {} : { gzip: env.MINEWATCH_INFLUX_GZIP }),
  }
}

/** MINEWATCH_TRUST_PROXY as fastify's trustProxy: `true`, one address or CIDR, or a list of them. */
export function trustProxy(env: Env): boolean | string | string[] | undefined {
  const v = env.MINEWATCH_TRUST_PROXY
  if (v === undefined || v === 'false' || v === '0') return undefined
  if (v === 'true' || v === '1') return true
  const list = v
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean)
  return list.length === 1 ? list[0] : list
}

/** The certificate and key files named by MINEWATCH_TLS_CERT and _KEY: both or neither. */
export function tlsFiles(env: Env): { certFile: string; keyFile: string } | { errors: string[] } | undefined {
  const cert = env.MINEWATCH_TLS_CERT
  const key = env.MINEWATCH_TLS_KEY
  if (!cert && !key) return undefined
  if (!cert) return { errors: ['MINEWATCH_TLS_CERT: required with MINEWATCH_TLS_KEY (the certificate chain, PEM)'] }
  if (!key) return { errors: ['MINEWATCH_TLS_KEY: required with MINEWATCH_TLS_CERT (its private key, PEM)'] }
  return { certFile: resolve(cert), keyFile: resolve(key) }
}
