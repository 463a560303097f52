import type { FastifyPluginAsync, FastifyRequest } from 'fastify'

export interface HealthReport {
  readonly status: 'ok' | 'degraded'
  readonly time: string
  readonly [part: string]: unknown
}

/**
 * `GET /api/health`: 200 when every part works, 503 when one does not (for load balancers and
 * container health checks). Anyone gets the verdict and the time; the parts (broker, store,
 * journal, counts: paths, free disk, backlog) only the admin token or an admin's session, since
 * they tell an attacker where the data lives and how full the disk is (docs/security.md).
 */
export const healthRoutes: FastifyPluginAsync<{ health: () => Promise<HealthReport>; isAdmin: (request: FastifyRequest) => Promise<boolean> }> = async (app, opts) => {
  app.get('/api/health', async (request, reply) => {
    const report = await opts.health()
    const code = report.status === 'ok' ? 200 : 503
    if (await opts.isAdmin(request)) return reply.code(code).send(report)
    return reply.code(code).send({ status: report.status, time: report.time })
  })
}
