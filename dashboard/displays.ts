import { randomBytes, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { writeFileAtomic } from '../ingest/atomic-file.js'
import { tokenDigest as digest } from './sessions.js'

/**
 * Display credentials for wall screens (大屏, the dispatch room's screens): an admin issues one for
 * a screen, bound to a user of the site file whose mines or regions the screen shows; it never
 * expires, cannot sign, assign or resolve (read-only), and the admin revokes it when the screen
 * goes. Like sessions, only the token's SHA-256 is kept (data/displays.json), so the file gives
 * no one a way in; the token itself is shown once, when issued.
 */
export interface Display {
  readonly id: string
  readonly name: string
  readonly userId: string
  readonly createdAt: number
}

export type StoredDisplay = Display & { readonly hash: string }
type Stored = StoredDisplay

/** Where display credentials are kept: this node's file (Displays), or Redis for a cluster's nodes (infra/cluster/displays.ts). */
export interface DisplayStore {
  issue(name: string, userId: string, now: number): Promise<{ display: Display; token: string }>
  /** The display a token belongs to, if it is one and not revoked. */
  of(token: string): Promise<Display | undefined>
  list(): Promise<Display[]>
  /** Revokes a credential; returns the digest it was known by (undefined: no such credential). */
  revoke(id: string): Promise<string | undefined>
  /** Resolves once every change so far is kept. */
  flushed(): Promise<void>
}

/** A new display credential: its token (shown once) and what is kept of it. */
export function newDisplay(name: string, userId: string, now: number): { stored: StoredDisplay; token: string } {
  const token = `display_${randomBytes(32).toString('base64url')}`
  return { stored: { id: randomUUID(), name, userId, createdAt: now, hash: digest(token) }, token }
}

export class Displays implements DisplayStore {
  private readonly byHash = new Map<string, Stored>()
  private saving: Promise<void> = Promise.resolve()

  constructor(
    private readonly file?: string,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {
    if (!file) return
    try {
      for (const d of (JSON.parse(readFileSync(file, 'utf8')) as { displays?: Stored[] }).displays ?? []) this.byHash.set(d.hash, d)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onError(err as Error)
    }
  }

  async issue(name: string, userId: string, now: number): Promise<{ display: Display; token: string }> {
    const { stored, token } = newDisplay(name, userId, now)
    this.byHash.set(stored.hash, stored)
    this.save()
    return { display: view(stored), token }
  }

  async of(token: string): Promise<Display | undefined> {
    const d = this.byHash.get(digest(token))
    return d ? view(d) : undefined
  }

  async list(): Promise<Display[]> {
    return [...this.byHash.values()].map(view).sort((a, b) => a.createdAt - b.createdAt)
  }

  async revoke(id: string): Promise<string | undefined> {
    for (const [hash, d] of this.byHash)
      if (d.id === id) {
        this.byHash.delete(hash)
        this.save()
        return hash
      }
    return undefined
  }

  /** Resolves once every change so far is on disk. */
  flushed(): Promise<void> {
    return this.saving
  }

  private save(): void {
    const file = this.file
    if (!file) return
    const displays = [...this.byHash.values()]
    this.saving = this.saving.then(() => writeFileAtomic(file, JSON.stringify({ displays }))).catch((err: Error) => this.onError(err))
  }
}

export const view = ({ id, name, userId, createdAt }: Stored): Display => ({ id, name, userId, createdAt })
