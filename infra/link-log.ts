import { appendFileSync, closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { LinkChange } from '../dashboard/link-history.js'

/**
 * The mine platforms' links over time, for the monthly 联网在线率 (dashboard/link-history.ts):
 * `<data>/links.jsonl`, a line per change of a gateway account's connection and one per start of
 * this platform (every link down then). Written as it happens, not fsynced: a line a kill -9
 * loses costs a report a few seconds, and the next start's line says the links were down anyway.
 */
export class LinkLog {
  private readonly file: string

  constructor(dataDir: string, now: number) {
    this.file = join(dataDir, 'links.jsonl')
    // a line a crash left half-written is ended, so that this start's line is a line of its own
    if (existsSync(this.file) && !endsWithNewline(this.file)) appendFileSync(this.file, '\n')
    this.append({ start: now })
  }

  changed(gatewayId: string, connected: boolean, at: number): void {
    this.append({ g: gatewayId, c: connected ? 1 : 0, at })
  }

  /** Each account's changes in time order, a start of the platform counting as a disconnection: the log read once for them all (a 月报 asks for every link of its mines). */
  changes(gatewayIds: readonly string[]): Map<string, LinkChange[]> {
    const out = new Map(gatewayIds.map((id) => [id, [] as LinkChange[]]))
    if (!existsSync(this.file)) return out
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (!line) continue
      let e: { start?: number; g?: string; c?: number; at?: number }
      try {
        e = JSON.parse(line) as typeof e
      } catch {
        // a line torn by a crash
        continue
      }
      if (typeof e.start === 'number') for (const list of out.values()) list.push({ at: e.start, connected: false })
      else if (typeof e.g === 'string' && typeof e.at === 'number') out.get(e.g)?.push({ at: e.at, connected: e.c === 1 })
    }
    return out
  }

  private append(entry: object): void {
    appendFileSync(this.file, `${JSON.stringify(entry)}\n`)
  }
}

function endsWithNewline(file: string): boolean {
  const size = statSync(file).size
  if (size === 0) return true
  const fd = openSync(file, 'r')
  try {
    const last = Buffer.alloc(1)
    readSync(fd, last, 0, 1, size - 1)
    return last[0] === 0x0a
  } finally {
    closeSync(fd)
  }
}
