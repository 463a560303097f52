import { basename } from 'node:path'
import type { FastifyPluginAsync } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Auth } from '../auth.js'
import { HttpError } from '../errors.js'
import { countLines, tailLines } from '../file-tail.js'

/** Bytes read from a day file's end per request: the newest entries fit, a whole day does not. */
const READ_CAP_BYTES = 16 * 1024 * 1024

/**
 * `GET /api/quarantine?date=YYYY-MM-DD&limit=`: what the platform refused on a (UTC) day, newest
 * first, for admins: topic, device, codes and messages, and the raw payload (base64). Refused
 * payloads may hold anything a device sent, so no one else sees them.
 */
const query = z.strictObject({
  date: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'expected a date as YYYY-MM-DD' })
    .optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
})

export const quarantineRoutes: FastifyPluginAsync<{ files: () => string[]; auth: Auth }> = async (app, opts) => {
  app.withTypeProvider<ZodTypeProvider>().get('/api/quarantine', { schema: { summary: '隔离区 refused messages of a day (admins)', tags: ['admin'], querystring: query } }, async (request) => {
    const user = await opts.auth.user(request)
    if (user.role !== 'admin') throw new HttpError('MW_FORBIDDEN', '只有管理员可以查看隔离区 (the quarantine is for admins)')
    const files = opts.files()
    const days = files.map((f) => basename(f, '.jsonl'))
    const file = request.query.date ? files.find((f) => basename(f, '.jsonl') === request.query.date) : files[0]
    if (!file) return { days, date: request.query.date ?? null, count: 0, entries: [] }
    // the newest entries from the file's end: a day file can hold 256 MB, and reading it whole
    // held the event loop for most of a second and the memory for it (docs/security.md)
    const { lines } = await tailLines(file, request.query.limit, READ_CAP_BYTES)
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    return { days, date: basename(file, '.jsonl'), count: await countLines(file), entries }
  })
}
