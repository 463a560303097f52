import type { FastifyPluginAsync } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Auth } from '../auth.js'
import { HttpError } from '../errors.js'

/**
 * Drills in the demo (README, "Run a scenario into the demo"): `POST /api/demo/drill` runs a
 * scenario into the live demo as the devices' shadows (docs/drills.md; admins: the admin token or an
 * admin user), `DELETE /api/demo/drill` stops it at once (admins); `GET /api/demo/drill`
 * says what runs, to everyone signed in, so every screen can say a drill is on. Without
 * simulators (`npm start`) there are no drills: `demo: false`, and a POST is 404 MW_NO_DEMO.
 */
export interface DemoControl {
  status(): unknown
  drill(scenario: string, speed?: number): Promise<unknown>
  stopDrill(): Promise<unknown>
}

export const demoRoutes: FastifyPluginAsync<{ demo: () => DemoControl | undefined; auth: Auth }> = async (app, opts) => {
  const demo = () => {
    const d = opts.demo()
    if (!d) throw new HttpError('MW_NO_DEMO', '平台未运行模拟器, 没有演练 (no simulators run here: start the demo with npm run demo)')
    return d
  }
  const typed = app.withTypeProvider<ZodTypeProvider>()
  typed.get('/api/demo/drill', { schema: { summary: '演练 the drill running in the demo, or the last one', tags: ['demo'] } }, async (request) => {
    await opts.auth.user(request)
    // a screen asks once at login: no simulators is an answer, not an error
    const d = opts.demo()
    return { demo: d !== undefined, drill: d?.status() ?? null }
  })
  typed.post(
    '/api/demo/drill',
    {
      schema: {
        summary: '演练 run a scenario into the live demo (admins)',
        tags: ['demo'],
        body: z.strictObject({ scenario: z.string().min(1).max(64), speed: z.number().min(1).max(100_000).optional().describe('simulated ms per real ms; default: a run of about three minutes') }),
      },
    },
    async (request, reply) => {
      const user = await opts.auth.user(request)
      if (user.role !== 'admin') throw new HttpError('MW_FORBIDDEN', '只有管理员可以发起演练 (only admins start drills)')
      const d = demo()
      try {
        const drill = await d.drill(request.body.scenario, request.body.speed)
        return reply.code(202).send({ drill })
      } catch (err) {
        const e = err as Error & { code?: string }
        if (e.code === 'MW_DRILL_RUNNING' || e.code === 'MW_UNKNOWN_SCENARIO') throw new HttpError(e.code, e.message)
        throw err
      }
    },
  )
  typed.delete('/api/demo/drill', { schema: { summary: '演练 stop the running drill (admins); what it sent stays in its own series', tags: ['demo'] } }, async (request) => {
    const user = await opts.auth.user(request)
    if (user.role !== 'admin') throw new HttpError('MW_FORBIDDEN', '只有管理员可以停止演练 (only admins stop drills)')
    return { drill: await demo().stopDrill() }
  })
}
