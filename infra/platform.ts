import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Aedes, Client } from 'aedes'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { Gauge, Registry as MetricsRegistry, collectDefaultMetrics } from 'prom-client'
import { buildApp, type TrustProxy } from '../dashboard/app.js'
import { Access } from '../dashboard/access.js'
import { Auth } from '../dashboard/auth.js'
import { startLive } from '../dashboard/live.js'
import { Sessions, type SessionStore } from '../dashboard/sessions.js'
import { LoginLimiter } from '../ingest/login-limit.js'
import { Displays, type DisplayStore } from '../dashboard/displays.js'
import { brokerTeller, createBroker } from '../ingest/broker/broker.js'
import type { BrokerContext } from '../ingest/broker/context.js'
import { listenTcp, listenTls, listenWebSocket } from '../ingest/broker/listeners.js'
import { secureOptions, type TlsFiles } from '../ingest/tls.js'
import type { DecodeLimits } from '../ingest/decode.js'
import { Intake } from '../ingest/intake.js'
import { createIngestMetrics } from '../ingest/metrics.js'
import { Presence, type DevicePresence } from '../ingest/presence.js'
import type { DeviceState } from '../ingest/uplink/mapping.js'
import { Quarantine } from '../ingest/quarantine.js'
import { Registry } from '../ingest/registry.js'
import { SecretVerifier } from '../ingest/secrets.js'
import type { Store } from '../ingest/store.js'
import { StoreWriter, ingestWriterMetrics, type WriterOptions } from '../ingest/writer.js'
import { DEFAULT_JOURNAL_OPTIONS, Journal, type JournalOptions } from '../ingest/journal/journal.js'
import { LogThrottle } from '../ingest/log.js'
import type { Site } from './config/site-file.js'
import { SqliteStore } from './sqlite-store.js'
import { InfluxStore } from './influx-store.js'
import { StoreThread } from './store-thread.js'
import type { InfluxConfig } from './influx/server.js'
import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { AlertEvent } from '../alerting/book/alert.js'
import { AlertBus } from '../alerting/bus.js'
import { engineDevices, engineItems } from '../alerting/config.js'
import { Alerting, type AlertingPort, type RuleSnapshot } from '../alerting/service.js'
import type { AlertEventStore } from '../alerting/store.js'
import { alertsTopic } from '../ingest/contract/topics.js'
import { removeStaleTemp, writeFileAtomic } from '../ingest/atomic-file.js'
import { isoInZone } from '../ingest/zone-time.js'
import { DEFAULT_WEB_ROOT } from '../dashboard/routes/web.js'
import { DemoSimulation } from './simulation.js'
import { ClientIds } from '../ingest/broker/client-ids.js'
import { PendingConnections, type PendingRefusal } from '../ingest/broker/pending-connections.js'
import { drillEngineDevices, withDrillShadows } from './drill-site.js'
import { isDrillId } from '../ingest/contract/ids.js'
import { SiteAdmin, siteDigest, type AdminChange } from './site-admin.js'
import { Notifier } from './notify/notifier.js'
import { ModbusCollectors } from './modbus/collector.js'
import { gatewayDevices } from '../ingest/site.js'
import { findPdfFont } from '../dashboard/monthly-pdf.js'
import { adminView, readSiteText, siteText } from './config/site-changes.js'
import { ALERTS_CURSOR_FILE, Uplink, loadUplinkCursor, type UplinkConfig } from './uplink/uplink.js'
import { ReportedAlerts } from './reported-alerts.js'
import { registerUplinkMetrics } from './uplink/metrics.js'
import { LinkLog } from './link-log.js'
import { onlineShare } from '../dashboard/link-history.js'
import { linkPhase } from '../alerting/links.js'
import type { Redis } from 'ioredis'
import { redisBrokerEngine, type BrokerEngine } from './cluster/broker-engine.js'
import { RedisClientIds } from './cluster/client-ids.js'
import { Handoff } from './cluster/handoff.js'
import { Partitions } from './cluster/partitions.js'
import { OrphanedReadings } from './cluster/orphans.js'
import { RedisCalls, RedisLinks } from './cluster/calls.js'
import { RedisSiteShare } from './cluster/site.js'
import { describeRedis, type ClusterConfig } from './cluster/config.js'
import { redisClient } from './cluster/redis.js'
import { registerClusterMetrics } from './cluster/metrics.js'
import { createAdapter } from '@socket.io/redis-streams-adapter'
import { ClusterAlerting } from './cluster/rules.js'
import { RedisSessions } from './cluster/sessions.js'
import { RedisDisplays } from './cluster/displays.js'
import { ClusterPresence } from './cluster/presence.js'
import { RedisLoginFailures } from './cluster/login-failures.js'
import { linkCarriers, linkLimits, linkObservation, mineLinks } from './links.js'

/**
 * The composition root (README, "Layout"): the one place that builds and wires every part, starts them
 * in order (store → journal → writer → broker → listeners → HTTP) and stops them in reverse, so
 * that intake stops before the writer drains the journal and the store closes last.
 */
