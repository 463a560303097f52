import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { Registry } from 'prom-client'

/** `GET /metrics`: Prometheus text exposition format, behind the admin token. */
export const metricsRoutes: FastifyPluginAsync<{ metrics: Registry; requireAdmin: (r: FastifyRequest) => Promise<void> }> = async (app, opts) => {
  app.get('/metrics', { onRequest: opts.requireAdmin }, async (_request, reply) => {
    return reply.type(opts.metrics.contentType).send(await opts.metrics.metrics())
  })
}
