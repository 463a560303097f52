import { join } from 'node:path'
import type { Alert } from '../../alerting/book/alert.js'
import { callsDue, callText, localTime, type NotifyConfig } from '../../alerting/notify/policy.js'
import type { Log } from '../../ingest/log.js'
import { isoInZone, offsetMinutes } from '../../ingest/zone-time.js'
import { makeChannel, type Send } from './channels.js'
import { Outbox, type OutboxEntry, type SharedCalls } from './outbox.js'
import { SignLinks, type SharedLinks } from './sign-links.js'

/**
 * 叫应 as a running part (issue 15): every turn of the clock and at every warning event, the open
 * warnings' calls due (alerting/notify/policy.ts) go into the outbox, which sends them. A warning
 * signed for calls nobody more; the calls already sent stay in its history (`of`).
 */
export interface NotifierDeps {
  readonly dataDir: string
  readonly alerts: () => readonly Alert[]
  readonly mineName: (mineId: string) => string
  readonly timeZoneOf: (mineId: string) => string
  readonly now: () => number
  readonly log: Log
  readonly tickMs?: number
  /** Calls a minute per channel (企业微信's robots take 20). */
  readonly perMinute?: number
  /** Every warning the book holds (a link opened after its warning was resolved says so). */
  readonly allAlerts?: () => readonly Alert[]
  /** Cluster mode: the calls delivered by any node (infra/cluster/calls.ts). */
  readonly shared?: SharedCalls
  /** Cluster mode: the calls' one-time links, good on any node (infra/cluster/calls.ts). */
  readonly sharedLinks?: SharedLinks
}

/** What a one-time link opens (the page at /s/<token>). */
export type LinkAnswer = { ok: true; signed: boolean; who: string; alert: LinkAlert } | { ok: false; reason: 'unknown' | 'gone' | 'used' | 'signed'; who?: string; alert?: LinkAlert }
export interface LinkAlert {
  readonly who: string
  readonly mineId: string
  readonly mineName: string
  readonly level: string
  readonly message: string
  readonly raisedTime: string
  readonly state: string
}

/** Where the link's token goes in a stored message. */
const TOKEN = '{{token}}'

export class Notifier {
  private timer: NodeJS.Timeout | undefined
  private turning: Promise<void> | undefined

  private constructor(
    private config: NotifyConfig,
    private readonly outbox: Outbox,
    private readonly channels: Map<string, Send>,
    private readonly links: SignLinks,
    private readonly deps: NotifierDeps,
  ) {}

  static async start(config: NotifyConfig, deps: NotifierDeps): Promise<Notifier> {
    const channels = new Map<string, Send>()
    const links = await SignLinks.open(join(deps.dataDir, 'notify'), deps.sharedLinks)
    // the stored message has a placeholder; the link's token is made as it is sent
    const render = (text: string, callId: string) => text.replaceAll(TOKEN, links.token(callId))
    const outbox = await Outbox.open(join(deps.dataDir, 'notify', 'outbox.jsonl'), channels, {
      now: deps.now,
      log: deps.log,
      perMinute: (channel) => notifier.config.channels.find((c) => c.id === channel)?.perMinute ?? deps.perMinute ?? 20,
      render,
      ...(deps.shared ? { shared: deps.shared } : {}),
    })
    links.index(outbox.ids())
    const notifier = new Notifier(config, outbox, channels, links, deps)
    notifier.configure(config)
    notifier.timer = setInterval(() => void notifier.turn(), deps.tickMs ?? 5000)
    notifier.timer.unref()
    return notifier
  }

  /** The site's channels, people and policies from now on; a channel whose secret cannot be read is logged and left out. */
  configure(config: NotifyConfig): void {
    this.config = config
    this.channels.clear()
    for (const c of config.channels) {
      try {
        this.channels.set(c.id, makeChannel(c, this.deps.now, process.env, this.deps.log))
      } catch (err) {
        this.deps.log.error({ channel: c.id, err: (err as Error).message }, '通知渠道不可用 (a notification channel cannot be used: its secret could not be read)')
      }
    }
  }

  /** Queues the calls due and sends what is due; resolves when this turn is done (tests wait on it). */
  turn(): Promise<void> {
    return (this.turning ??= this.decide()
      .then(() => this.outbox.pump())
      .catch((err: Error) => this.deps.log.error({ err: err.message }, 'notification turn failed; retried on the next'))
      .finally(() => (this.turning = undefined)))
  }

