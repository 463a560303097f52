import { z } from 'zod'
import { idSchema } from '../ingest/contract/ids.js'
import { secretHashSchema } from '../ingest/site.js'

/**
 * The people (the dashboard's slice of the site file): the dispatcher of a mine (预警专席), its
 * safety director (or responsible person), a regulator of a region (or of all regions), an admin.
 * Passwords are scrypt hashes only (`npm run hash-secret`).
 */
export const ROLES = ['dispatcher', 'director', 'regulator', 'admin'] as const
export type Role = (typeof ROLES)[number]

export const userSchema = z.strictObject({
  id: idSchema,
  name: z.string().min(1),
  role: z.enum(ROLES, { error: `expected one of ${ROLES.join(', ')}` }),
  /** Dispatchers and directors: the mines they work for. */
  mines: z.array(idSchema).default([]),
  /** Regulators: the regions they watch (their sub-regions included); none means every region. */
  regions: z.array(idSchema).default([]),
  passwordHash: secretHashSchema,
})
export type User = z.infer<typeof userSchema> & {
  /** A wall screen signed in with a display credential: it sees what this user sees, and acts on nothing. */
  readonly readOnly?: boolean
  /** The screen's name, for the display credential. */
  readonly display?: string
}

export const usersSchema = z.array(userSchema).default([])

interface UsersSite {
  readonly users: readonly User[]
  readonly regions: readonly { readonly id: string }[]
  readonly mines: readonly { readonly id: string }[]
}

export function checkDashboardSite(site: UsersSite, ctx: z.RefinementCtx): void {
  const mineIds = new Set(site.mines.map((m) => m.id))
  const regionIds = new Set(site.regions.map((r) => r.id))
  const seen = new Set<string>()
  site.users.forEach((u, i) => {
    if (seen.has(u.id)) ctx.addIssue({ code: 'custom', path: ['users', i, 'id'], message: `duplicate user id "${u.id}"` })
    seen.add(u.id)
    if ((u.role === 'dispatcher' || u.role === 'director') && u.mines.length === 0) ctx.addIssue({ code: 'custom', path: ['users', i, 'mines'], message: `a ${u.role} works for at least one mine` })
    u.mines.forEach((m, j) => mineIds.has(m) || ctx.addIssue({ code: 'custom', path: ['users', i, 'mines', j], message: `unknown mine "${m}"` }))
    u.regions.forEach((r, j) => regionIds.has(r) || ctx.addIssue({ code: 'custom', path: ['users', i, 'regions', j], message: `unknown region "${r}"` }))
  })
}
