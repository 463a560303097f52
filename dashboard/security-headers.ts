import helmet from '@fastify/helmet'
import type { FastifyInstance } from 'fastify'

/**
 * The security headers a mature web stack sends (@fastify/helmet's defaults: CSP, nosniff,
 * frame-ancestors 'self', no referrer, same-origin opener and resources), with two changes:
 * - no `upgrade-insecure-requests`: a mine's LAN often serves the platform over plain HTTP
 *   (http://10.x.x.x:3000), where upgrading every script and style to HTTPS would break the page;
 * - HSTS only on a request that came over TLS (here or at a trusted proxy): sent over plain HTTP
 *   it is meaningless, and a site reached both ways must not be pinned to HTTPS by accident.
 * The web UI and the API docs load scripts only from this origin; ECharts and Vue set inline
 * styles, which the default `style-src 'self' https: 'unsafe-inline'` allows.
 */
export function registerSecurityHeaders(app: FastifyInstance): void {
  app.register(helmet, {
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
    strictTransportSecurity: false,
  })
  app.addHook('onSend', async (request, reply) => {
    // 180 days, helmet's default; subdomains are the operator's to decide, so not included
    if (request.protocol === 'https') reply.header('strict-transport-security', 'max-age=15552000')
  })
}