  private async decide(): Promise<void> {
    if (this.config.policies.length === 0) return
    const now = this.deps.now()
    const calls = []
    for (const alert of this.deps.alerts()) {
      const tz = this.deps.timeZoneOf(alert.mineId)
      // the rosters' dates and times of day are the mine's
      for (const call of callsDue(alert, this.config, now, localTime(now, offsetMinutes(now, tz)))) {
        // the one-time link: the person signs from the message, without logging in
        const link = this.config.publicUrl ? `${this.config.publicUrl.replace(/\/$/, '')}/s/${TOKEN}` : undefined
        const text = callText(alert, this.deps.mineName(alert.mineId), isoInZone(alert.raisedAt, tz).slice(0, 16).replace('T', ' '), link)
        calls.push({
          call,
          text,
          subject: text.slice(0, 60),
          alert: { id: alert.id, mineId: alert.mineId, level: alert.level, subject: alert.subject, message: alert.message, raisedAt: alert.raisedAt },
        })
      }
    }
    const fresh = await this.outbox.queue(calls)
    this.links.index(fresh.map((c) => c.id))
    // cluster mode: the links open on any node (before the calls go out)
    await this.deps.sharedLinks
      ?.remember(fresh.map((c) => ({ token: this.links.token(c.id), call: c.id, alertId: c.alertId, contact: c.contact })))
      .catch((err: Error) => this.deps.log.warn({ err: err.message }, '叫应: 通知链接未能登记到 Redis, 只在本节点有效 (the calls’ links could not be shared; they open on this node only)'))
    if (fresh.length > 0) this.deps.log.info({ calls: fresh.length }, '叫应: 已排入通知 (calls queued)')
  }

  /** A warning's calls as this node's outbox has them: to whom, on which channel, and what became of each. */
  of(alertId: string) {
    return this.outbox.of(alertId).map((e) => this.view(e, this.links.usedAt(e.call.id)))
  }

  /**
   * A warning's calls as the cluster has them (cluster mode: every node's outbox records its
   * calls in Redis; a call this node has too is shown as this node has it); on one node, `of`.
   */
  async record(alertId: string) {
    const shared = this.deps.shared
    if (!shared) return this.of(alertId)
    const local = this.outbox.of(alertId)
    const mine = new Set(local.map((e) => e.call.id))
    const others = (await shared.recordsOf(alertId).catch(() => [])).filter((e) => !mine.has(e.call.id))
    const entries = [...local, ...others].sort((a, b) => a.queuedAt - b.queuedAt)
    const used = await Promise.all(entries.map(async (e) => this.links.usedAt(e.call.id) ?? (await this.deps.sharedLinks?.usedAt(e.call.id).catch(() => undefined))))
    return entries.map((e, i) => this.view(e, used[i]))
  }

  private view(e: OutboxEntry, answeredAt: number | undefined) {
    return {
      id: e.call.id,
      contact: e.call.contact,
      contactName: this.config.contacts.find((c) => c.id === e.call.contact)?.name ?? e.call.contact,
      channel: e.call.channel,
      level: e.call.level,
      step: e.call.step,
      round: e.call.round,
      queuedAt: e.queuedAt,
      status: e.status,
      attempts: e.attempts,
      deliveredAt: e.deliveredAt ?? null,
      deliveredBy: e.deliveredBy ?? null,
      lastError: e.lastError ?? null,
      answered: answeredAt !== undefined,
      answeredAt: answeredAt ?? null,
      trace: e.trace,
    }
  }

  get pending(): number {
    return this.outbox.pending
  }

