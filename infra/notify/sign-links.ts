import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { open, readFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * The one-time link in each call (issue 15 item 3: answer from the message): `<publicUrl>/s/<token>`
 * opens a page where the person called signs for the warning (签收) without logging in. The token
 * is an HMAC of the call's id (so of the warning and the person) under a key kept in the data
 * directory (owner-only), 22 characters (132 bits), short enough for an SMS: nothing secret is
 * stored per call, and the outbox keeps the message with a placeholder, not the token; the calls
 * known are indexed by their tokens at start and as they are queued. A token signs once: its use is fsynced in `used.jsonl` before
 * the answer, and refused after.
 */
/**
 * Cluster mode (infra/cluster/calls.ts): the links shared by the nodes, so that a link sent by one
 * node signs on whichever node the person's phone reaches. The key is the cluster's; each call's
 * token names its call, warning and person in Redis; a use is recorded there once.
 */
export interface SharedLinks {
  /** The cluster's key (made by the first node to ask). */
  key(): Promise<Buffer>
  remember(calls: readonly { token: string; call: string; alertId: string; contact: string }[]): Promise<void>
  lookup(token: string): Promise<{ call: string; alertId: string; contact: string } | undefined>
  /** Records the use; false when the link was used already (on any node). */
  use(callId: string, at: number): Promise<boolean>
  usedAt(callId: string): Promise<number | undefined>
}

export class SignLinks {
  /** Each used call's link, and when. */
  private readonly used = new Map<string, number>()
  private readonly byToken = new Map<string, string>()

  private constructor(
    private readonly key: Buffer,
    private readonly handle: FileHandle,
  ) {}

  static async open(dir: string, shared?: SharedLinks): Promise<SignLinks> {
    mkdirSync(dir, { recursive: true })
    const keyFile = join(dir, 'link-key')
    let key: Buffer
    if (shared) key = await shared.key()
    else
      try {
        key = Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'hex')
        if (key.length < 32) throw new Error('short')
      } catch {
        key = randomBytes(32)
        writeFileSync(keyFile, `${key.toString('hex')}\n`, { mode: 0o600 })
        chmodSync(keyFile, 0o600)
      }
    const usedFile = join(dir, 'used.jsonl')
    let text = ''
    try {
      text = await readFile(usedFile, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    const links = new SignLinks(key, await open(usedFile, 'a'))
    for (const line of text.split('\n'))
      if (line)
        try {
          const use = JSON.parse(line) as { call: string; at: number }
          links.used.set(use.call, use.at)
        } catch {
          /* a line cut short: its use was not confirmed */
        }
    return links
  }

  /** The token of a call's link. */
  token(callId: string): string {
    return this.mac(callId)
  }

  /** Calls whose links may be opened. */
  index(callIds: Iterable<string>): void {
    for (const id of callIds) this.byToken.set(this.mac(id), id)
  }

  /** The call a token names, if it is one of ours. */
  callOf(token: string): string | undefined {
    const callId = this.byToken.get(token)
    if (callId === undefined) return undefined
    // compared in constant time all the same: the map's lookup found it by the very bytes
    const expected = Buffer.from(this.mac(callId))
    const given = Buffer.from(token)
    return given.length === expected.length && timingSafeEqual(given, expected) ? callId : undefined
  }

  /** Whether the token is the call's (a call another node made, found in Redis), compared in constant time. */
  verifies(token: string, callId: string): boolean {
    const expected = Buffer.from(this.mac(callId))
    const given = Buffer.from(token)
    return given.length === expected.length && timingSafeEqual(given, expected)
  }

  isUsed(callId: string): boolean {
    return this.used.has(callId)
  }

  /** When a call's link was used (signed from), if it was. */
  usedAt(callId: string): number | undefined {
    return this.used.get(callId)
  }

  /** Marks a call's link used, durably. */
  async use(callId: string, at: number): Promise<void> {
    this.used.set(callId, at)
    await this.handle.appendFile(`${JSON.stringify({ call: callId, at })}\n`)
    await this.handle.datasync()
  }

  async close(): Promise<void> {
    await this.handle.close()
  }

  private mac(callId: string): string {
    return createHmac('sha256', this.key).update(callId).digest('base64url').slice(0, 22)
  }
}
