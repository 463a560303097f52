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

type Stored = Display & { readonly hash: string }

export class Displays {
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

  issue(name: string, userId: string, now: number): { display: Display; token: string } {
    const token = `display_${randomBytes(32).toString('base64url')}`
    const stored: Stored = { id: randomUUID(), name, userId, createdAt: now, hash: digest(token) }
    this.byHash.set(stored.hash, stored)
    this.save()
    return { display: view(stored), token }
  }

  /** The display a token belongs to, if it is one and not revoked. */
  of(token: string): Display | undefined {
    const d = this.byHash.get(digest(token))
    return d ? view(d) : undefined
  }

  list(): Display[] {
    return [...this.byHash.values()].map(view).sort((a, b) => a.createdAt - b.createdAt)
  }

  /** Revokes a credential; returns the digest it was known by (undefined: no such credential). */
  revoke(id: string): string | undefined {
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

const view = ({ id, name, userId, createdAt }: Stored): Display => ({ id, name, userId, createdAt })
