import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Auth } from '../auth.js'
import { HttpError } from '../errors.js'
import { errorSchema } from '../schemas.js'
import type { User } from '../users.js'
import { PLAN_MAX_BYTES } from '../plan-image.js'

/**
 * 站点管理 (site administration, issue 14 item 5): an admin adds, edits and retires devices and
 * people, edits a mine's rules with their basis, and imports or exports the site file. Each
 * request is one change, validated exactly as the site file is, durable and audited before it is
 * answered, and taken on by the running platform without a restart (infra/site-admin.ts).
 * The shapes here are only the envelope; the site's schema judges the values.
 */
export interface SiteAdministration {
  /** The site as it now runs, without secrets' hashes; each device with the rules that judge it. */
  view(): unknown
  change(actor: string, change: AdminRequest): Promise<AdminAnswer>
  /** A whole site file (YAML or JSON) replacing the site. */
  importText(actor: string, text: string): Promise<AdminAnswer>
  /** The site file as it now stands (secrets as their hashes, as in the file). */
  exportText(format: 'yaml' | 'json'): string
  audit(limit: number): Promise<unknown[]>
  /** A mine's site-plan drawing (PNG or JPEG): kept, then named by the site; the places already set stay. */
  uploadPlan(actor: string, mineId: string, bytes: Uint8Array): Promise<AdminAnswer | { ok: false; code: 'MW_BAD_IMAGE'; errors: string[] }>
}

export type AdminAnswer = { ok: true; entry: { id: string; at: number; target: string }; secret?: string } | { ok: false; code: 'MW_NOT_FOUND' | 'MW_SITE_INVALID'; errors: string[] }

const deviceFields = {
  name: z.unknown().optional(),
  position: z.unknown().optional(),
  interval: z.unknown().optional(),
  rules: z.array(z.unknown()).max(200).optional(),
}
const userFields = { name: z.unknown().optional(), role: z.unknown().optional(), mines: z.array(z.unknown()).max(1000).optional(), regions: z.array(z.unknown()).max(1000).optional() }
const id = z.string().min(1).max(100)

export type AdminRequest =
  | { op: 'device.add'; mine: string; device: Record<string, unknown> }
  | { op: 'device.update'; id: string; set: Record<string, unknown> }
  | { op: 'device.secret' | 'device.retire' | 'user.password' | 'user.retire'; id: string }
  | { op: 'user.add'; user: Record<string, unknown> }
  | { op: 'user.update'; id: string; set: Record<string, unknown> }
  | { op: 'mine.rules'; mine: string; kind: string; rules: unknown[] }
  | { op: 'mine.plan'; mine: string; plan: { positions: unknown } | null }
  | { op: 'notify.set'; notify: unknown }

/** A test message sent to one person on each of their channels: what became of each. */
export type NotifyTest = { ok: true; results: { channel: string; to: string | null; ok: boolean; error?: string }[] } | { ok: false; errors: string[] }

const answerSchema = z.looseObject({ audit: z.string(), secret: z.string().optional() })