export interface PlatformConfig {
  /** The site file's site; the administered one in the data directory runs instead while the file is unchanged (infra/site-admin.ts). */
  readonly site: Site
  /** The site file's digest (siteDigest of its text); without it, the digest of `site`. */
  readonly siteSeed?: string
  readonly bind: string
  readonly mqttPort: number
  readonly wsPort: number
  readonly httpPort: number
  readonly dataDir: string
  /** Simulate every device of the site live with this scenario (the demo, MINEWATCH_SIMULATE). */
  readonly simulate?: string | undefined
  /** The built web UI; default dashboard/web/dist (`npm run build:web`). */
  readonly webRoot?: string
  readonly adminToken: string
  readonly limits: DecodeLimits
  readonly quarantineMaxBytesPerDay: number
  readonly writer: Omit<WriterOptions, 'maxBackoffMs'> & Partial<Pick<WriterOptions, 'maxBackoffMs'>>
  readonly journal?: Partial<Omit<JournalOptions, 'dir'>>
  /** Store readings in InfluxDB; without it, in the embedded SQLite file in dataDir. */
  readonly influx?: InfluxConfig
  /** How often silence and overdue deadlines are checked, ms (default 1 s). */
  readonly alertTickMs?: number
  /** How often the rules' state is saved, ms (default 60 s; the journal replays what follows). */
  readonly alertSnapshotMs?: number
  /** How often the open warnings' calls are decided and the outbox sent, ms (default 5 s). */
  readonly notifyTickMs?: number
  /** How often expired sessions are swept and their live sockets closed, ms (default 30 s). */
  readonly sessionSweepMs?: number
  readonly logger: Logger
  readonly now?: () => number
  /**
   * A certificate and key (PEM): HTTPS on httpPort, MQTT over secure WebSocket on wsPort, and MQTTS
   * on mqttsPort; plain MQTT stays on mqttPort for devices that cannot do TLS (docs/security.md).
   */
  readonly tls?: TlsFiles
  /** MQTTS port, with `tls` (default 8883; 0 = any free port). */
  readonly mqttsPort?: number
  /** Proxies whose X-Forwarded-For and X-Forwarded-Proto to believe (a reverse proxy that ends TLS). */
  readonly trustProxy?: TrustProxy
  /** MINEWATCH_PDF_FONT: the 月报's PDF font (dashboard/monthly-pdf.ts); none: Debian's CJK fonts are looked for. */
  readonly pdfFont?: string | undefined
  /** Cluster mode: nodes sharing a Redis (docs/cluster.md). */
  readonly cluster?: ClusterConfig
  /** 联网上报: forward the readings to an upstream platform (docs/uplink.md). */
  readonly uplink?: UplinkConfig
  /** Something the platform cannot go on without failed (the rule thread died): main.ts exits, for the supervisor to restart it. */
  readonly onFatal?: (err: Error) => void
}

export interface Platform {
  readonly ports: { readonly mqtt: number; readonly ws: number; readonly http: number; readonly mqtts?: number }
  readonly store: Store
  readonly writer: StoreWriter
  readonly journal: Journal
  readonly alerting: AlertingPort
  readonly alertBus: AlertBus
  readonly intake: Intake
  readonly presence: Presence
  readonly broker: Aedes
  readonly app: FastifyInstance
  readonly quarantineDir: string
  /** The site as administered (站点管理). */
  readonly siteAdmin: SiteAdmin
  /** 叫应: the open warnings' calls (infra/notify). */
  readonly notifier: Notifier
  /** 联网上报, when configured. */
  readonly uplink: Uplink | undefined
  /** The warnings the mine platforms reported (a regulator's). */
  readonly reported: ReportedAlerts
  /** The demo's simulators, when `simulate` is set. */
  simulation(): DemoSimulation | undefined
  /** Serve new TLS connections with a renewed certificate (SIGHUP); open ones keep theirs. */
  reloadTls(files: TlsFiles): void
  stop(): Promise<void>
}

/**
 * Starts the platform in stages; when a stage fails (a port taken, a journal unreadable), what the
 * earlier stages started is stopped again, newest first, before the error is passed on, so that
 * nothing is left holding files, ports or timers.
 */
export async function startPlatform(cfg: PlatformConfig): Promise<Platform> {
  const undo: (() => Promise<unknown> | unknown)[] = []
  try {
    return await startStages(cfg, undo)
  } catch (err) {
    for (const step of undo.reverse()) {
      try {
        await step()
      } catch (undoErr) {
        cfg.logger.warn({ err: (undoErr as Error).message }, 'could not undo a start stage')
      }
    }
    throw err
  }
}

