import type { FastifyPluginAsync } from 'fastify'

export interface HealthReport {
  readonly status: 'ok' | 'degraded'
  readonly [part: string]: unknown
}

/** `GET /api/health`: 200 when every part works, 503 when one does not (for load balancers). */
export const healthRoutes: FastifyPluginAsync<{ health: () => Promise<HealthReport> }> = async (app, opts) => {
  app.get('/api/health', async (_request, reply) => {
    const report = await opts.health()
    return reply.code(report.status === 'ok' ? 200 : 503).send(report)
  })
}
