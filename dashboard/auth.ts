import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { SecretVerifier } from '../ingest/secrets.js'
import { HttpError } from './errors.js'
import type { DisplayStore } from './displays.js'
import { tokenDigest, type SessionStore } from './sessions.js'
import type { LoginLimiter, SharedLoginFailures } from '../ingest/login-limit.js'
import type { User } from './users.js'

/**
 * Who is asking: a session (the `mw_session` httpOnly cookie of the web UI, or `Authorization:
 * Bearer <session token>`), or the admin token (integrations and operators; it acts as an admin).
 */
export const SESSION_COOKIE = 'mw_session'

export interface AuthDeps {
  readonly users: ReadonlyMap<string, User>
  readonly sessions: SessionStore
  /** Wall screens' read-only credentials (none: no displays). */
  readonly displays?: DisplayStore
  readonly limiter: LoginLimiter
  /** Cluster mode: the failed logins of every node (the limit is the cluster's). */
  readonly sharedFailures?: SharedLoginFailures
  readonly onSharedError?: (err: Error) => void
  readonly adminToken: string
  readonly now: () => number
  /** The name of a person called by the platform (叫应) who signed from the call's link: actor `contact:<id>`. */
  readonly contactName?: (contactId: string) => string | undefined
}

const ADMIN_BY_TOKEN: User = { id: 'admin-token', name: '管理令牌 (admin token)', role: 'admin', mines: [], regions: [], passwordHash: '' }
// a hash no password matches, so that an unknown user name costs the same scrypt as a known one
const NOBODY = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=')
    if (k === name) return v.join('=')
  }
  return undefined
}

export class Auth {
  private readonly verifier = new SecretVerifier()
  private readonly adminDigest: Buffer
  private readonly endListeners: ((digest: string) => void)[] = []

  constructor(private readonly deps: AuthDeps) {
    this.adminDigest = createHash('sha256').update(deps.adminToken).digest()
    // a session that expires ends like a logout: its live sockets close
    deps.sessions.onExpired((digest) => this.ended(digest))
  }

  /** The user behind a request, or 401. */
  async user(request: FastifyRequest): Promise<User> {
    const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1]
    const token = bearer ?? cookieValue(request.headers.cookie, SESSION_COOKIE)
    if (token) {
      if (timingSafeEqual(createHash('sha256').update(token).digest(), this.adminDigest)) return ADMIN_BY_TOKEN
      const id = await this.deps.sessions.userOf(token, this.deps.now())
      const user = id ? this.deps.users.get(id) : undefined
      if (user) return user
      // a wall screen: it sees what its user sees, and acts on nothing
      const display = await this.deps.displays?.of(token)
      const shown = display ? this.deps.users.get(display.userId) : undefined
      if (display && shown) return { ...shown, readOnly: true, display: display.name }
    }
    throw new HttpError('MW_UNAUTHORIZED', '请先登录 (log in: POST /api/login, then send the session cookie or Authorization: Bearer <token>)')
  }

  /** Whether the site file has this user. */
  knows(userId: string): boolean {
    return this.deps.users.has(userId)
  }

  /** A user's name (the screens show people, not ids); the platform's own actions are 系统's. */
  nameOf(userId: string): string | undefined {
    const contact = userId.startsWith('contact:') ? this.deps.contactName?.(userId.slice('contact:'.length)) : undefined
    if (contact) return `${contact} (通知链接)`
    return this.deps.users.get(userId)?.name ?? (userId === 'system' ? '系统' : userId === ADMIN_BY_TOKEN.id ? ADMIN_BY_TOKEN.name : undefined)
  }

  /** Checks a password, with the failed-login limit per (user name, address) and per address, counting tries in flight. */
  async login(username: string, password: string, address: string): Promise<{ user: User; token: string } | { retryAfter: number } | undefined> {
    const now = this.deps.now()
    const shared = this.deps.sharedFailures
    // cluster mode: the failures every node has seen; Redis away, this node's own still bound the tries
    if (shared) await shared.load(username, address, now).then((f) => this.deps.limiter.adopt(username, address, f, now), this.deps.onSharedError ?? (() => undefined))
    const started = this.deps.limiter.begin(username, address, now)
    if ('retryAfter' in started) return started
    const user = this.deps.users.get(username)
    const ok = await this.verifier.verify(user?.id ?? '\u0000nobody', password, user?.passwordHash ?? NOBODY).catch(() => false)
    this.deps.limiter.settle(started.ticket, Boolean(user && ok))
    if (shared) await (user && ok ? shared.succeeded(username, address) : shared.failed(username, address, now)).catch(this.deps.onSharedError ?? (() => undefined))
    if (!user || !ok) return undefined
    return { user, token: await this.deps.sessions.create(user.id, now) }
  }

  async logout(request: FastifyRequest): Promise<void> {
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? cookieValue(request.headers.cookie, SESSION_COOKIE)
    if (!token) return
    await this.deps.sessions.revoke(token)
    this.ended(tokenDigest(token))
  }

  /** Tells whoever holds a connection on the session or display with this digest that it is over (live sockets close). */
  ended(digest: string): void {
    for (const listener of this.endListeners) listener(digest)
  }

  onEnded(listener: (digest: string) => void): void {
    this.endListeners.push(listener)
  }
}
