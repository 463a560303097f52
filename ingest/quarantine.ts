import { createWriteStream, mkdirSync, readdirSync, statSync, type WriteStream } from 'node:fs'
import { join } from 'node:path'
import type { Problem } from './refusals.js'

/**
 * Quarantine: refused messages are kept, not thrown away, so an integrator can see exactly what
 * a device sent (README, "Durability: the journal"). One JSON line per message in <dir>/<UTC date>.jsonl; the raw payload is
 * kept in base64 up to the payload limit. A daily cap bounds the disk a misbehaving (or hostile)
 * device can take; past it messages are still counted and logged, not kept.
 */
export interface QuarantineRecord {
  readonly receivedAt: string
  readonly topic: string
  readonly clientId: string
  readonly principal: string | null
  readonly mineId: string | null
  readonly deviceId: string | null
  /** The first problem's code; the first problems are in `problems`, every one is counted in `counts`. */
  readonly code: string
  readonly message: string
  readonly problems: readonly Problem[]
  readonly counts?: Readonly<Record<string, number>>
  readonly bytes: number
  readonly truncated: boolean
  readonly payload: string
}

export interface QuarantineInput {
  readonly receivedAt: number
  readonly topic: string
  readonly clientId: string
  readonly principal: string | null
  readonly mineId: string | null
  readonly deviceId: string | null
  readonly problems: readonly Problem[]
  /** Every problem of the message by code, when `problems` lists only the first. */
  readonly counts?: Readonly<Record<string, number>>
  readonly payload: Buffer
}

export class Quarantine {
  private stream: WriteStream | undefined
  private day = ''
  private dayBytes = 0

  constructor(
    private readonly dir: string,
    private readonly opts: { readonly maxPayloadBytes: number; readonly maxBytesPerDay: number },
    private readonly onError: (err: Error) => void,
  ) {
    mkdirSync(dir, { recursive: true })
  }

  /** Appends the message; returns false when the daily cap kept it out. Never throws on bad input. */
  keep(input: QuarantineInput): boolean {
    const first = input.problems[0]
    const kept = input.payload.subarray(0, this.opts.maxPayloadBytes)
    const record: QuarantineRecord = {
      receivedAt: new Date(input.receivedAt).toISOString(),
      topic: input.topic,
      clientId: input.clientId,
      principal: input.principal,
      mineId: input.mineId,
      deviceId: input.deviceId,
      code: first?.code ?? 'UNKNOWN',
      message: first?.message ?? '',
      problems: input.problems,
      ...(input.counts ? { counts: input.counts } : {}),
      bytes: input.payload.length,
      truncated: kept.length < input.payload.length,
      payload: kept.toString('base64'),
    }
    const line = JSON.stringify(record) + '\n'
    const stream = this.streamFor(record.receivedAt.slice(0, 10))
    if (this.dayBytes + line.length > this.opts.maxBytesPerDay) return false
    this.dayBytes += line.length
    stream.write(line)
    return true
  }

  /** Day files, newest first: what the admin list reads. */
  files(): string[] {
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.jsonl'))
      .sort()
      .reverse()
      .map((f) => join(this.dir, f))
  }

  async close(): Promise<void> {
    const s = this.stream
    this.stream = undefined
    if (s) await new Promise<void>((resolve) => s.end(resolve))
  }

  private streamFor(day: string): WriteStream {
    if (this.stream && day === this.day) return this.stream
    this.stream?.end()
    const file = join(this.dir, `${day}.jsonl`)
    this.day = day
    try {
      this.dayBytes = statSync(file).size
    } catch {
      this.dayBytes = 0
    }
    this.stream = createWriteStream(file, { flags: 'a' })
    // a full disk must not take the pipeline down with it: report, keep counting
    this.stream.on('error', this.onError)
    return this.stream
  }
}
