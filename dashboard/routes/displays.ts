import type { FastifyPluginAsync } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { SESSION_COOKIE, type Auth } from '../auth.js'
import type { DisplayStore } from '../displays.js'
import { HttpError } from '../errors.js'
import { errorSchema } from '../schemas.js'

/**
 * Wall screens' display credentials (dashboard/displays.ts): an admin issues, lists and revokes
 * them; a screen opens `/api/display-login?token=…` once and is signed in for good, read-only.
 */
const displaySchema = z.object({ id: z.string(), name: z.string(), userId: z.string(), createdAt: z.number() })
/** Ten years: the screen stays signed in until the credential is revoked. */
const DISPLAY_COOKIE_SECONDS = 10 * 365 * 86_400

export const displayRoutes: FastifyPluginAsync<{ auth: Auth; displays: DisplayStore; now: () => number }> = async (app, opts) => {
  const typed = app.withTypeProvider<ZodTypeProvider>()
  const admin = async (request: Parameters<Auth['user']>[0]) => {
    const user = await opts.auth.user(request)
    if (user.role !== 'admin' || user.readOnly) throw new HttpError('MW_FORBIDDEN', '只有管理员可以管理大屏凭据 (only an admin manages display credentials)')
    return user
  }

  typed.post(
    '/api/displays',
    {
      schema: {
        summary: '大屏凭据 issue a read-only display credential for a wall screen (admin)',
        tags: ['displays'],
        body: z.strictObject({ name: z.string().trim().min(1).max(200), user: z.string().min(1).max(100) }),
        response: { 201: displaySchema.extend({ token: z.string(), login: z.string() }), 400: errorSchema, 401: errorSchema, 403: errorSchema },
      },
    },
    async (request, reply) => {
      await admin(request)
      if (!opts.auth.knows(request.body.user)) throw new HttpError('MW_UNKNOWN_USER', `站点文件中没有用户 ${request.body.user} (no such user in the site file: the screen shows what that user sees)`)
      const { display, token } = await opts.displays.issue(request.body.name, request.body.user, opts.now())
      request.log.info({ display: display.id, name: display.name, user: display.userId }, 'display credential issued')
      reply.code(201)
      return { ...display, token, login: `/api/display-login?token=${encodeURIComponent(token)}` }
    },
  )

  typed.get(
    '/api/displays',
    { schema: { summary: '大屏凭据列表 the display credentials (admin)', tags: ['displays'], response: { 200: z.object({ displays: z.array(displaySchema) }), 401: errorSchema, 403: errorSchema } } },
    async (request) => {
      await admin(request)
      return { displays: await opts.displays.list() }
    },
  )

  typed.delete(
    '/api/displays/:id',
    {
      schema: {
        summary: '吊销大屏凭据 revoke a display credential (admin)',
        tags: ['displays'],
        params: z.object({ id: z.string().min(1).max(100) }),
        response: { 204: z.null().describe('revoked'), 401: errorSchema, 403: errorSchema, 404: errorSchema },
      },
    },
    async (request, reply) => {
      await admin(request)
      const digest = await opts.displays.revoke(request.params.id)
      if (!digest) throw new HttpError('MW_NOT_FOUND', `没有编号为 ${request.params.id} 的大屏凭据 (no such display credential)`)
      // the screen's live connection ends with it
      opts.auth.ended(digest)
      request.log.info({ display: request.params.id }, 'display credential revoked')
      return reply.code(204).send(null)
    },
  )

  typed.get(
    '/api/display-login',
    { schema: { summary: '大屏登录 sign a wall screen in with its display credential, for good', tags: ['displays'], security: [], querystring: z.object({ token: z.string().min(1).max(200) }) } },
    async (request, reply) => {
      if (!(await opts.displays.of(request.query.token))) throw new HttpError('MW_UNAUTHORIZED', '大屏凭据无效或已吊销 (the display credential is unknown or revoked; ask an admin for a new one)')
      const secure = request.protocol === 'https' ? '; Secure' : ''
      reply.header('set-cookie', `${SESSION_COOKIE}=${request.query.token}; HttpOnly; SameSite=Lax; Path=/; Max-Age=${DISPLAY_COOKIE_SECONDS}${secure}`)
      return reply.redirect('/', 302)
    },
  )
}