export const adminRoutes: FastifyPluginAsync<{ auth: Auth; admin: SiteAdministration; testNotify?: (contact: string, actorName: string) => Promise<NotifyTest> }> = async (app, opts) => {
  const typed = app.withTypeProvider<ZodTypeProvider>()
  const admin = async (request: FastifyRequest): Promise<User> => {
    const user = await opts.auth.user(request)
    if (user.role !== 'admin' || user.readOnly) throw new HttpError('MW_FORBIDDEN', '只有管理员可以管理站点 (only an admin administers the site)')
    return user
  }
  /** One change: 200 with the audit id (and a secret, shown this once), or the site's own validation errors. */
  const run = async (request: FastifyRequest, change: AdminRequest | { text: string } | { mine: string; bytes: Uint8Array }) => {
    const user = await admin(request)
    const answer =
      'text' in change
        ? await opts.admin.importText(user.id, change.text)
        : 'bytes' in change
          ? await opts.admin.uploadPlan(user.id, change.mine, change.bytes)
          : await opts.admin.change(user.id, change)
    if (!answer.ok) {
      const code = answer.code
      throw new HttpError(
        code,
        `${code === 'MW_SITE_INVALID' ? '修改未通过站点校验, 未生效 (the change fails the site file checks and was not applied): ' : ''}${answer.errors.slice(0, 20).join('; ')}`,
      )
    }
    return { audit: answer.entry.id, target: answer.entry.target, ...(answer.secret ? { secret: answer.secret } : {}) }
  }
  const responses = { 200: answerSchema, 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema }
  const tags = ['admin']

  typed.get('/api/admin/site', { schema: { summary: '站点 the site as it runs, without secrets (admin)', tags } }, async (request) => {
    await admin(request)
    return opts.admin.view()
  })

  typed.get(
    '/api/admin/audit',
    { schema: { summary: '审计 the site changes, newest first (admin)', tags, querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }) } },
    async (request) => {
      await admin(request)
      return { entries: await opts.admin.audit(request.query.limit) }
    },
  )

  typed.get(
    '/api/admin/site/export',
    { schema: { summary: '导出站点文件 the site file as it now stands (admin)', tags, querystring: z.object({ format: z.enum(['yaml', 'json']).default('yaml') }) } },
    async (request, reply) => {
      await admin(request)
      const format = request.query.format
      reply.header('content-type', format === 'json' ? 'application/json; charset=utf-8' : 'application/yaml; charset=utf-8')
      reply.header('content-disposition', `attachment; filename="site.${format === 'json' ? 'json' : 'yaml'}"`)
      return opts.admin.exportText(format)
    },
  )

  typed.put(
    '/api/admin/site',
    { schema: { summary: '导入站点文件 replace the site with a site file, YAML or JSON (admin)', tags, body: z.strictObject({ text: z.string().min(1) }), response: responses } },
    (request) => run(request, { text: request.body.text }),
  )

  typed.put(
    '/api/admin/notify',
    {
      schema: {
        summary: '叫应设置 the notify section: channels (secrets by env or file), people, rosters, policies; replaced whole, validated as the site file (admin)',
        tags,
        body: z.strictObject({ notify: z.unknown() }),
        response: responses,
      },
    },
    (request) => run(request, { op: 'notify.set', notify: request.body.notify }),
  )

  typed.post(
    '/api/admin/notify/test',
    {
      schema: {
        summary: '测试通知 a test message to one person on each of their channels, now, outside the outbox; what became of each (admin)',
        tags,
        body: z.strictObject({ contact: id }),
      },
    },
    async (request) => {
      const user = await admin(request)
      const answer = opts.testNotify ? await opts.testNotify(request.body.contact, user.name) : { ok: false as const, errors: ['叫应未启用 (notifications are not running)'] }
      if (!answer.ok) throw new HttpError('MW_NOT_FOUND', answer.errors.join('; '))
      return answer
    },
  )

  typed.post(
    '/api/admin/mines/:mine/devices',
    {
      schema: {
        summary: '添加设备 add a device; its MQTT secret is in this answer only (admin)',
        tags,
        params: z.object({ mine: id }),
        body: z.strictObject({ id, kind: z.string().max(40), ...deviceFields }),
        response: responses,
      },
    },
    (request) => run(request, { op: 'device.add', mine: request.params.mine, device: request.body }),
  )

  typed.patch('/api/admin/devices/:id', { schema: { summary: '修改设备 edit a device (admin)', tags, params: z.object({ id }), body: z.strictObject(deviceFields), response: responses } }, (request) =>
    run(request, { op: 'device.update', id: request.params.id, set: request.body }),
  )

  typed.post(
    '/api/admin/devices/:id/secret',
    { schema: { summary: '重置设备密钥 a new MQTT secret, in this answer only; the old one stops working (admin)', tags, params: z.object({ id }), response: responses } },
    (request) => run(request, { op: 'device.secret', id: request.params.id }),
  )

  typed.delete(
    '/api/admin/devices/:id',
    { schema: { summary: '停用设备 retire a device: it can no longer connect; its readings and warnings stay (admin)', tags, params: z.object({ id }), response: responses } },
    (request) => run(request, { op: 'device.retire', id: request.params.id }),
  )

  typed.post(
    '/api/admin/users',
    {
      schema: {
        summary: '添加用户 add a person; their first password is in this answer only (admin)',
        tags,
        body: z.strictObject({ id, ...userFields }),
        response: responses,
      },
    },
    (request) => run(request, { op: 'user.add', user: request.body }),
  )

  typed.patch(
    '/api/admin/users/:id',
    { schema: { summary: '修改用户 edit a person: name, role, mines, regions (admin)', tags, params: z.object({ id }), body: z.strictObject(userFields), response: responses } },
    (request) => run(request, { op: 'user.update', id: request.params.id, set: request.body }),
  )

  typed.post(
    '/api/admin/users/:id/password',
    { schema: { summary: '重置密码 a new password, in this answer only; their sessions end (admin)', tags, params: z.object({ id }), response: responses } },
    (request) => run(request, { op: 'user.password', id: request.params.id }),
  )

  typed.delete('/api/admin/users/:id', { schema: { summary: '停用用户 retire a person: signed out, cannot sign in (admin)', tags, params: z.object({ id }), response: responses } }, (request) =>
    run(request, { op: 'user.retire', id: request.params.id }),
  )

  // the drawing comes as the request's body, as it is (curl --data-binary @plan.png -H 'content-type: image/png')
  app.addContentTypeParser(['image/png', 'image/jpeg'], { parseAs: 'buffer', bodyLimit: PLAN_MAX_BYTES }, (_request, body, done) => done(null, body))
  typed.put(
    '/api/admin/mines/:mine/plan',
    {
      schema: {
        summary: "上传测点布置图 a mine's site plan drawing, PNG or JPEG as the body (≤ 8 MiB); the places set before stay (admin)",
        tags,
        params: z.object({ mine: id }),
        response: responses,
      },
    },
    (request) => {
      if (!Buffer.isBuffer(request.body)) throw new HttpError('MW_BAD_IMAGE', '请以 PNG 或 JPEG 文件作为请求体上传 (send the drawing as the body, content-type image/png or image/jpeg)')
      return run(request, { mine: request.params.mine, bytes: request.body })
    },
  )

  typed.put(
    '/api/admin/mines/:mine/plan/positions',
    {
      schema: {
        summary: '测点位置 where each device stands on the drawing, as fractions of its width and height from the top left (admin)',
        tags,
        params: z.object({ mine: id }),
        body: z.strictObject({ positions: z.record(z.string().max(100), z.unknown()) }),
        response: responses,
      },
    },
    (request) => run(request, { op: 'mine.plan', mine: request.params.mine, plan: { positions: request.body.positions } }),
  )

  typed.delete(
    '/api/admin/mines/:mine/plan',
    { schema: { summary: "删除测点布置图 the mine's board goes back to the plan in metres (admin)", tags, params: z.object({ mine: id }), response: responses } },
    (request) => run(request, { op: 'mine.plan', mine: request.params.mine, plan: null }),
  )

  typed.put(
    '/api/admin/mines/:mine/rules/:kind',
    {
      schema: {
        summary: "修改矿山规则 a mine's rules for one device kind, each with its basis (设计值, clause); they replace the site's by rule id (admin)",
        tags,
        params: z.object({ mine: id, kind: z.string().max(40) }),
        body: z.strictObject({ rules: z.array(z.unknown()).max(200) }),
        response: responses,
      },
    },
    (request) => run(request, { op: 'mine.rules', mine: request.params.mine, kind: request.params.kind, rules: request.body.rules }),
  )
}
