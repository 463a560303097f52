import type { FastifyPluginAsync } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Access } from '../access.js'
import { SESSION_COOKIE, type Auth } from '../auth.js'
import { HttpError } from '../errors.js'
import { SESSION_MS } from '../sessions.js'
import type { User } from '../users.js'
import { errorSchema, userViewSchema } from '../schemas.js'

/** `POST /api/login`, `POST /api/logout`, `GET /api/me`. */
const loginSchema = z.strictObject({ username: z.string().min(1).max(200), password: z.string().min(1).max(1000) })

export const publicUser = (u: User, access: Access) => ({ id: u.id, name: u.name, role: u.role, mines: access.visibleMines(u) })

export const authRoutes: FastifyPluginAsync<{ auth: Auth; access: Access }> = async (app, opts) => {
  const typed = app.withTypeProvider<ZodTypeProvider>()
  typed.post(
    '/api/login',
    {
      schema: {
        summary: '登录 sign in: a session cookie and a bearer token',
        tags: ['auth'],
        security: [],
        body: loginSchema,
        response: { 200: z.object({ token: z.string(), user: userViewSchema }), 401: errorSchema, 429: errorSchema },
      },
    },
    async (request, reply) => {
      const body = { data: request.body }
      const result = await opts.auth.login(body.data.username, body.data.password, request.ip)
      if (result && 'retryAfter' in result) {
        request.log.warn({ username: body.data.username, ip: request.ip }, 'login refused: too many failed attempts')
        reply.header('retry-after', String(result.retryAfter))
        throw new HttpError('MW_TOO_MANY_ATTEMPTS', `登录失败次数过多，请 ${result.retryAfter} 秒后再试 (too many failed logins; try again in ${result.retryAfter} s)`)
      }
      if (!result) {
        // the password is never logged
        request.log.warn({ username: body.data.username, ip: request.ip }, 'login failed')
        throw new HttpError('MW_UNAUTHORIZED', '用户名或密码错误 (wrong user name or password)')
      }
      const secure = request.protocol === 'https' ? '; Secure' : ''
      reply.header('set-cookie', `${SESSION_COOKIE}=${result.token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_MS / 1000}${secure}`)
      request.log.info({ user: result.user.id }, 'logged in')
      return { token: result.token, user: publicUser(result.user, opts.access) }
    },
  )

  app.post('/api/logout', { schema: { summary: '退出 end the session', tags: ['auth'] } }, async (request, reply) => {
    await opts.auth.logout(request)
    reply.header('set-cookie', `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`)
    return { ok: true }
  })

  typed.get('/api/me', { schema: { summary: '当前用户 who is signed in, and which mines they see', tags: ['auth'], response: { 200: userViewSchema, 401: errorSchema } } }, async (request) =>
    publicUser(await opts.auth.user(request), opts.access),
  )
}
