import { createReadStream, mkdirSync } from 'node:fs'
import { open, stat, type FileHandle } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { dirname } from 'node:path'
import type { Call } from '../../alerting/notify/policy.js'
import { writeFileAtomic } from '../../ingest/atomic-file.js'
import type { Log } from '../../ingest/log.js'
import type { Outgoing, Send } from './channels.js'

/**
 * The notification outbox (issue 15 item 4: never lost, never doubled). A call is written to
 * `<data>/notify/outbox.jsonl` and fsynced before anything is sent; each attempt, delivery and
 * final failure is a line after it. At a start the file is read back: calls already queued are
 * not queued again (a call's id is the same whoever decides it, however often), calls not yet
 * delivered are sent. A call cut off between its send and its line is sent once more after a
 * crash (at least once): the generic webhook carries the call's id as Idempotency-Key for that.
 *
 * Sending: retries with back-off (10 s doubling to 10 min, 12 tries, then failed); at most
 * `perMinute` messages a minute per channel (企业微信's robots take 20); calls below red due on
 * one channel for one address at once go as one digest (a storm of warnings is one message, not
 * 500); red is sent on its own and first.
 */
export interface OutboxEntry {
  readonly call: Call
  /** The message, the warning: kept while the call is to be sent, dropped once it is settled. */
  text?: string
  subject?: string
  alert?: unknown
  readonly queuedAt: number
  attempts: number
  nextAt: number
  status: 'pending' | 'delivered' | 'failed'
  lastError?: string
  deliveredAt?: number
  /** The cluster node that delivered it, when another node did (cluster mode: the mine's owner before a takeover). */
  deliveredBy?: string
  /** Each step of the call as the file has it (queued, each failed attempt, delivered or given up): the warning's record shows them. */
  readonly trace: CallStep[]
}

export interface CallStep {
  readonly t: 'queued' | 'attempt' | 'delivered' | 'failed'
  readonly at: number
  readonly error?: string
  /** Delivered by another cluster node. */
  readonly by?: string
}

/**
 * The calls delivered by any node of a cluster (infra/cluster/calls.ts): a node taking a mine over
 * decides the same calls (a call's id is the same whoever decides it) and sends none another node
 * delivered. A call whose answer does not come is sent (at least once).
 */
export interface SharedCalls {
  /** Of these calls, those some node delivered: by whom and when. */
  delivered(ids: readonly string[]): Promise<Map<string, { by: string; at: number }>>
  markDelivered(ids: readonly string[], at: number): Promise<void>
  /** Keeps these calls' records (without their messages) for every node's view of a warning's calls. */
  keep(entries: readonly OutboxEntry[]): Promise<void>
  /** A warning's calls as the nodes recorded them. */
  recordsOf(alertId: string): Promise<OutboxEntry[]>
}

type Line =
  | { t: 'queued'; at: number; call: Call; text: string; subject: string; alert: unknown }
  /** A call whole, as compaction writes it. */
  | { t: 'call'; entry: OutboxEntry }
  | { t: 'attempt'; at: number; id: string; error: string }
  | { t: 'delivered'; at: number; id: string; by?: string }
  | { t: 'failed'; at: number; id: string; error: string }

const MAX_TRIES = 12
const FIRST_BACKOFF_MS = 10_000
const MAX_BACKOFF_MS = 10 * 60_000
/** More calls than this due at once on one channel for one address become one digest. */
const DIGEST_OVER = 3
/** Settled calls are kept this long (the monthly reports of the last year and more count them), then dropped at a compaction. */
export const RETAIN_MS = 400 * 86_400_000
/** Lines beyond one per call that a start tolerates before it compacts the file. */
const COMPACT_SLACK = 1000

export class Outbox {
  private readonly entries = new Map<string, OutboxEntry>()
  /** alertId → its calls, in the order queued; the calls still to send: neither needs a scan of every call ever made. */
  private readonly byAlert = new Map<string, OutboxEntry[]>()
  private readonly waiting = new Set<OutboxEntry>()
  private readonly sentAt = new Map<string, number[]>()
  private inFlight = false
  private writing: Promise<void> = Promise.resolve()