async function startStages(cfg: PlatformConfig, undo: (() => Promise<unknown> | unknown)[]): Promise<Platform> {
  const log = cfg.logger
  const now = cfg.now ?? Date.now
  const startedAt = now()
  mkdirSync(cfg.dataDir, { recursive: true })
  const metricsRegistry = new MetricsRegistry()
  collectDefaultMetrics({ register: metricsRegistry, prefix: 'minewatch_process_' })
  const metrics = createIngestMetrics(metricsRegistry)

  const siteAdmin = await SiteAdmin.open(cfg.dataDir, cfg.site, cfg.siteSeed ?? siteDigest(JSON.stringify(cfg.site)), { now, newId: randomUUID, log })
  let current = siteAdmin.current()
  // the devices carried by mine platforms' accounts (a regulator's): their silence waits on the link
  let carriers = linkCarriers(current)
  // the demo runs drills as shadows of the devices, never as the devices (infra/drill-site.ts)
  const shadowed = (s: Site) => (cfg.simulate ? withDrillShadows(s) : s)
  const site = shadowed(current)
  const registry = new Registry(site)
  const realDevices = () => registry.devices().filter((d) => !isDrillId(d.id))
  const sqliteFile = join(cfg.dataDir, 'minewatch.db')
  const store: Store & AlertEventStore = cfg.influx ? new InfluxStore(cfg.influx, (id) => registry.device(id)?.kind, log) : new SqliteStore(sqliteFile)
  undo.push(() => store.close())
  // the writes go through a thread of their own; `store` answers the queries (infra/store-thread.ts)
  const storeThread = await StoreThread.start(cfg.influx ? { kind: 'influx', cfg: cfg.influx } : { kind: 'sqlite', file: sqliteFile }, log, (err) => {
    log.error({ err: err.message }, '存储线程已退出, 读数无法再写入存储 (the store thread died: readings stay in the journal; restart the platform)')
    cfg.onFatal?.(err)
  })
  undo.push(() => storeThread.stop())
  // the rules' snapshot says from where they need the readings again: the journal keeps that much
  const ruleState = ruleStateFile(join(cfg.dataDir, 'alerting-rule-state.json'))
  // (cluster mode: a mine's rule state is its owner's, in Redis, infra/cluster/rules.ts)
  const snapshot = cfg.cluster ? undefined : await ruleState.load()
  // the uplink's cursor too: the journal keeps what has not reached the upstream platform
  const uplinkDir = join(cfg.dataDir, 'uplink')
  const uplinkCursor = cfg.uplink ? await loadUplinkCursor(uplinkDir) : undefined
  const uplinkAlertCursor = cfg.uplink?.mapping.alerts ? await loadUplinkCursor(uplinkDir, ALERTS_CURSOR_FILE) : undefined
  // Redis's connection errors (cluster mode), once a minute each: a line that keeps failing says so without flooding the log
  const redisErrors = new LogThrottle(60_000)
  const onRedisError = (err: Error) => {
    if (redisErrors.admit(err.message, now()) >= 0) log.warn({ err: err.message }, 'cluster: Redis connection error; reconnecting (docs/cluster.md)')
  }
  const clusterRedis = cfg.cluster ? redisClient(cfg.cluster.redis, onRedisError) : undefined
  if (clusterRedis) undo.push(() => clusterRedis.quit().catch(() => clusterRedis.disconnect()))
  const handoffFloor = cfg.cluster ? await Handoff.loadFloor(cfg.dataDir) : undefined
  const journal = await Journal.open(
    { ...DEFAULT_JOURNAL_OPTIONS, ...cfg.journal, dir: join(cfg.dataDir, 'journal') },
    log,
    {
      onGroup: (readings, _bytes, seconds) => {
        metrics.journalGroupSeconds.observe(seconds)
        metrics.journalGroupReadings.observe(readings)
      },
      onRefusing: (refusal) => metrics.journalRefusing.set(refusal ? 1 : 0),
    },
    { rules: snapshot?.position, uplink: uplinkCursor, handoff: handoffFloor },
  )
  undo.push(() => journal.close())
  // cluster mode: the readings go on to Redis, the journal keeping what Redis does not have yet;
  // one owner per mine's rules and book, through expiring leases (docs/cluster.md)
  let handoff: Handoff | undefined
  let partitions: Partitions | undefined
  let orphans: OrphanedReadings | undefined
  // (cluster mode: the rules and book, once started below; the orphans ask how far its events are written)
  let clusterAlerting: ClusterAlerting | undefined
  // the hand-off's own connection: a WAIT for the replicas holds up no lease renewal or session check
  const handoffRedis = clusterRedis?.duplicate()
  if (handoffRedis) {
    handoffRedis.on('error', onRedisError)
    undo.push(() => handoffRedis.quit().catch(() => handoffRedis.disconnect()))
  }
  if (cfg.cluster && clusterRedis && handoffRedis) {
    const h = Handoff.start(journal, handoffRedis, { nodeId: cfg.cluster.nodeId, dir: cfg.dataDir, replicas: cfg.cluster.replicas, log, now }, handoffFloor)
    undo.push(() => h.stop())
    const p = new Partitions(
      clusterRedis,
      cfg.cluster.nodeId,
      current.mines.map((m) => m.id),
      log,
    )
    p.start()
    undo.push(() => p.stop())
    registerClusterMetrics(
      metricsRegistry,
      () => h.status(),
      () => p.status(),
    )
    handoff = h
    partitions = p
  }
  if (journal.unconfirmedReadings > 0) log.info({ readings: journal.unconfirmedReadings }, 'journal: writing readings the store had not confirmed before the last stop')
  const writer = new StoreWriter(journal, storeThread.readings, { maxBackoffMs: 30_000, now, ...cfg.writer }, ingestWriterMetrics(metrics), {
    onError: (err, attempt) => log.error({ err: err.message, attempt, pending: writer.pending }, 'store write failed; readings kept, retrying'),
    onRecovered: (attempts) => log.info({ attempts, pending: writer.pending }, 'store writes recovered'),
  })

  undo.push(() => writer.stop())
  // cluster mode: a node that never comes back leaves readings in Redis it had not written to the
  // store; the owners of their mines write them (infra/cluster/orphans.ts), on a connection of their own
  if (cfg.cluster && clusterRedis && partitions) {
    const orphansRedis = clusterRedis.duplicate()
    orphansRedis.on('error', onRedisError)
    undo.push(() => orphansRedis.quit().catch(() => orphansRedis.disconnect()))
    const p = partitions
    const o = new OrphanedReadings({
      redis: orphansRedis,
      node: cfg.cluster.nodeId,
      stored: () => ({ position: journal.checkpoint, backlogAgeMs: writer.backlogAgeMs, eventsBacklogAgeMs: clusterAlerting?.eventsBacklogAgeMs() ?? 0 }),
      members: () => p.status().members,
      owned: () => p.status().owns.map((o) => o.mineId),
      write: (payload) => storeThread.readings.writePayloads([payload]),
      writeEvents: (payload) => storeThread.events.writePayloads([payload]),
      log,
    })
    o.start()
    undo.push(() => o.stop())
    orphans = o
  }
  new Gauge({
    name: 'minewatch_store_backlog_age_seconds',
    help: 'Age of the oldest reading in the journal not yet confirmed by the store (0: none); to within a second',
    registers: [metricsRegistry],
    collect() {
      this.set(writer.backlogAgeMs / 1000)
    },
  })
  const quarantineDir = join(cfg.dataDir, 'quarantine')
  const quarantine = new Quarantine(quarantineDir, { maxPayloadBytes: cfg.limits.maxPayloadBytes, maxBytesPerDay: cfg.quarantineMaxBytesPerDay }, (err) =>
    log.error({ err: err.message }, 'quarantine write failed'),
  )
  undo.push(() => quarantine.close())
  // the site's mines by id, kept current by applySite: their names and time zones
  const mines = new Map(current.mines.map((m) => [m.id, m]))
  const timeZoneOf = (mineId: string) => mines.get(mineId)?.timezone ?? 'Asia/Shanghai'
  const presence = new Presence()
  // the links' connections over time, for the monthly 联网在线率
  const linkLog = new LinkLog(cfg.dataDir, now())

  // cluster mode: the boards show who is connected to any node (infra/cluster/presence.ts)
  const clusterPresence = cfg.cluster && clusterRedis && partitions ? new ClusterPresence(clusterRedis, cfg.cluster.nodeId, presence, () => partitions!.status().members, log) : undefined
  // the links' connections over time, for the monthly 联网在线率 (cluster mode: connected to any node)
  if (clusterPresence) clusterPresence.onGateway((p) => linkLog.changed(p.gatewayId, p.connected, p.since))
  else presence.on('gateway', (p) => linkLog.changed(p.gatewayId, p.connected, p.since))
  if (clusterPresence) {
    await clusterPresence.start()
    undo.push(() => clusterPresence.stop())
  }
  const presenceOf = (deviceId: string) => (clusterPresence ? clusterPresence.get(deviceId) : presence.get(deviceId))
  // the warning book's snapshot is replayed from its position, and the uplink sends from its cursor: the alert journal keeps both
  const alertJournal = await Journal.open<AlertEvent>(
    { ...DEFAULT_JOURNAL_OPTIONS, ...cfg.journal, dir: join(cfg.dataDir, 'alert-journal') },
    log,
    {},
    { rules: snapshot?.book?.position, uplink: uplinkAlertCursor },
  )
  undo.push(() => alertJournal.close())
  let uplink: Uplink | undefined
  if (cfg.uplink) {
    const upMines = cfg.uplink.mines ? new Set(cfg.uplink.mines) : undefined
    const up = new Uplink(
      cfg.uplink,
      // a drill's shadows stay in this platform: the province must not see a drill as the slope
      {
        journal,
        dir: uplinkDir,
        log,
        now,
        timeZoneOf,
        forwards: (r) => !isDrillId(r.deviceId) && (upMines?.has(r.mineId) ?? true),
        states: {
          all: () => realDevices().flatMap((d) => ((upMines?.has(d.mineId) ?? true) ? [deviceState(d, presence.get(d.id), startedAt)] : [])),
          onChange: (listener) =>
            presence.on('change', (p) => {
              const d = registry.device(p.deviceId)
              if (d && !isDrillId(d.id) && (upMines?.has(d.mineId) ?? true)) listener(deviceState(d, p, startedAt))
            }),
        },
        // the mine's warnings and how they were handled; a drill's stay here
        alerts: { journal: alertJournal, cursor: uplinkAlertCursor, forwards: (e) => !e.alert.subject.drill && (upMines?.has(e.mineId) ?? true) },
      },
      uplinkCursor,
    )
    await up.start()
    undo.push(() => up.stop())
    registerUplinkMetrics(metricsRegistry, () => up.status())
    uplink = up
  }
  // a regulator's: the warning events its mine platforms report (上报预警), on disk before each PUBACK
  const reported = await ReportedAlerts.open({
    dir: join(cfg.dataDir, 'reported-alerts'),
    log,
    now,
    monthOf: (mineId, at) => isoInZone(at, timeZoneOf(mineId)).slice(0, 7),
    journal: { ...cfg.journal, memoryReadings: 1000 },
  })
  undo.push(() => reported.close())
  let tell: (topic: string, body: object) => void = () => undefined
  const intake = new Intake({ limits: cfg.limits, now, quarantine, metrics, presence, tell: (t, b) => tell(t, b), log, journal, reported })

  // cluster mode (docs/cluster.md): the broker's messages, sessions and client ids shared through Redis
  let cluster: { engine: BrokerEngine; redis: Redis; clientIds: RedisClientIds } | undefined
  if (cfg.cluster && clusterRedis) {
    const engine = redisBrokerEngine(cfg.cluster.redis, onRedisError)
    undo.push(() => engine.close())
    const clientIds = new RedisClientIds(clusterRedis, (err) => log.warn({ err: err.message }, 'a client id could not be released or renewed in Redis; it lapses by itself'))
    undo.push(() => clientIds.close())
    cluster = { engine, redis: clusterRedis, clientIds }
    log.info({ node: cfg.cluster.nodeId, redis: describeRedis(cfg.cluster.redis) }, '集群模式: 本节点与其他节点共用 Redis 和 InfluxDB (cluster mode; docs/cluster.md)')
  }
  const ctx: BrokerContext = {
    registry,
    verifier: new SecretVerifier(),
    intake,
    presence,
    metrics,
    log,
    now,
    unavailable: () => journal.status().refusing ?? undefined,
    refusalLog: new LogThrottle(60_000),
    principals: new WeakMap(),
    emptyIdPersistent: new WeakSet(),
    clientIds: new ClientIds(),
    // devices behind one NAT share an address: 50 failures per address, 5 per device and address
    authLimiter: new LoginLimiter(5, 50),
    ...(cluster ? { sharedClientIds: cluster.clientIds } : {}),
  }
  const broker = await createBroker(ctx, cluster?.engine)
  undo.push(() => new Promise<void>((resolve) => broker.close(() => resolve())))
  tell = brokerTeller(broker, log)

  const alertBus = new AlertBus((err) => log.error({ err: err.message }, 'an alert consumer failed'))
  let simulation: DemoSimulation | undefined
  let ruleDevices = drillEngineDevices(engineDevices(site))
  const ruleDevice = new Map(ruleDevices.map((d) => [d.id, d]))
  const alertDeps = {
    devices: ruleDevices,
    items: engineItems(site),
    store,
    eventSink: storeThread.events,
    journal: alertJournal,
    bus: alertBus,
    // integrations read the mine's warnings on MQTT, with the time in the mine's zone beside epoch ms
    publish: (e: AlertEvent) => tell(alertsTopic(e.mineId), { ...e, time: isoInZone(e.at, timeZoneOf(e.mineId)) }),
    now,
    log,
    newId: randomUUID,
    tickMs: cfg.alertTickMs ?? 1000,
    snapshotMs: cfg.alertSnapshotMs ?? 60_000,
    writerMetrics: { written: () => undefined, pending: () => undefined, failed: () => undefined },
    ...(cfg.onFatal ? { onFatal: cfg.onFatal } : {}),
  }
  // a regulator's platform judges the links of the mine platforms that report to it (docs/uplink.md),
  // by where their gateways stand on any node in cluster mode
  const gateways = clusterPresence ?? presence
  const links = {
    links: () => mineLinks(current, gateways, startedAt, now()),
    linkPhase: (deviceId: string, at: number) => {
      const g = carriers.get(deviceId)
      return g === undefined ? undefined : linkPhase(linkObservation(gateways, g.id, startedAt, at), linkLimits(g), at)
    },
  }
  // cluster mode: each mine's rules and book on the node holding its lease, the book followed from Redis everywhere
  const alerting: AlertingPort =
    cfg.cluster && clusterRedis && partitions
      ? await ClusterAlerting.start({ ...alertDeps, ...links, redis: clusterRedis, node: cfg.cluster.nodeId, replicas: cfg.cluster.replicas, partitions, mines: () => current.mines.map((m) => m.id) })
      : await Alerting.start({ ...alertDeps, ...links, snapshots: ruleState, snapshot, readings: journal })
  undo.push(() => alerting.stop())
  if (alerting instanceof ClusterAlerting) {
    clusterAlerting = alerting
    // a mine handed back to a joining node is saved first: the joiner replays nothing
    if (partitions) partitions.beforeHandBack = (m) => alerting.handBack(m)
  }
  // 叫应: the open warnings' calls, through the outbox, to the channels of the site's notify section
  const notifier = await Notifier.start(current.notify, {
    dataDir: cfg.dataDir,
    // in cluster mode each node calls for the mines it owns: every node's book holds every warning
    alerts: () => alerting.book.unresolved().filter((a) => alerting.owns(a.mineId)),
    allAlerts: () => alerting.book.all(),
    mineName: (id) => mines.get(id)?.name ?? id,
    timeZoneOf,
    now,
    log,
    ...(cfg.notifyTickMs !== undefined ? { tickMs: cfg.notifyTickMs } : {}),
    // cluster mode: a node taking a mine over sends none of the calls another node delivered
    ...(cfg.cluster && clusterRedis ? { shared: new RedisCalls(clusterRedis, cfg.cluster.nodeId), sharedLinks: new RedisLinks(clusterRedis) } : {}),
  })
  undo.push(() => notifier.stop())
  // 协议改造: devices read over Modbus TCP, their readings through the same intake (infra/modbus/collector.ts)
  const collectors = new ModbusCollectors({ intake, presence, now, log, metrics: metricsRegistry })
  const modbusDevices = (s: Site) => s.mines.flatMap((m) => m.devices.flatMap((d) => (d.modbus && registry.device(d.id) ? [{ principal: registry.device(d.id)!, map: d.modbus }] : [])))
  collectors.configure(modbusDevices(current))
  undo.push(() => collectors.stop())
  // a new warning or a rise calls at once, not at the next turn
  alertBus.on(() => void notifier.turn())
  new Gauge({
    name: 'minewatch_rules_lag_seconds',
    help: 'How long the oldest committed reading not yet judged by the rule thread has waited (0: none)',
    registers: [metricsRegistry],
    collect() {
      this.set(alerting.lag().oldestMs / 1000)
    },
  })
  new Gauge({
    name: 'minewatch_rules_pending_readings',
    help: 'Committed readings the rule thread has not judged yet',
    registers: [metricsRegistry],
    collect() {
      this.set(alerting.lag().readings)
    },
  })
  const pending = new PendingConnections(undefined, undefined, (n) => metrics.connectionsPending.set(n))
  broker.on('client', (client) => pending.loggedIn(client.conn))
  const frameLimit = {
    // room for a payload just over the limit to arrive and be quarantined with its first bytes
    maxFrameBytes: Math.max(4 * cfg.limits.maxPayloadBytes, 1024 * 1024),
    onTooLarge: (err: Error, remote: string | undefined) => {
      metrics.connectionsRefused.inc({ reason: 'FRAME_TOO_LARGE' })
      log.warn({ reason: 'FRAME_TOO_LARGE', remote }, err.message)
    },
    onUnsupportedProtocol: (level: number, remote: string | undefined) => {
      metrics.connectionsRefused.inc({ reason: 'UNSUPPORTED_PROTOCOL' })
      log.warn({ reason: 'UNSUPPORTED_PROTOCOL', level, remote }, `MQTT connection refused: protocol level ${level} is not spoken here (3.1 and 3.1.1 are); CONNACK 0x01`)
    },
    pending,
    onTooManyPending: (cap: PendingRefusal, remote: string | undefined) => {
      metrics.connectionsRefused.inc({ reason: 'TOO_MANY_PENDING' })
      // one line a minute per cap and address: a flood of them must not flood the log
      const suppressed = ctx.refusalLog.admit(`TOO_MANY_PENDING ${cap} ${remote}`, now())
      if (suppressed < 0) return
      log.warn(
        { reason: 'TOO_MANY_PENDING', cap, remote, suppressed },
        cap === 'address'
          ? `MQTT connection closed: ${pending.perAddress} connections from this address have not logged in yet`
          : `MQTT connection closed: ${pending.total} connections have not logged in yet`,
      )
    },
  }
  const tcp = await listenTcp(broker, cfg.bind, cfg.mqttPort, frameLimit)
  undo.push(() => tcp.close())
  const ws = await listenWebSocket(broker, cfg.bind, cfg.wsPort, frameLimit, cfg.tls)
  undo.push(() => ws.close())
  const mqtts = cfg.tls ? await listenTls(broker, cfg.bind, cfg.mqttsPort ?? 8883, cfg.tls, frameLimit) : undefined
  if (mqtts) undo.push(() => mqtts.close())

  const access = new Access(current)
  // kept across restarts: a wall screen stays signed in (dashboard/sessions.ts)
  // (cluster mode: in Redis, so a screen keeps its session whichever node serves it)
  const sessions: SessionStore = cluster
    ? new RedisSessions(cluster.redis)
    : new Sessions(join(cfg.dataDir, 'sessions.json'), (err) => log.error({ err: err.message }, 'sessions could not be saved or read; signed-in screens may have to sign in again after a restart'))
  const displays: DisplayStore = cluster
    ? new RedisDisplays(cluster.redis)
    : new Displays(join(cfg.dataDir, 'displays.json'), (err) => log.error({ err: err.message }, 'display credentials could not be saved or read'))
  const users = new Map(current.users.map((u) => [u.id, u]))
  const auth = new Auth({
    users,
    contactName: (id) => notifier.contactName(id),
    sessions,
    displays,
    limiter: new LoginLimiter(),
    // cluster mode: the failed logins of every node count (docs/security.md)
    ...(cluster
      ? {
          sharedFailures: new RedisLoginFailures(cluster.redis),
          onSharedError: (err: Error) => log.warn({ err: err.message }, 'cluster: failed logins could not be shared through Redis; this node’s own limit holds'),
        }
      : {}),
    adminToken: cfg.adminToken,
    now,
  })
  const pdfFont = findPdfFont(cfg.pdfFont)
  if (!pdfFont)
    log.warn({ MINEWATCH_PDF_FONT: cfg.pdfFont ?? null }, '月报 PDF 无中文字体: 请安装 fonts-wqy-microhei 或设置 MINEWATCH_PDF_FONT (no CJK font for the monthly report’s PDF; the other formats work)')
  const app = buildApp({
    store,
    registry,
    timeZoneOf,
    alerts: () => alerting.book.all(),
    alertActions: alerting,
    resolvedAlerts: (q) => store.resolvedAlerts(q),
    alertHistory: (id) => alerting.history(id),
    auth,
    access,
    // read at each request: the administered site as it now stands
    site: {
      get regions() {
        return current.regions
      },
      get mines() {
        return current.mines
      },
      get gateways() {
        return current.gateways.map((g) => ({ ...g, devices: gatewayDevices(current, g) }))
      },
    },
    presence: presenceOf,
    gatewayPresence: (id) => gateways.gateway(id),
    // 联网在线率 of each mine platform's account carrying these mines
    links: (mineIds, from, to) => {
      const carrying = current.gateways.filter((g) => g.mines.some((m) => mineIds.includes(m)))
      const changes = linkLog.changes(carrying.map((g) => g.id))
      return carrying.map((g) => ({ id: g.id, name: g.name, online: onlineShare(changes.get(g.id) ?? [], from, to) }))
    },
    reported: reported.book,
    quarantineFiles: () => quarantine.files(),
    deviceRules: (id) => ruleDevice.get(id),
    ruleState: (deviceId, ruleId) => alerting.ruleState(deviceId, ruleId),
    judged: (ids) => alerting.judged(ids),
    demo: () => simulation,
    requestLogLevel: cfg.simulate ? 'debug' : 'info',
    displays,
    planImage: (image) => siteAdmin.planImage(image),
    pdfFont,
    // (cluster mode: every node's calls, as Redis has them)
    notifications: (id) => notifier.record(id),
    testNotify: (contact, actorName) => notifier.test(contact, actorName),
    signByLink: { open: (token) => notifier.byLink(token), sign: (token) => notifier.byLink(token, (id, actor) => alerting.acknowledge(id, actor)) },
    admin: {
      view: () => adminView(current),
      change: (actor, change) => siteAdmin.change(actor, change as AdminChange, applySite),
      importText: async (actor, text) => {
        const read = readSiteText(text)
        return read.ok ? siteAdmin.change(actor, { op: 'site.import', site: read.value }, applySite) : { ok: false, code: 'MW_SITE_INVALID', errors: read.errors }
      },
      exportText: (format) => siteText(current, format, new Date(now()).toISOString()),
      uploadPlan: async (actor, mineId, bytes) => {
        if (!current.mines.some((m) => m.id === mineId)) return { ok: false, code: 'MW_NOT_FOUND', errors: [`没有矿山 "${mineId}" (no mine "${mineId}")`] }
        const stored = await siteAdmin.storePlanImage(mineId, bytes)
        if (!stored) return { ok: false, code: 'MW_BAD_IMAGE', errors: ['不是 PNG 或 JPEG 图片 (not a PNG or JPEG drawing): 请从 CAD 导出 PNG 或 JPEG 后上传'] }
        return siteAdmin.change(actor, { op: 'mine.plan', mine: mineId, plan: stored }, applySite)
      },
      // who, by name: the screens show people, not ids
      audit: async (limit) => (await siteAdmin.audit(limit)).map((e) => ({ ...e, actorName: auth.nameOf(e.actor) ?? (e.actor === 'site-file' ? '站点文件' : e.actor) })),
    },
    webRoot: cfg.webRoot ?? DEFAULT_WEB_ROOT,
    metrics: metricsRegistry,
    adminToken: cfg.adminToken,
    now,
    logger: log,
    ...(cfg.tls ? { https: cfg.tls } : {}),
    ...(cfg.trustProxy !== undefined ? { trustProxy: cfg.trustProxy } : {}),
    health: async () => {
      const storeHealth = await store.health()
      const journalStatus = journal.status()
      const lag = alerting.lag()
      const ok = storeHealth.ok && writer.lastError === undefined && journalStatus.ok
      return {
        status: ok ? 'ok' : 'degraded',
        time: new Date(now()).toISOString(),
        // the site's devices, not the shadows a drill runs as
        broker: {
          id: broker.id,
          clients: broker.connectedClients,
          devicesConnected: realDevices().filter((d) => presenceOf(d.id)?.connected).length,
          devicesKnown: realDevices().length,
          // each gateway's own connection, apart from its devices'
          gateways: current.gateways.map((g) => ({ id: g.id, name: g.name, connected: gateways.gateway(g.id)?.connected ?? false, devices: gatewayDevices(current, g).length })),
          // each Modbus device's collector: its endpoint, whether its last poll answered, the last error
          modbus: collectors.status(),
        },
        store: { kind: store.kind, ok: storeHealth.ok, detail: storeHealth.detail, pending: writer.pending, backlogAgeSeconds: writer.backlogAgeMs / 1000, lastError: writer.lastError ?? null },
        journal: journalStatus,
        // cluster mode: this node and its Redis (null: a single node)
        cluster: cfg.cluster
          ? {
              node: cfg.cluster.nodeId,
              redis: describeRedis(cfg.cluster.redis),
              redisConnected: cluster?.redis.status === 'ready',
              handoff: handoff?.status() ?? null,
              partitions: partitions?.status() ?? null,
              orphans: orphans?.status() ?? null,
            }
          : null,
        // 联网上报: the link to the upstream platform (null: none configured)
        uplink: uplink?.status() ?? null,
        alerts: { unresolved: alerting.book.unresolved().length, rulesPending: lag.readings, rulesLagSeconds: lag.oldestMs / 1000 },
        counts: await counts(metricsRegistry),
      }
    },
  })
  // live push shares the HTTP server: warnings and device changes to the rooms of their mine
  undo.push(() => app.close())
  const live = startLive(app.server, {
    auth,
    access,
    timeZoneOf,
    nameOf: (id) => auth.nameOf(id),
    now,
    // cluster mode: each push reaches the screens of every node, and a screen moved to another node gets back what it missed
    ...(cluster
      ? { adapter: createAdapter(cluster.redis, { streamName: 'minewatch:socket.io', channelPrefix: 'minewatch:socket.io', sessionKeyPrefix: 'minewatch:sio-session:', blockTimeInMs: 2000 }) }
      : {}),
  })
  undo.push(() => live.close())
  alertBus.on((e) => live.alert(e))
  auth.onEnded((digest) => live.endSession(digest))
  const sweeper = setInterval(() => sessions.sweep(now()), cfg.sessionSweepMs ?? 30_000)
  sweeper.unref()
  undo.push(async () => clearInterval(sweeper))
  intake.onReadings((readings) => live.readings(readings))
  presence.on('change', (p) => {
    const mineId = registry.device(p.deviceId)?.mineId
    if (mineId) live.device({ deviceId: p.deviceId, mineId, online: p.connected && p.online !== false, at: p.since })
  })
  await app.listen({ host: cfg.bind, port: cfg.httpPort })
  const httpPort = (app.server.address() as { port: number }).port
  // the demo: every device of the site simulated live against the embedded broker, and drills
  if (cfg.simulate) simulation = await DemoSimulation.start(cfg.simulate, current, tcp.port, log, (ids) => void alerting.resetRules(ids))

  /**
   * A site change taken on by every running part, without a restart (站点管理): who may connect,
   * the rules (unchanged ones keep their state), who may see what. A device retired or given a new
   * secret is disconnected (it comes back with the new secret, or not at all); a person retired or
   * given a new password is signed out; a person whose rights changed reconnects their screens.
   */
  const applySite = async (next: Site): Promise<void> => {
    const before = current
    current = next
    carriers = linkCarriers(next)
    const running = shadowed(next)
    registry.load(running)
    collectors.configure(modbusDevices(next))
    mines.clear()
    for (const m of next.mines) mines.set(m.id, m)
    partitions?.setMines(next.mines.map((m) => m.id))
    access.load(next)
    users.clear()
    for (const u of next.users) users.set(u.id, u)
    ruleDevices = drillEngineDevices(engineDevices(running))
    ruleDevice.clear()
    for (const d of ruleDevices) ruleDevice.set(d.id, d)
    await alerting.configure(ruleDevices, engineItems(running))
    notifier.configure(next.notify)
    // a principal whose secret changed, or that is gone, is disconnected; a gateway whose devices changed too (it reconnects with the new list)
    const secretOf = (s: Site) =>
      new Map(
        [...s.mines.flatMap((m) => m.devices), ...s.serviceAccounts, ...s.gateways.map((g) => ({ ...g, secretHash: `${g.secretHash} ${gatewayDevices(s, g).join()}` }))].map((p) => [
          p.id,
          p.secretHash,
        ]),
      )
    const [was, is] = [secretOf(before), secretOf(next)]
    // aedes keeps its connected clients by client id (not in its typings)
    for (const client of Object.values((broker as unknown as { clients: Record<string, Client> }).clients)) {
      const id = ctx.principals.get(client)?.id
      if (id !== undefined && was.has(id) && was.get(id) !== is.get(id)) client.close()
    }
    for (const u of before.users) {
      const after = users.get(u.id)
      if (after?.passwordHash !== u.passwordHash) for (const digest of await sessions.revokeUser(u.id)) live.endSession(digest)
      if (JSON.stringify(after) !== JSON.stringify(u)) live.endUser(u.id)
    }
  }

  // cluster mode: the site administered on any node runs on every node (infra/cluster/site.ts)
  if (cfg.cluster && clusterRedis) {
    const share = new RedisSiteShare(clusterRedis)
    undo.push(() => share.close())
    await siteAdmin.share(share, applySite, log)
  }

  let stopping: Promise<void> | undefined
  return {
    ports: { mqtt: tcp.port, ws: ws.port, http: httpPort, ...(mqtts ? { mqtts: mqtts.port } : {}) },
    store,
    writer,
    journal,
    alerting,
    alertBus,
    intake,
    presence,
    broker,
    app,
    quarantineDir,
    siteAdmin,
    notifier,
    uplink,
    reported,
    simulation: () => simulation,
    reloadTls(files) {
      mqtts?.reloadTls?.(files)
      ws.reloadTls?.(files)
      ;(app.server as unknown as { setSecureContext?: (o: object) => void }).setSecureContext?.(secureOptions(files))
    },
    stop: () =>
      (stopping ??= (async () => {
        await simulation?.close()
        // 1. stop MQTT intake: no new connections, then close the broker and its clients
        const listenersClosed = Promise.all([tcp.close(), ws.close(), mqtts?.close()] as Promise<void>[])
        await new Promise<void>((resolve) => broker.close(() => resolve()))
        await listenersClosed
        // 2. write what the journal holds; what the store refuses now stays in the journal for the next start
        await writer.stop()
        if (writer.pending > 0) log.warn({ pending: writer.pending }, 'store did not take the last readings; they stay in the journal and are written at the next start')
        // what the upstream has not acknowledged stays in the journal, from the saved cursor
        await uplink?.stop()
        await notifier.stop()
        await reported.close()
        await alerting.stop()
        // cluster mode: the mines' leases handed back for the other nodes to take at once, the
        // readings Redis lacks handed off (for a few seconds; the rest wait in the journal)
        await partitions?.stop()
        await handoff?.stop(5000)
        await handoffRedis?.quit().catch(() => handoffRedis.disconnect())
        await clusterPresence?.stop()
        await storeThread.stop()
        await journal.close()
        await quarantine.close()
        // 3. close live push and HTTP, then the store
        clearInterval(sweeper)
        await live.close()
        await app.close()
        await sessions.flushed()
        await displays.flushed()
        await store.close()
        if (cluster) {
          cluster.clientIds.close()
          await cluster.engine.close()
          await cluster.redis.quit().catch(() => cluster.redis.disconnect())
        }
      })()),
  }
}

