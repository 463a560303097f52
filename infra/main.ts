import { mkdirSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { pino } from 'pino'
import { adminTokenFromFile } from './admin-token-file.js'
import { DEMO_SITE, influxConfig, parseEnv, tlsFiles, trustProxy } from './config/env.js'
import type { TlsFiles } from '../ingest/tls.js'
import { scenarioNames } from '../simulators/scenario.js'
import { loadSiteFile } from './config/site-file.js'
import { demoCredentialHolders, demoHashes } from './config/demo-credentials.js'
import { startPlatform } from './platform.js'
import { siteDigest } from './site-admin.js'
import { uplinkConfig } from './uplink/config.js'
import { clusterConfig } from './cluster/config.js'

// Everything the platform writes (readings, the warning book, sessions, the admin token) is the
// owner's alone: files 0600, folders 0700, whatever umask the shell or the container gave us
// (docs/security.md). Set before anything is created.
process.umask(0o077)

/** Process entry: read the environment and the site file, start the platform, stop it on a signal. */
function fail(title: string, errors: string[]): never {
  process.stderr.write(`minewatch: ${title}\n${errors.map((e) => `  - ${e}`).join('\n')}\n`)
  process.exit(2)
}

const envResult = parseEnv(process.env)
if (!envResult.ok) fail('bad environment variables (see README, Configuration):', envResult.errors)
const env = envResult.env

const influx = influxConfig(env)
if (influx && 'errors' in influx) fail('incomplete InfluxDB settings (see README, Configuration):', influx.errors)

const cluster = clusterConfig(env, influx !== undefined)
if (cluster && 'errors' in cluster) fail('incomplete cluster settings (see docs/cluster.md):', cluster.errors)

const tlsPaths = tlsFiles(env)
if (tlsPaths && 'errors' in tlsPaths) fail('incomplete TLS settings (see docs/security.md, TLS):', tlsPaths.errors)
const readTls = (paths: { certFile: string; keyFile: string }): TlsFiles => ({ cert: readFileSync(paths.certFile), key: readFileSync(paths.keyFile) })
let tls: TlsFiles | undefined
try {
  tls = tlsPaths ? readTls(tlsPaths) : undefined
} catch (err) {
  fail('could not read the TLS certificate or key (MINEWATCH_TLS_CERT, MINEWATCH_TLS_KEY):', [(err as Error).message])
}
const proxy = trustProxy(env)

const siteFile = resolve(env.MINEWATCH_SITE)
const siteResult = loadSiteFile(siteFile)
if (!siteResult.ok) fail(`the site file ${siteFile} has ${siteResult.errors.length} problem(s):`, siteResult.errors)
const uplink = uplinkConfig(
  env,
  siteResult.site.mines.map((m) => m.id),
)
if (uplink && 'errors' in uplink) fail('incomplete or unsafe uplink settings (联网上报; see docs/uplink.md):', uplink.errors)
// the demo's passwords are public: outside the demo they would let anyone in (docs/security.md)
const demoHolders = demoCredentialHolders(siteResult.site, demoHashes(DEMO_SITE))
if (demoHolders.length > 0 && !env.MINEWATCH_SIMULATE && !env.MINEWATCH_DEMO) {
  fail(`the site file ${siteFile} holds the demo's credentials, whose passwords are public (README): refused outside the demo.`, [
    `${demoHolders.slice(0, 5).join(', ')}${demoHolders.length > 5 ? ` and ${demoHolders.length - 5} more` : ''}`,
    'give each its own secret: `npm run hash-secret -- <secret>` prints the hash for the site file; set MINEWATCH_SITE to your site file',
    'to run the demo: `npm run demo`, or MINEWATCH_DEMO=1 to run the demo site without its simulators',
  ])
}

// people at a terminal get readable lines in local time; services and log shippers get JSON
const pretty = env.MINEWATCH_LOG_FORMAT === 'pretty' || (env.MINEWATCH_LOG_FORMAT === 'auto' && process.stdout.isTTY)
const logger = pino({
  level: env.MINEWATCH_LOG_LEVEL,
  ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  // belt and braces: no credential reaches the log even if a field slips through
  redact: ['password', 'secret', 'token', 'authorization', '*.password', '*.authorization', 'req.headers.authorization'],
})

const dataDir = resolve(env.MINEWATCH_DATA_DIR)
mkdirSync(dataDir, { recursive: true })
let adminToken = env.MINEWATCH_ADMIN_TOKEN
if (!adminToken) {
  const fromFile = adminTokenFromFile(dataDir)
  adminToken = fromFile.token
  logger.warn({ file: fromFile.file }, `MINEWATCH_ADMIN_TOKEN is not set; ${fromFile.created ? 'generated' : 'using'} the token in ${fromFile.file} (owner-readable only)`)
}

const platform = await startPlatform({
  site: siteResult.site,
  // while the site file is unchanged, the site as administered on the screen runs (infra/site-admin.ts)
  siteSeed: siteDigest(readFileSync(siteFile, 'utf8')),
  bind: env.MINEWATCH_BIND,
  mqttPort: env.MINEWATCH_MQTT_PORT,
  wsPort: env.MINEWATCH_MQTT_WS_PORT,
  httpPort: env.MINEWATCH_HTTP_PORT,
  dataDir,
  adminToken,
  limits: {
    maxPayloadBytes: env.MINEWATCH_MAX_PAYLOAD_BYTES,
    maxFutureMs: 5 * 60_000,
    maxAgeMs: env.MINEWATCH_MAX_BACKLOG_DAYS * 86_400_000,
  },
  quarantineMaxBytesPerDay: env.MINEWATCH_QUARANTINE_MAX_MB_PER_DAY * 1024 * 1024,
  writer: { batchSize: env.MINEWATCH_STORE_BATCH, flushMs: env.MINEWATCH_STORE_FLUSH_MS },
  journal: { minFreeBytes: env.MINEWATCH_JOURNAL_MIN_FREE_MB * 1024 * 1024 },
  ...(influx ? { influx } : {}),
  logger,
  simulate: env.MINEWATCH_SIMULATE,
  ...(tls ? { tls, mqttsPort: env.MINEWATCH_MQTTS_PORT } : {}),
  ...(proxy !== undefined ? { trustProxy: proxy } : {}),
  pdfFont: env.MINEWATCH_PDF_FONT,
  ...(uplink ? { uplink } : {}),
  ...(cluster ? { cluster } : {}),
  // the readings are in the journal and the rules' state in its snapshot: a restart picks up from there
  onFatal: () => process.exit(1),
}).catch((err: NodeJS.ErrnoException) => {
  // cluster mode: a node starts only with the cluster's Redis reachable (it reads the shared site, keys and warnings from it)
  const redisAway = cluster !== undefined && /Command timed out|max retries per request|ECONNREFUSED/.test(err.message)
  const hint =
    err.code === 'EADDRINUSE'
      ? ' (another program uses the port; set MINEWATCH_*_PORT)'
      : redisAway
        ? ' (the cluster’s Redis did not answer: check MINEWATCH_REDIS_URL or the sentinels, and that Redis runs; docs/cluster.md)'
        : ''
  fail(`could not start${hint}:`, [err.message])
})

const site = platform.siteAdmin.current()
const devices = site.mines.reduce((n, m) => n + m.devices.length, 0)
logger.info(
  { site: siteFile, mines: site.mines.length, devices, dataDir, store: platform.store.kind, ports: platform.ports },
  `minewatch 已启动 started: MQTT mqtt://${env.MINEWATCH_BIND}:${platform.ports.mqtt}, ` +
    (tls
      ? `MQTTS mqtts://${env.MINEWATCH_BIND}:${platform.ports.mqtts}, MQTT/WebSocket wss://${env.MINEWATCH_BIND}:${platform.ports.ws}, HTTPS https://localhost:${platform.ports.http}/api/health`
      : `MQTT/WebSocket ws://${env.MINEWATCH_BIND}:${platform.ports.ws}, HTTP http://localhost:${platform.ports.http}/api/health`),
)

// a renewed certificate is taken on SIGHUP, as web servers do: new connections get it, open ones keep theirs
if (tlsPaths) {
  process.on('SIGHUP', () => {
    try {
      platform.reloadTls(readTls(tlsPaths))
      logger.info({ cert: tlsPaths.certFile }, 'TLS certificate reloaded')
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'TLS certificate not reloaded: the files could not be read or are not a certificate and its key; still serving the previous one')
    }
  })
}

