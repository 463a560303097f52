import Fastify from 'fastify'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { RequestLog } from '../../dashboard/request-log.js'
import { ADMIN_TOKEN, startTestPlatform } from '../helpers/platform.js'

/** Request logs are one line each, and quiet in the demo. */
function capture(level = 'trace') {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = []
  return { logger: pino({ level }, { write: (s: string) => void lines.push(JSON.parse(s)) }), lines }
}

describe('request log', () => {
  it('is one info line per request on the platform, with method, path, status and time; health probes are not logged', async () => {
    const { logger, lines } = capture()
    const t = await startTestPlatform({ logger })
    try {
      const before = lines.length
      const res = await t.platform.app.inject({ method: 'GET', url: '/api/alerts', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
      expect(res.statusCode).toBe(200)
      await t.platform.app.inject({ method: 'GET', url: '/api/health' })
      const logged = lines.slice(before).filter((l) => 'reqId' in l)
      expect(logged).toEqual([expect.objectContaining({ level: 30, msg: 'GET /api/alerts 200', method: 'GET', url: '/api/alerts', status: 200, ms: expect.any(Number) })])
    } finally {
      await t.stop()
    }
  })

  it('in the demo is at debug, and a failed request is an error whatever the level', async () => {
    const { logger, lines } = capture()
    const app = Fastify({ loggerInstance: logger, logController: new RequestLog('debug') })
    app.get('/ok', async () => ({ ok: true }))
    app.get('/boom', async () => {
      throw new Error('boom')
    })
    await app.inject({ method: 'GET', url: '/ok' })
    await app.inject({ method: 'GET', url: '/boom' })
    // one line per request (Fastify's error handler adds its own line with the error)
    const perRequest = lines.filter((l) => 'reqId' in l && 'status' in l).map((l) => [l.level, l.msg])
    expect(perRequest).toEqual([
      [20, 'GET /ok 200'],
      [50, 'GET /boom 500'],
    ])
    expect(lines.some((l) => l.msg === 'incoming request' || l.msg === 'request completed')).toBe(false)
    await app.close()
  })
})