  /** The file, opened for appending once it has been read back (and compacted). */
  private handle!: FileHandle

  private constructor(
    private readonly channels: ReadonlyMap<string, Send>,
    private readonly deps: {
      readonly now: () => number
      readonly log: Log
      /** Messages a minute a channel takes. */
      readonly perMinute: (channel: string) => number
      /** The message as sent: the stored text with its call's one-time link filled in (sign-links.ts). */
      readonly render?: (text: string, callId: string) => string
      /** Cluster mode: the calls delivered by any node. */
      readonly shared?: SharedCalls
    },
  ) {}

  static async open(file: string, channels: ReadonlyMap<string, Send>, deps: Outbox['deps']): Promise<Outbox> {
    mkdirSync(dirname(file), { recursive: true })
    const box = new Outbox(channels, deps)
    const { lines, tornEnd } = await box.readBack(file)
    // a compacted file has one line per call: rewritten when the attempts' lines have piled up or old calls have expired
    const expired = [...box.entries.values()].filter((e) => e.status !== 'pending' && e.queuedAt < deps.now() - RETAIN_MS)
    const compact = lines > box.entries.size + COMPACT_SLACK || expired.length > 0
    if (compact) {
      for (const e of expired) box.forget(e)
      await writeFileAtomic(file, [...box.entries.values()].map((e) => `${JSON.stringify({ t: 'call', entry: e } satisfies Line)}\n`).join(''))
      deps.log.info({ calls: box.entries.size, lines, expired: expired.length }, '通知发件箱已压缩 (the notification outbox was compacted)')
    }
    box.handle = await open(file, 'a')
    // a torn last line is ended, so that the next line starts on its own (a compacted file has none)
    if (tornEnd && !compact) await box.handle.appendFile('\n')
    return box
  }