// the demo: where to look and who to be (the demo site's users all have the password <id>-demo)
if (env.MINEWATCH_SIMULATE) {
  const roles = { dispatcher: '预警专席 dispatcher', director: '安全负责人 safety director', regulator: '监管 regulator', admin: '管理员 admin' }
  const mineNames = new Map(site.mines.map((m) => [m.id, m.name]))
  const logins = site.users.map(
    (u) => `    ${u.id.padEnd(20)} ${siteFile === DEMO_SITE ? `${u.id}-demo`.padEnd(25) : ''} ${roles[u.role]}${u.mines.length ? ` · ${u.mines.map((m) => mineNames.get(m) ?? m).join('、')}` : ''}`,
  )
  process.stdout.write(
    [
      '',
      `  minewatch 演示 demo: open http://localhost:${platform.ports.http}/`,
      `  logins (user, password, role):`,
      ...logins,
      `  run a scenario into it: npm run drill -- slope-failure   (others: ${scenarioNames()
        .filter((n) => n !== 'normal')
        .join(', ')})`,
      '',
      '',
    ].join('\n'),
  )
}

/**
 * One clean answer to SIGINT and SIGTERM. A Ctrl-C in a terminal reaches this process twice within
 * milliseconds (the terminal signals the whole process group, and npm or tsx forwards it again):
 * a repeat within DUPLICATE_MS is that echo. A signal later than that is a person insisting, and
 * exits at once, without the clean shutdown.
 */
const DUPLICATE_MS = 1000
let firstSignalAt: number | undefined
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (firstSignalAt !== undefined) {
      if (Date.now() - firstSignalAt < DUPLICATE_MS) return
      logger.warn('second signal: exiting without a clean shutdown')
      process.exit(130)
    }
    firstSignalAt = Date.now()
    logger.info({ signal }, 'stopping: closing MQTT intake, flushing readings to the store')
    platform.stop().then(
      () => {
        logger.info('stopped cleanly')
        process.exit(0)
      },
      (err: Error) => {
        logger.error({ err }, 'shutdown failed')
        process.exit(1)
      },
    )
  })
}
