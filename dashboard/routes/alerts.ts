import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { z } from 'zod'
import type { Alert } from '../../alerting/book/alert.js'
import { LEVELS, RANK } from '../../alerting/rules/levels.js'
import { isoInZone } from '../../ingest/zone-time.js'
import { HttpError } from '../errors.js'

/**
 * `GET /api/alerts`: the warning book, the most severe and oldest first, with times in the mine's
 * zone. Users, roles and the sign/assign/resolve actions arrive with the dashboard issue; until
 * then this is behind the admin token.
 */
const querySchema = z.strictObject({
  mine: z.string().min(1).optional(),
  state: z.enum(['unresolved', 'open', 'acknowledged', 'assigned', 'resolved', 'all']).default('unresolved'),
  level: z.enum(LEVELS).optional(),
  overdue: z.enum(['true', 'false']).optional(),
})

export const alertRoutes: FastifyPluginAsync<{
  alerts: () => Alert[]
  timeZoneOf: (mineId: string) => string
  requireAdmin: (r: FastifyRequest) => Promise<void>
}> = async (app, opts) => {
  app.get('/api/alerts', { onRequest: opts.requireAdmin }, async (request) => {
    const q = querySchema.safeParse(request.query)
    if (!q.success) {
      const issue = q.error.issues[0]!
      throw new HttpError('MW_BAD_QUERY', `${issue.path.join('.') || 'query'}: ${issue.message}; expected ?mine=&state=&level=&overdue=`)
    }
    const { mine, state, level, overdue } = q.data
    const alerts = opts
      .alerts()
      .filter((a) => (mine === undefined || a.mineId === mine) && (level === undefined || a.level === level) && (overdue === undefined || String(a.overdue) === overdue))
      .filter((a) => state === 'all' || (state === 'unresolved' ? a.state !== 'resolved' : a.state === state))
      .sort((a, b) => RANK[b.level] - RANK[a.level] || a.raisedAt - b.raisedAt)
    return {
      count: alerts.length,
      alerts: alerts.map((a) => {
        const tz = opts.timeZoneOf(a.mineId)
        return { ...a, timeZone: tz, raisedTime: isoInZone(a.raisedAt, tz), updatedTime: isoInZone(a.updatedAt, tz), deadlineTime: isoInZone(a.deadline, tz) }
      }),
    }
  })
}