  /** The file read back line by line (a year of calls is tens of megabytes: never one string). */
  private async readBack(file: string): Promise<{ lines: number; tornEnd: boolean }> {
    let lines = 0
    let last = ''
    try {
      const input = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity })
      for await (const raw of input) {
        last = raw
        if (!raw) continue
        lines++
        let line: Line
        try {
          line = JSON.parse(raw) as Line
        } catch {
          continue // a line a crash cut short: its call was not confirmed queued, and is decided again
        }
        this.replay(line)
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      return { lines: 0, tornEnd: false }
    }
    // readline does not say whether the last line ended: the file's last byte does
    const size = (await stat(file)).size
    let tornEnd = false
    if (size > 0 && last !== '') {
      const h = await open(file, 'r')
      const b = Buffer.alloc(1)
      await h.read(b, 0, 1, size - 1)
      await h.close()
      tornEnd = b[0] !== 0x0a
    }
    return { lines, tornEnd }
  }

  private keep(entry: OutboxEntry): void {
    this.entries.set(entry.call.id, entry)
    const calls = this.byAlert.get(entry.call.alertId)
    if (calls) calls.push(entry)
    else this.byAlert.set(entry.call.alertId, [entry])
    if (entry.status === 'pending') this.waiting.add(entry)
  }

  private forget(entry: OutboxEntry): void {
    this.entries.delete(entry.call.id)
    const calls = this.byAlert.get(entry.call.alertId)?.filter((e) => e !== entry) ?? []
    if (calls.length > 0) this.byAlert.set(entry.call.alertId, calls)
    else this.byAlert.delete(entry.call.alertId)
    this.waiting.delete(entry)
  }

  /** A settled call keeps what its record shows, not the message it carried. */
  private settled(e: OutboxEntry): void {
    this.waiting.delete(e)
    delete e.text
    delete e.subject
    delete e.alert
  }

  private replay(line: Line): void {
    if (line.t === 'call') {
      this.keep(line.entry)
      return
    }
    if (line.t === 'queued') {
      this.keep({
        call: line.call,
        text: line.text,
        subject: line.subject,
        alert: line.alert,
        queuedAt: line.at,
        attempts: 0,
        nextAt: line.at,
        status: 'pending',
        trace: [{ t: 'queued', at: line.at }],
      })
      return
    }
    const e = this.entries.get(line.id)
    if (!e) return
    e.trace.push(line.t === 'delivered' ? { t: line.t, at: line.at, ...(line.by ? { by: line.by } : {}) } : { t: line.t, at: line.at, error: line.error })
    if (line.t === 'attempt') {
      e.attempts++
      e.lastError = line.error
      e.nextAt = line.at + backoff(e.attempts)
    } else if (line.t === 'delivered') {
      e.attempts++
      e.status = 'delivered'
      e.deliveredAt = line.at
      if (line.by) e.deliveredBy = line.by
      this.settled(e)
    } else {
      e.status = 'failed'
      e.lastError = line.error
      this.settled(e)
    }
  }

  /** Queues the calls not queued before; resolves once they are on disk. The new ones. */
  async queue(calls: readonly { call: Call; text: string; subject: string; alert: unknown }[]): Promise<Call[]> {
    const now = this.deps.now()
    const fresh = calls.filter((c) => !this.entries.has(c.call.id))
    if (fresh.length === 0) return []
    const lines: Line[] = fresh.map((c) => ({ t: 'queued', at: now, ...c }))
    for (const l of lines) this.replay(l)
    await this.append(lines)
    this.share(fresh.map((c) => c.call.id))
    return fresh.map((c) => c.call)
  }

  /** Every call's id. */
  ids(): string[] {
    return [...this.entries.keys()]
  }

  /** One call, by its id. */
  entry(callId: string): OutboxEntry | undefined {
    return this.entries.get(callId)
  }

  /** Everything the outbox knows of a warning's calls, oldest first (the warning's history). */
  of(alertId: string): OutboxEntry[] {
    return [...(this.byAlert.get(alertId) ?? [])]
  }

  get pending(): number {
    return this.waiting.size
  }

  /** Sends what is due; one pass at a time. */
  async pump(): Promise<void> {
    if (this.inFlight) return
    this.inFlight = true
    try {
      const now = this.deps.now()
      let due = [...this.waiting].filter((e) => e.nextAt <= now)
      if (this.deps.shared && due.length > 0) due = await this.notDeliveredElsewhere(due, this.deps.shared)
      // red first, each on its own; the rest by channel and address, a digest when many
      const groups = new Map<string, OutboxEntry[]>()
      for (const e of due.sort((a, b) => Number(b.call.level === 'red') - Number(a.call.level === 'red') || a.queuedAt - b.queuedAt)) {
        const key = e.call.level === 'red' ? e.call.id : `${e.call.channel}\u0000${e.call.to ?? ''}`
        groups.set(key, [...(groups.get(key) ?? []), e])
      }
      await Promise.all(
        [...groups.values()].map(async (group) => {
          if (group.length > DIGEST_OVER) await this.deliver(group, now)
          else for (const e of group) await this.deliver([e], now)
        }),
      )
    } finally {
      this.inFlight = false
    }
  }

  /** The due calls no other node delivered; those it did are recorded so, and not sent again. */
  private async notDeliveredElsewhere(due: OutboxEntry[], shared: SharedCalls): Promise<OutboxEntry[]> {
    let elsewhere: Map<string, { by: string; at: number }>
    try {
      elsewhere = await shared.delivered(due.map((e) => e.call.id))
    } catch (err) {
      // not knowing, a call is sent: twice is better than never
      this.deps.log.warn({ err: (err as Error).message }, '叫应: 无法查询其他节点是否已送达, 照常发送 (cannot ask whether another node delivered these calls; sending them)')
      return due
    }
    if (elsewhere.size === 0) return due
    const lines: Line[] = [...elsewhere].map(([id, d]) => ({ t: 'delivered', at: d.at, id, by: d.by }))
    for (const l of lines) this.replay(l)
    await this.append(lines)
    this.share([...elsewhere.keys()])
    return due.filter((e) => !elsewhere.has(e.call.id))
  }

  /** One message: a call, or a digest of several for one channel and address. */
  private async deliver(group: OutboxEntry[], now: number): Promise<void> {
    const first = group[0]!
    const send = this.channels.get(first.call.channel)
    if (!send) {
      await this.settle(group, { t: 'failed', error: `no channel "${first.call.channel}"` }, now)
      return
    }
    // the channel's rate: what is over it waits for the next minute (and joins a digest there)
    const recent = (this.sentAt.get(first.call.channel) ?? []).filter((t) => t > now - 60_000)
    if (first.call.level !== 'red' && recent.length >= this.deps.perMinute(first.call.channel)) {
      for (const e of group) e.nextAt = recent[0]! + 60_000
      return
    }
    this.sentAt.set(first.call.channel, [...recent, now])
    const render = (e: OutboxEntry) => (this.deps.render ? this.deps.render(e.text ?? '', e.call.id) : (e.text ?? ''))
    const message: Outgoing =
      group.length === 1
        ? { id: first.call.id, text: render(first), subject: first.subject ?? '', to: first.call.to, alert: first.alert }
        : {
            id: `digest:${first.call.id}`,
            to: first.call.to,
            subject: `${group.length} 条预警待签收`,
            text: `${group.length} 条预警尚未签收:\n${group
              .slice(0, 20)
              .map((e) => `· ${render(e)}`)
              .join('\n')}${group.length > 20 ? `\n…及其余 ${group.length - 20} 条` : ''}`,
            alert: group.map((e) => e.alert),
          }
    try {
      await send(message)
      const at = this.deps.now()
      await this.settle(group, { t: 'delivered' }, at)
      await this.deps.shared
        ?.markDelivered(
          group.map((e) => e.call.id),
          at,
        )
        .catch((err: Error) =>
          this.deps.log.warn({ err: err.message }, '叫应: 送达未能告知其他节点; 接管本矿的节点可能再发一次 (a delivery could not be shared; a node taking the mine over may send it again)'),
        )
    } catch (err) {
      const error = (err as Error).message.slice(0, 300)
      const giveUp = first.attempts + 1 >= MAX_TRIES
      this.deps.log.warn(
        { channel: first.call.channel, call: first.call.id, attempts: first.attempts + 1, err: error },
        giveUp ? '通知发送失败, 已放弃 (a call could not be delivered; given up)' : '通知发送失败, 稍后重试 (a call failed; retrying)',
      )
      await this.settle(group, giveUp ? { t: 'failed', error } : { t: 'attempt', error }, this.deps.now())
    }
  }

  private async settle(group: OutboxEntry[], outcome: { t: 'delivered' } | { t: 'attempt' | 'failed'; error: string }, at: number): Promise<void> {
    const lines = group.map((e) => ({ ...outcome, at, id: e.call.id }) as Line)
    for (const l of lines) this.replay(l)
    await this.append(lines)
    this.share(group.map((e) => e.call.id))
  }

  /** Cluster mode: the calls' records as they now stand, for the other nodes (best effort: each node's file is the record). */
  private share(ids: readonly string[]): void {
    const shared = this.deps.shared
    if (!shared) return
    const entries = ids.flatMap((id) => this.entries.get(id) ?? []).map(({ text: _t, subject: _s, alert: _a, ...rest }) => rest)
    shared.keep(entries).catch((err: Error) => this.deps.log.warn({ err: err.message }, '叫应: 通知记录未能写入 Redis, 其他节点暂看不到 (the calls’ records could not be shared)'))
  }

  private append(lines: readonly Line[]): Promise<void> {
    const text = lines.map((l) => `${JSON.stringify(l)}\n`).join('')
    // one write at a time, in order; a failed one fails its caller, not the writes after it
    const done = this.writing
      .catch(() => undefined)
      .then(async () => {
        await this.handle.appendFile(text)
        await this.handle.datasync()
      })
    this.writing = done
    return done
  }

  async close(): Promise<void> {
    await this.writing.catch(() => undefined)
    await this.handle.close()
  }
}

function backoff(attempts: number): number {
  return Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.max(0, attempts - 1))
}
