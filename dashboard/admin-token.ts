import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { HttpError } from './errors.js'

/**
 * `Authorization: Bearer <MINEWATCH_ADMIN_TOKEN>`. Only a SHA-256 of the token is held, and the
 * comparison takes the same time whatever the guess.
 */
export function adminGuard(token: string) {
  const expected = createHash('sha256').update(token).digest()
  return async function requireAdmin(request: FastifyRequest): Promise<void> {
    const header = request.headers.authorization ?? ''
    const match = /^Bearer\s+(\S+)$/i.exec(header)
    const given = createHash('sha256')
      .update(match?.[1] ?? '')
      .digest()
    if (!match || !timingSafeEqual(given, expected)) {
      throw new HttpError('MW_UNAUTHORIZED', 'send Authorization: Bearer <MINEWATCH_ADMIN_TOKEN>')
    }
  }
}