/** A device's state as the uplink sends it: online while connected and not saying otherwise. */
function deviceState(d: { id: string; mineId: string; kind: string }, p: DevicePresence | undefined, startedAt: number): DeviceState {
  return { mineId: d.mineId, deviceId: d.id, kind: d.kind, online: (p?.connected ?? false) && p?.online !== false, since: p?.since ?? startedAt }
}

async function counts(registry: MetricsRegistry): Promise<Record<string, unknown>> {
  const value = async (name: string) => (await registry.getSingleMetric(name)?.get())?.values ?? []
  const sum = (values: { value: number }[]) => values.reduce((s, v) => s + v.value, 0)
  const refused = Object.fromEntries((await value('minewatch_readings_refused_total')).map((v) => [String(v.labels.code), v.value]))
  return {
    readingsAccepted: sum(await value('minewatch_readings_accepted_total')),
    readingsRefused: refused,
    quarantined: sum(await value('minewatch_quarantine_messages_total')),
    connectionsRefused: sum(await value('minewatch_connections_refused_total')),
  }
}

function ruleStateFile(file: string) {
  return {
    async load(): Promise<RuleSnapshot | undefined> {
      await removeStaleTemp(file)
      try {
        const snap = JSON.parse(await readFile(file, 'utf8')) as Partial<RuleSnapshot>
        return typeof snap.position === 'number' && snap.states ? (snap as RuleSnapshot) : undefined
      } catch {
        return undefined
      }
    },
    save: (snap: RuleSnapshot) => writeFileAtomic(file, JSON.stringify(snap)),
  }
}
