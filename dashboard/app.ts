import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { hasZodFastifySchemaValidationErrors, jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'
import type { Registry as MetricsRegistry } from 'prom-client'
import type { Registry } from '../ingest/registry.js'
import type { Store } from '../ingest/store.js'
import { adminGuard } from './admin-token.js'
import { HttpError } from './errors.js'
import { healthRoutes, type HealthReport } from './routes/health.js'
import { metricsRoutes } from './routes/metrics.js'
import { readingsRoutes } from './routes/readings.js'
import { alertRoutes, type AlertActions } from './routes/alerts.js'
import type { Alert, AlertEvent } from '../alerting/book/alert.js'
import type { ResolvedQuery } from '../alerting/store.js'
import type { PdfFont } from './monthly-pdf.js'
import type { Access } from './access.js'
import type { Judged } from '../alerting/runner.js'
import type { Auth } from './auth.js'
import { authRoutes } from './routes/auth.js'
import { mineRoutes, type MinesSite } from './routes/mines.js'
import type { ReportedBook } from '../alerting/reported/book.js'
import { quarantineRoutes } from './routes/quarantine.js'
import type { DevicePresence, GatewayPresence } from '../ingest/presence.js'
import type { Rule } from '../alerting/rules/index.js'
import type { DeviceKind } from '../ingest/contract/kinds.js'
import { webRoutes } from './routes/web.js'
import { demoRoutes, type DemoControl } from './routes/demo.js'
import { RequestLog } from './request-log.js'
import { displayRoutes } from './routes/displays.js'
import { adminRoutes, type NotifyTest, type SiteAdministration } from './routes/admin.js'
import { signRoutes, type SignByLink } from './routes/sign.js'
import type { DisplayStore } from './displays.js'
import { registerSecurityHeaders } from './security-headers.js'
import { secureOptions, type TlsFiles } from '../ingest/tls.js'

/** Which proxies to believe about the client's address and protocol: fastify's `trustProxy` (addresses, CIDRs, or true). */
export type TrustProxy = boolean | string | string[]

export interface AppDeps {
  readonly store: Store
  readonly registry: Registry
  readonly timeZoneOf: (mineId: string) => string
  readonly metrics: MetricsRegistry
  readonly adminToken: string
  readonly health: () => Promise<HealthReport>
  readonly now: () => number
  readonly logger: FastifyBaseLogger
  /** The warning book's alerts (resolved ones included), and what people may do with them. */
  readonly alerts: () => Alert[]
  readonly alertActions: AlertActions
  /** Older resolved warnings, paged from the store (the book keeps the unresolved and the last days). */
  readonly resolvedAlerts?: (q: ResolvedQuery) => Promise<Alert[]>
  readonly auth: Auth
  readonly access: Access
  readonly site: MinesSite
  readonly presence: (deviceId: string) => DevicePresence | undefined
  readonly gatewayPresence?: (gatewayId: string) => GatewayPresence | undefined
  /** 联网在线率 of the links carrying these mines over [from, to) (dashboard/link-history.ts). */
  readonly links?: (mineIds: readonly string[], from: number, to: number) => { id: string; name: string; online: number | null }[]
  /** 上报预警: what the mine platforms reported (a regulator's). */
  readonly reported?: ReportedBook
  /** The quarantine's day files, newest first. */
  readonly quarantineFiles: () => string[]
  /** A device's kind and the rules that judge it (the trend chart of a warning). */
  readonly deviceRules: (deviceId: string) => { kind: DeviceKind; rules: readonly Rule[] } | undefined
  /** A rule's live state for a device (the engine's), for the trend's live forecast. */
  readonly ruleState?: (deviceId: string, ruleId: string) => Promise<unknown>
  /** What the devices' rules last judged (the boards' figures). */
  readonly judged?: (deviceIds: readonly string[]) => Promise<Record<string, Record<string, Judged>>>
  /** The demo's simulators and drills, when the platform runs them. */
  readonly demo?: () => DemoControl | undefined
  /** The built web UI (`npm run build:web`); a page that says how to build it when missing. */
  readonly webRoot?: string | undefined
  /**
   * Serve HTTPS with this certificate and key (PEM). The session cookie is `Secure` whenever a
   * request came over TLS, here or at a trusted proxy.
   */
  readonly https?: TlsFiles
  /** Which proxies' X-Forwarded-For and X-Forwarded-Proto to believe (fastify's trustProxy). */
  readonly trustProxy?: TrustProxy
  /** Wall screens' display credentials (none: the routes are not offered). */
  readonly displays?: DisplayStore
  /** 签收 from a call's one-time link (/s/<token>). */
  readonly signByLink?: SignByLink
  /** Every event of one warning, oldest first (the alert store's record). */
  readonly alertHistory?: (alertId: string) => Promise<AlertEvent[]>
  /** A warning's calls (叫应, infra/notify). */
  readonly notifications?: (alertId: string) => unknown[] | Promise<unknown[]>
  /** A mine's site-plan drawing by the name the site gives it. */
  readonly planImage?: (image: string) => Promise<{ bytes: Buffer; type: string } | undefined>
  /** The CJK font the 月报's PDF embeds (dashboard/monthly-pdf.ts). */
  readonly pdfFont?: PdfFont | undefined
  /** 站点管理: the site administered from the screen (none: the routes are not offered). */
  readonly admin?: SiteAdministration
  /** A test message to one of the notify section's people (站点管理, 叫应). */
  readonly testNotify?: (contact: string, actorName: string) => Promise<NotifyTest>
  /** The level of the one line logged per request: `debug` in the demo (see request-log.ts). */
  readonly requestLogLevel?: 'info' | 'debug'
}

/** Builds the HTTP app without listening, so tests drive it with `inject()` (fastify's testing guide). */
export function buildApp(deps: AppDeps): FastifyInstance {
  const options = {
    loggerInstance: deps.logger,
    logController: new RequestLog(deps.requestLogLevel ?? 'info'),
    ...(deps.trustProxy !== undefined ? { trustProxy: deps.trustProxy } : {}),
  }
  // over HTTPS fastify's type is that of an https.Server; every route here is the same either way
  const app = deps.https ? (Fastify({ ...options, https: secureOptions(deps.https) }) as unknown as FastifyInstance) : Fastify(options)
  registerSecurityHeaders(app)
  // zod schemas validate params, query and bodies, and document them in the OpenAPI at /docs
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  app.setErrorHandler((err, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const v = err.validation[0]!
      const path = v.instancePath.split('/').filter(Boolean).join('.')
      const where = `${err.validationContext ?? 'request'}${path ? `.${path}` : ''}`
      return reply.code(400).send({ error: { code: 'MW_BAD_QUERY', message: `${where}: ${v.message}; see /docs` } })
    }
    if (err instanceof HttpError) {
      return reply.code(err.status).send({ error: { code: err.code, message: err.message } })
    }
    // what the client got wrong (bad JSON, a forbidden __proto__, a body too large, a bad path):
    // its own status and a clear code, logged as one quiet line, never a stack trace: an
    // anonymous caller must not be able to flood the error log
    const status = (err as { statusCode?: number }).statusCode
    if (status !== undefined && status >= 400 && status < 500) {
      const message = (err as Error).message
      request.log.info({ code: (err as { code?: string }).code, status }, `client error: ${message}`)
      const code = status === 413 ? 'MW_BODY_TOO_LARGE' : status === 415 ? 'MW_UNSUPPORTED_MEDIA_TYPE' : status === 404 ? 'MW_NOT_FOUND' : 'MW_BAD_REQUEST'
      return reply.code(status).send({ error: { code, message: `${message} (请求有误 the request was refused as it stands)` } })
    }
    request.log.error({ err }, 'request failed')
    return reply.code(500).send({ error: { code: 'MW_INTERNAL', message: 'internal error; see the server log' } })
  })
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: { code: 'MW_NOT_FOUND', message: `no route ${request.method} ${request.url}` } })
  })
  app.register(swagger, {
    openapi: {
      info: { title: 'minewatch 非煤矿山安全风险监测预警平台 API', description: 'Errors are {"error": {"code", "message"}} with stable codes (README, HTTP API).', version: '0.1.0' },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: 'mw_session' },
          bearer: { type: 'http', scheme: 'bearer', description: 'a session token from POST /api/login, or the admin token' },
        },
      },
      security: [{ session: [] }, { bearer: [] }],
    },
    transform: jsonSchemaTransform,
  })
  // the UI's scripts are served from node_modules: /docs works without the internet
  app.register(swaggerUi, { routePrefix: '/docs' })
  const requireAdmin = adminGuard(deps.adminToken)
  app.register(healthRoutes, {
    health: deps.health,
    isAdmin: (request) =>
      deps.auth.user(request).then(
        (u) => u.role === 'admin' && !u.readOnly,
        () => false,
      ),
  })
  app.register(metricsRoutes, { metrics: deps.metrics, requireAdmin })
  const canSeeMine = async (request: Parameters<Auth['user']>[0], mineId: string) => deps.access.canSee(await deps.auth.user(request), mineId)
  app.register(readingsRoutes, {
    store: deps.store,
    registry: deps.registry,
    timeZoneOf: deps.timeZoneOf,
    now: deps.now,
    canSeeMine,
    deviceRules: deps.deviceRules,
    alerts: deps.alerts,
    ...(deps.resolvedAlerts ? { resolved: deps.resolvedAlerts } : {}),
  })
  app.register(quarantineRoutes, { files: deps.quarantineFiles, auth: deps.auth })
  const { auth, access } = deps
  app.register(authRoutes, { auth, access })
  if (deps.admin) app.register(adminRoutes, { auth, admin: deps.admin, ...(deps.testNotify ? { testNotify: deps.testNotify } : {}) })
  if (deps.signByLink) app.register(signRoutes, { links: deps.signByLink })
  if (deps.displays) app.register(displayRoutes, { auth, displays: deps.displays, now: deps.now })
  app.register(mineRoutes, {
    site: deps.site,
    alerts: deps.alerts,
    presence: deps.presence,
    ...(deps.gatewayPresence ? { gatewayPresence: deps.gatewayPresence } : {}),
    ...(deps.links ? { links: deps.links } : {}),
    ...(deps.reported ? { reported: deps.reported } : {}),
    latest: (id) => deps.store.latest(id),
    deviceRules: deps.deviceRules,
    judged: deps.judged ?? (async () => ({})),
    planImage: deps.planImage ?? (async () => undefined),
    pdfFont: deps.pdfFont,
    resolved: deps.resolvedAlerts ?? (async () => []),
    callsOf: async (ids) => new Map(await Promise.all(ids.map(async (id) => [id, ((await deps.notifications?.(id)) ?? []) as { status: string; answered: boolean }[]] as const))),
    downsample: (q) => deps.store.downsample(q),
    now: deps.now,
    auth,
    access,
  })
  app.register(alertRoutes, {
    alerts: deps.alerts,
    actions: deps.alertActions,
    resolved: deps.resolvedAlerts ?? (async () => []),
    mineIds: () => deps.site.mines.map((m) => m.id),
    timeZoneOf: deps.timeZoneOf,
    nameOf: (id) => auth.nameOf(id),
    auth,
    access,
    trend: { device: deps.deviceRules, store: deps.store, now: deps.now, ...(deps.ruleState ? { state: deps.ruleState } : {}) },
    notifications: async (id) => (await deps.notifications?.(id)) ?? [],
    history: deps.alertHistory ?? (async () => []),
  })
  app.register(demoRoutes, { demo: deps.demo ?? (() => undefined), auth })
  app.register(webRoutes, { root: deps.webRoot })
  return app
}
