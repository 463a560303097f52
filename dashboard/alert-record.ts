import type { AlertEvent } from '../alerting/book/alert.js'
import { LEVEL_NAME, rank } from '../alerting/rules/levels.js'
import { isoInZone } from '../ingest/zone-time.js'

/**
 * 处置记录: a warning's whole record as one timeline, oldest first (issue 15 item 4: each call's
 * attempt, delivery and failure is an event in the warning's history). Two durable sources make it:
 * the book's events (raised, level, normal, 签收, 指派, 处置完成, 超期; the alert store, never edited)
 * and the calls' steps (the notification outbox, fsynced before each send). They are kept apart
 * because the book's events each carry the warning as it stands, and the book is rebuilt from the
 * last of them; a call changes nothing of the warning (only 签收 does, and that is a book event).
 */
export interface CallTrace {
  readonly id: string
  readonly contactName: string
  readonly channel: string
  readonly step: number
  readonly round: number
  readonly trace: readonly { readonly t: 'queued' | 'attempt' | 'delivered' | 'failed'; readonly at: number; readonly error?: string }[]
}

export interface RecordEntry {
  readonly at: number
  /** In the mine's time zone, ISO 8601 with its offset. */
  readonly time: string
  /** The book's event type, or `call.queued`, `call.attempt`, `call.delivered`, `call.failed`. */
  readonly type: string
  /** Who did it: a person's name, 系统 for the rules and the clock. */
  readonly who: string
  readonly text: string
  /** The call a `call.*` entry is about. */
  readonly callId?: string
}

const SYSTEM = '系统'

export function alertRecord(events: readonly AlertEvent[], calls: readonly CallTrace[], timeZone: string, nameOf: (actor: string) => string | undefined): RecordEntry[] {
  const who = (actor: string) => (actor === 'system' ? SYSTEM : (nameOf(actor) ?? actor))
  const entries: RecordEntry[] = []
  const add = (at: number, type: string, actor: string, text: string, callId?: string) =>
    entries.push({ at, time: isoInZone(at, timeZone), type, who: actor, text, ...(callId !== undefined ? { callId } : {}) })
  for (const e of events) {
    const a = e.alert
    if (e.type === 'raised') add(e.at, e.type, SYSTEM, `发布${LEVEL_NAME[a.level]}预警: ${a.message}`)
    else if (e.type === 'level') {
      const up = rank(e.to ?? null) > rank(e.from ?? null)
      add(e.at, e.type, SYSTEM, `${up ? '升级' : '降级'}为${LEVEL_NAME[a.level]}预警: ${a.message}`)
    } else if (e.type === 'normal') add(e.at, e.type, SYSTEM, '信号已恢复正常 (预警仍待处置)')
    else if (e.type === 'acknowledged') add(e.at, e.type, who(e.actor), `${who(e.actor)} 签收`)
    else if (e.type === 'assigned') add(e.at, e.type, who(e.actor), `${who(e.actor)} 指派给 ${a.assigned?.to ?? ''}`)
    else if (e.type === 'resolved') add(e.at, e.type, who(e.actor), `${who(e.actor)} 处置完成: ${a.resolved?.note ?? ''}`)
    else add(e.at, e.type, SYSTEM, '当天未处置, 已超期')
  }
  for (const c of calls) {
    const where = `${c.contactName} (${c.channel}, 第 ${c.step + 1} 步${c.round > 0 ? `第 ${c.round + 1} 轮` : ''})`
    let tries = 0
    for (const s of c.trace) {
      if (s.t === 'queued') add(s.at, 'call.queued', SYSTEM, `叫应: 通知 ${where}`, c.id)
      else if (s.t === 'delivered') add(s.at, 'call.delivered', SYSTEM, `通知已送达 ${c.contactName} (${c.channel})`, c.id)
      else if (s.t === 'attempt') add(s.at, 'call.attempt', SYSTEM, `通知 ${c.contactName} 第 ${++tries} 次发送失败, 稍后重试: ${s.error ?? ''}`, c.id)
      else add(s.at, 'call.failed', SYSTEM, `通知 ${c.contactName} 发送失败, 已放弃: ${s.error ?? ''}`, c.id)
    }
  }
  // a stable order: by time; at the same instant the book's event before the calls it caused
  return entries
    .map((e, i) => [e, i] as const)
    .sort((x, y) => x[0].at - y[0].at || x[1] - y[1])
    .map(([e]) => e)
}