  /**
   * A test message to one person on each of their channels, sent now and outside the outbox (a
   * test is not a call: it is not retried, not counted, and signs nothing): whether each channel
   * took it, with the vendor's answer when not. For wiring a robot or a gateway before a warning needs it.
   */
  async test(contactId: string, by: string): Promise<{ ok: true; results: { channel: string; to: string | null; ok: boolean; error?: string }[] } | { ok: false; errors: string[] }> {
    const contact = this.config.contacts.find((c) => c.id === contactId)
    if (!contact) return { ok: false, errors: [`叫应设置中没有联系人 "${contactId}" (no such contact)`] }
    // a person is not of one mine: the time in the zone of the first mine a policy names, else the platform's default
    const at = isoInZone(this.deps.now(), this.deps.timeZoneOf(this.config.policies.flatMap((p) => p.mines)[0] ?? '')).slice(0, 16)
    const text = `【测试】minewatch 叫应测试消息, 发给 ${contact.name}, 由 ${by} 于 ${at.replace('T', ' ')} 发出。收到即说明本渠道可用, 无需处理。`
    const results = await Promise.all(
      contact.via.map(async (v) => {
        const send = this.channels.get(v.channel)
        if (!send) return { channel: v.channel, to: v.to ?? null, ok: false, error: '渠道不可用: 其密钥未能读取, 见平台日志 (the channel could not be made; see the log)' }
        try {
          await send({ id: `test:${contactId}:${v.channel}:${this.deps.now()}`, text, subject: '【测试】minewatch 叫应测试消息', to: v.to, alert: null })
          return { channel: v.channel, to: v.to ?? null, ok: true }
        } catch (err) {
          return { channel: v.channel, to: v.to ?? null, ok: false, error: (err as Error).message.slice(0, 300) }
        }
      }),
    )
    this.deps.log.info({ contact: contactId, by, results: results.map((r) => `${r.channel}:${r.ok ? 'ok' : 'failed'}`) }, '叫应测试消息已发送 (a test message was sent)')
    return { ok: true, results }
  }

  /** A contact's name, for `contact:<id>` actors (a person who signed from a call's link). */
  contactName(id: string): string | undefined {
    return this.config.contacts.find((c) => c.id === id)?.name
  }

  /**
   * What a call's one-time link opens: the warning and the person, or why it cannot be used.
   * `sign`: 签收 as that person (actor `contact:<id>`), once; the answer only once the use and the
   * acknowledgement are durable.
   */
  async byLink(token: string, sign?: (alertId: string, actor: string) => Promise<{ ok: boolean }>): Promise<LinkAnswer> {
    const found = await this.callByToken(token)
    if (!found) return { ok: false, reason: 'unknown' }
    const { callId, alertId, contact } = found
    const alert = this.deps.alerts().find((a) => a.id === alertId) ?? this.deps.allAlerts?.().find((a) => a.id === alertId)
    const who = this.contactName(contact) ?? contact
    if (!alert) return { ok: false, reason: 'gone', who }
    const tz = this.deps.timeZoneOf(alert.mineId)
    const view = { who, mineName: this.deps.mineName(alert.mineId), level: alert.level, message: alert.message, raisedTime: isoInZone(alert.raisedAt, tz), state: alert.state, mineId: alert.mineId }
    if (this.links.isUsed(callId) || (await this.usedElsewhere(callId))) return { ok: false, reason: 'used', who, alert: view }
    if (alert.state !== 'open') return { ok: false, reason: 'signed', who, alert: view }
    if (!sign) return { ok: true, signed: false, who, alert: view }
    const done = await sign(alert.id, `contact:${contact}`)
    if (!done.ok) return { ok: false, reason: 'signed', who, alert: view }
    const at = this.deps.now()
    await this.links.use(callId, at)
    await this.deps.sharedLinks?.use(callId, at).catch((err: Error) => this.deps.log.warn({ err: err.message }, '叫应: 链接的使用未能登记到 Redis (a link’s use could not be shared)'))
    this.deps.log.info({ alert: alert.id, contact }, '叫应: 已通过通知链接签收 (signed from a call’s link)')
    return { ok: true, signed: true, who, alert: { ...view, state: 'acknowledged' } }
  }

  /** The call a link's token names: one of this node's, or (cluster mode) one another node made. */
  private async callByToken(token: string): Promise<{ callId: string; alertId: string; contact: string } | undefined> {
    const local = this.links.callOf(token)
    const entry = local ? this.outbox.entry(local) : undefined
    if (entry) return { callId: entry.call.id, alertId: entry.call.alertId, contact: entry.call.contact }
    const shared = await this.deps.sharedLinks?.lookup(token).catch(() => undefined)
    return shared && this.links.verifies(token, shared.call) ? { callId: shared.call, alertId: shared.alertId, contact: shared.contact } : undefined
  }

  private async usedElsewhere(callId: string): Promise<boolean> {
    return (await this.deps.sharedLinks?.usedAt(callId).catch(() => undefined)) !== undefined
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.turning
    await this.outbox.close()
    await this.links.close()
  }
}
