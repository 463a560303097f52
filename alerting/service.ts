import type { Journal } from '../ingest/journal/journal.js'
import type { Log } from '../ingest/log.js'
import type { Reading } from '../ingest/reading.js'
import { StoreWriter, type PayloadSink, type WriterMetrics } from '../ingest/writer.js'
import type { Alert, AlertEvent } from './book/alert.js'
import { AlertBook, RESOLVED_KEPT_MS, type BookResult } from './book/book.js'
import type { AlertBus } from './bus.js'
import { Booking, type EngineDevice, type EngineItem, type RuleStates } from './engine.js'
import { RuleFeed } from './rule-feed.js'
import { RuleThread } from './rule-thread.js'
import type { Judged } from './runner.js'
import type { AlertEventStore } from './store.js'
import { judgeLink, type LinkLimits, type LinkObservation, type LinkPhase } from './links.js'
import { LinkHold } from './link-hold.js'

/**
 * Alerting as a running part: readings in from the readings journal's commits, the engine and
 * the book in memory, every alert event appended to its own journal (so none is lost while the
 * store is down) and drained into the store, published on the bus and to the mine's MQTT alerts
 * topic. Rule state and the book are snapshotted now and then and at stop; at start the book is
 * the snapshot's plus the alert journal after it, so it does not depend on the store being up
 * (without a snapshot, from an older version, it is read from the store and the journal).
 */
export interface AlertingDeps {
  readonly devices: readonly EngineDevice[]
  readonly items: readonly EngineItem[]
  readonly store: AlertEventStore
  readonly journal: Journal<AlertEvent>
  readonly bus: AlertBus
  /** Publishes to MQTT (QoS 1): `mines/{mineId}/alerts`. */
  readonly publish: (event: AlertEvent) => void
  /** Where the rules' state is saved, with the position in the readings journal it covers. */
  readonly snapshots: { save(snapshot: RuleSnapshot): Promise<void> }
  /** The snapshot found at start (read before the readings journal opened, so that it keeps what follows). */
  readonly snapshot: RuleSnapshot | undefined
  /** The readings journal: replayed from the snapshot's position at start, told what the snapshot covers. */
  readonly readings: Pick<Journal<Reading>, 'head' | 'start' | 'read' | 'readPayloads' | 'retain' | 'onCommit'>
  readonly now: () => number
  readonly log: Log
  readonly newId: () => string
  readonly tickMs: number
  readonly snapshotMs: number
  readonly writerMetrics: WriterMetrics
  /** Where the events are written, when not through `store` on this thread: the store thread. */
  readonly eventSink?: PayloadSink
  /** The mine platforms' links to this one (a regulator's, 联网), judged on each turn of the clock (alerting/links.ts). */
  readonly links?: () => readonly LinkInput[]
  /** Where the link stands that carries this device (undefined: none): its silence is held while the link is down (alerting/link-hold.ts). */
  readonly linkPhase?: (deviceId: string, now: number) => LinkPhase | undefined
  /** The rule thread died: the platform cannot judge readings any more (main.ts exits, to be restarted from the snapshot). */
  readonly onFatal?: (err: Error) => void
}

/**
 * What the platform asks of alerting: one node's (Alerting, below) or a cluster node's, whose mines'
 * rules and book follow the leases (infra/cluster/rules.ts).
 */
export interface AlertingPort {
  readonly book: Pick<AlertBook, 'unresolved' | 'all' | 'get'>
  acknowledge(id: string, actor: string): Promise<BookResult>
  assign(id: string, actor: string, to: string): Promise<BookResult>
  resolve(id: string, actor: string, note: string): Promise<BookResult>
  history(alertId: string): Promise<AlertEvent[]>
  judged(deviceIds: readonly string[]): Promise<Record<string, Record<string, Judged>>>
  ruleState(deviceId: string, ruleId: string): Promise<unknown>
  lag(): { readings: number; oldestMs: number }
  configure(devices: readonly EngineDevice[], items: readonly EngineItem[]): Promise<void>
  resetRules(deviceIds: Iterable<string>): Promise<void>
  /** A turn of the clock; resolves once what was committed before it is judged and booked. */
  tick(): Promise<void>
  /** Whether this node raises and books the mine's warnings (always, on one node). */
  owns(mineId: string): boolean
  stop(): Promise<void>
}

/** A mine platform's link as seen here, for one of its mines: the warning's subject is the link. */
export interface LinkInput {
  /** The subject's id: the account and the mine (one account may carry several mines). */
  readonly id: string
  readonly name: string
  readonly mineId: string
  readonly timeZone: string
  readonly observation: LinkObservation
  readonly limits: LinkLimits
}

/** The alert journal drained into the store (or the store thread), on one node and on a cluster's. */
export function alertEventWriter(deps: Pick<AlertingDeps, 'journal' | 'eventSink' | 'store' | 'writerMetrics' | 'log'>): StoreWriter<AlertEvent> {
  return new StoreWriter<AlertEvent>(
    deps.journal,
    deps.eventSink ?? { write: (events) => deps.store.appendAlertEvents(events) },
    { batchSize: 500, flushMs: 50, maxBackoffMs: 30_000 },
    deps.writerMetrics,
    {
      onError: (err, attempt) => deps.log.error({ err: err.message, attempt }, 'alert events not yet in the store; kept in the journal, retrying'),
      onRecovered: (attempts) => deps.log.info({ attempts }, 'alert events reach the store again'),
    },
  )
}

/** How long a board's figures wait for the rules to catch up with what is committed. */
const JUDGED_WAIT_MS = 1000

export interface RuleSnapshot {
  /** Readings journal position: every reading before it is in `states`. */
  readonly position: number
  readonly states: RuleStates
  /** The warning book, with the alert journal's position it covers: every event before it is in `alerts`. */
  readonly book?: { readonly position: number; readonly alerts: readonly Alert[] }
}

export class Alerting implements AlertingPort {
  private timer: NodeJS.Timeout | undefined
  private snapshotTimer: NodeJS.Timeout | undefined
  /** The rules' reading of the readings journal: bounded batches, in commit order. */
  private readonly feed: RuleFeed
  /** Silences of devices behind a down link, held (alerting/link-hold.ts). */
  private readonly hold: LinkHold
  private constructor(
    private readonly deps: AlertingDeps,
    readonly book: AlertBook,
    private readonly rules: RuleThread,
    private readonly booking: Booking,
    private readonly writer: StoreWriter<AlertEvent>,
  ) {
    this.hold = new LinkHold((device, rule) => booking.kindOf(device, rule) === 'silence')
    // from the head: the replay at start read up to it, and no turn of the event loop has passed since its last look
    this.feed = new RuleFeed(deps.readings, (json, readings) => this.judge(json, readings), deps.now, deps.log, deps.readings.head)
  }

  static async start(deps: AlertingDeps): Promise<Alerting> {
    const book = new AlertBook(deps.newId)
    let rebuilt = 0
    const saved = deps.snapshot?.book
    let from = deps.journal.checkpoint
    if (saved && saved.position >= deps.journal.start && saved.position <= deps.journal.head) {
      // the book as it was at the snapshot, then every event journaled after it: whatever the store's state
      for (const a of saved.alerts) book.restore(a)
      rebuilt = saved.alerts.length
      from = saved.position
    } else {
      try {
        for (const e of await deps.store.latestAlertEvents(deps.now() - RESOLVED_KEPT_MS)) {
          book.apply(e)
          rebuilt++
        }
      } catch (err) {
        deps.log.error({ err: (err as Error).message }, 'could not read the warning book from the store; open warnings known only from the local journal')
      }
    }
    // events the store had not confirmed (or the snapshot did not cover) are newer than anything it holds
    for (let at = from; at < deps.journal.head;) {
      const { readings: events, end } = await deps.journal.read(at, 1000)
      for (const e of events) book.apply(e)
      at = end
    }
    const rules = await RuleThread.start(deps.devices, deps.now(), deps.snapshot?.states ?? {}, (err) => {
      deps.log.error({ err: err.message }, '规则线程已退出, 无法再判定读数 (the rule thread died: readings can no longer be judged; restart the platform)')
      deps.onFatal?.(err)
    })
    let levels = rules.levels
    // readings after the snapshot were judged before the restart: replay them into the rules' state
    let replayed = 0
    try {
      if (deps.snapshot) {
        for (let at = Math.max(deps.snapshot.position, deps.readings.start); at < deps.readings.head;) {
          const { readings, end } = await deps.readings.read(at, 5000)
          levels = await rules.warm(readings, deps.now())
          replayed += readings.length
          if (end <= at) break
          at = end
        }
      }
    } catch (err) {
      await rules.stop()
      throw err
    }
    const booking = new Booking(deps.devices, book, levels, deps.items)
    const writer = alertEventWriter(deps)
    const alerting = new Alerting(deps, book, rules, booking, writer)
    deps.readings.onCommit((c) => alerting.feed.committed(c))
    // a snapshot now, so that the next start replays only what comes after this one (a process
    // killed every few seconds would otherwise replay more at each start, and keep ever more
    // journal), and so that even the first minute of a first start is replayed after a crash
    await alerting.snapshot()
    // a turn is skipped while the last one is still being judged: ticks must not queue up behind a busy rule thread
    let ticking: Promise<void> | undefined
    alerting.timer = setInterval(() => (ticking ??= alerting.tick().finally(() => (ticking = undefined))), deps.tickMs)
    alerting.snapshotTimer = setInterval(() => void alerting.snapshot(), deps.snapshotMs)
    deps.log.info({ open: book.unresolved().length, rebuilt, replayed }, 'warning book ready')
    return alerting
  }

  /**
   * A turn of the clock (silence, deadlines): on a timer, and for a test that must know one
   * happened. It resolves once every reading committed before it has been judged and booked.
   */
  async tick(): Promise<void> {
    await this.feed.caughtUp()
    const now = this.deps.now()
    try {
      const phaseOf = this.phaseAt(now)
      const fired = this.hold.filter(await this.rules.tick(now), phaseOf)
      const released = this.hold.size > 0 ? this.hold.release(phaseOf) : []
      this.system([...this.booking.apply([...fired, ...released], now), ...this.links(now), ...this.booking.tick(now)])
    } catch (err) {
      this.deps.log.error({ err: (err as Error).message }, 'the silence rules failed on a turn of the clock')
      this.system(this.booking.tick(now))
    }
  }

  private phaseAt(now: number): (deviceId: string) => LinkPhase | undefined {
    const phase = this.deps.linkPhase
    return phase ? (deviceId) => phase(deviceId, now) : () => undefined
  }

  /** The links' level changes against the book (the book is the memory: a restart raises nothing twice). */
  private links(now: number): AlertEvent[] {
    return judgeLinks(this.book, this.deps.links?.() ?? [], now)
  }

  /** What these devices' rules last judged (the boards' figures); empty when the rule thread cannot say. */
  async judged(deviceIds: readonly string[]): Promise<Record<string, Record<string, Judged>>> {
    // the readings committed so far, judged first; but a board does not wait out a backlog of
    // minutes (after an outage the rules catch up while the screens keep answering)
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.feed.caughtUp(), new Promise<void>((resolve) => (timer = setTimeout(resolve, JUDGED_WAIT_MS)))])
    clearTimeout(timer)
    return this.rules.judged(deviceIds).catch(() => ({}))
  }

  /** The live state of one device's rule (the trend's live forecast); undefined when unknown. */
  async ruleState(deviceId: string, ruleId: string): Promise<unknown> {
    await this.feed.caughtUp()
    return this.rules.peek(deviceId, ruleId).catch(() => undefined)
  }

  /** One batch of committed readings judged on the rule thread, its level changes booked; never rejects. */
  private judge(json: Uint8Array, readings: number): Promise<void> {
    const now = this.deps.now()
    return this.rules.json(json, now).then(
      (fired) => this.system(this.booking.apply(this.hold.filter(fired, this.phaseAt(now)), now)),
      (err: Error) => this.deps.log.error({ err: err.message, readings }, 'the rules failed on a batch of readings; the next readings are judged as usual'),
    )
  }

  /** Readings committed but not yet judged, and how long the oldest of them has waited (ms). */
  lag(): { readings: number; oldestMs: number } {
    return this.feed.lag()
  }

  owns(): boolean {
    return true
  }

  acknowledge(id: string, actor: string): Promise<BookResult> {
    return this.act(id, () => this.book.acknowledge(id, actor, this.deps.now()))
  }

  assign(id: string, actor: string, to: string): Promise<BookResult> {
    return this.act(id, () => this.book.assign(id, actor, to, this.deps.now()))
  }

  resolve(id: string, actor: string, note: string): Promise<BookResult> {
    return this.act(id, () => this.book.resolve(id, actor, note, this.deps.now()))
  }

  /**
   * Every event of one warning, oldest first (its record): the store's, and those journaled and not
   * yet in the store, so that the record read a moment after an action has it, and with the store
   * down still has what the journal holds. Appending is idempotent on (alert, at), so an event both
   * in the store and still in the journal is one event.
   */
  async history(alertId: string): Promise<AlertEvent[]> {
    const stored = await this.deps.store.alertHistory(alertId).catch((err: Error) => {
      this.deps.log.warn({ err: err.message, alert: alertId }, 'a warning’s record could not be read from the store; shown from the journal only')
      return [] as AlertEvent[]
    })
    const seen = new Set(stored.map((e) => `${e.type}\u0000${e.at}`))
    const fresh: AlertEvent[] = []
    for (let at = this.deps.journal.checkpoint; at < this.deps.journal.head;) {
      const { readings: events, end } = await this.deps.journal.read(at, 1000)
      for (const e of events) if (e.alertId === alertId && !seen.has(`${e.type}\u0000${e.at}`)) fresh.push(e)
      if (end <= at) break
      at = end
    }
    return [...stored, ...fresh].sort((a, b) => a.at - b.at)
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    clearInterval(this.snapshotTimer)
    await this.snapshot()
    this.feed.stop()
    await this.rules.stop()
    await this.writer.stop()
    await this.deps.journal.close()
  }

  /**
   * The site's devices, rules and items from now on (站点管理), without a restart: every reading
   * committed before is judged by the rules as they were, every one after by the new ones. Open
   * warnings stay in the book, a retired device's too: only people close them.
   */
  async configure(devices: readonly EngineDevice[], items: readonly EngineItem[]): Promise<void> {
    await this.feed.caughtUp()
    const levels = await this.rules.configure(devices, this.deps.now())
    this.booking.configure(devices, items, levels)
  }

  /** Starts the rules of these devices afresh (RuleRunner.reset); resolves once they are. */
  async resetRules(deviceIds: Iterable<string>): Promise<void> {
    await this.feed.caughtUp()
    this.booking.setLevels(await this.rules.reset([...deviceIds], this.deps.now()))
  }

  /**
   * What a person did (签收, 指派, 处置完成) is answered only once it is durable: the event is in the
   * journal, fsynced, so a kill -9 a moment after the answer cannot take it back. One that cannot
   * be made durable is undone in the book and answered with MW_NOT_DURABLE, so that the person
   * knows to try again rather than walk away from a warning that silently returns.
   */
  private async act(id: string, run: () => BookResult): Promise<BookResult> {
    const before = this.book.get(id)
    const result = run()
    if (!result.ok) return result
    try {
      await this.handle([result.event])
      return result
    } catch (err) {
      // undone unless the warning has moved on since (a level change the rules made meanwhile)
      if (before && this.book.get(id)?.updatedAt === result.event.at) this.book.restore(before)
      this.deps.log.error({ err: (err as Error).message, alert: id, type: result.event.type }, 'an action could not be made durable; undone and refused')
      return { ok: false, error: { code: 'MW_NOT_DURABLE', message: '操作未能保存 (磁盘或日志不可用), 未生效, 请稍后重试 (the action could not be saved and did not take effect; try again)' } }
    }
  }

  /**
   * Journals events, then tells the seat, the bus and MQTT: nobody hears of an event the platform
   * could lose. The journal commits in order, so events are told in the order they happened. A
   * rule's warning that cannot be journaled (a full disk) is still told, because a silent red
   * warning is worse than one the store may miss; the error is logged and the promise rejects.
   */
  private async handle(events: readonly AlertEvent[]): Promise<void> {
    if (events.length === 0) return
    let failure: Error | undefined
    try {
      await this.deps.journal.append(events)
    } catch (err) {
      failure = err as Error
      this.deps.log.error({ err: failure.message, events: events.length }, 'alert events could not be journaled')
    }
    const person = events.every((e) => e.actor !== 'system')
    if (!(failure && person))
      for (const e of events) {
        this.deps.bus.emit(e)
        this.deps.publish(e)
        // `alertLevel`: pino's own `level` field must not be shadowed
        if (e.notify) this.deps.log.warn({ alert: e.alertId, mine: e.mineId, alertLevel: e.alert.level, type: e.type }, e.alert.message)
      }
    if (failure) throw failure
  }

  /** The rules' and the clock's events: journaled, then told; a failure is logged in handle. */
  private system(events: readonly AlertEvent[]): void {
    this.handle(events).catch(() => undefined)
  }

  private async snapshot(): Promise<void> {
    // resolved warnings older than a week leave memory (they are in the store): the book holds what is open and recent
    this.book.prune(this.deps.now(), RESOLVED_KEPT_MS)
    // every reading committed so far is sent to the rule thread first; the thread answers in order,
    // so the states it returns cover exactly what was sent before the request: the feed's position
    // read in the same step as the request is posted
    await this.feed.caughtUp()
    const position = this.feed.position
    const asked = this.rules.snapshot()
    try {
      const states = await asked
      // the level changes of the readings before the snapshot came back before it, and are booked:
      // the alert journal's head now. Events still being written are in the book already, and are
      // applied again over it at a restart, which changes nothing (each carries the whole alert)
      const bookPosition = this.deps.journal.head
      await this.deps.snapshots.save({ position, states, book: { position: bookPosition, alerts: this.book.all() } })
      this.deps.readings.retain('rules', position)
      this.deps.journal.retain('rules', bookPosition)
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'rule state snapshot not saved; the readings journal keeps what the last one needs')
    }
  }
}

/** The mine platforms' links (联网) judged, as level changes against the book (alerting/links.ts): both alerting services. */
export function judgeLinks(book: AlertBook, links: readonly LinkInput[], now: number): AlertEvent[] {
  const out: AlertEvent[] = []
  for (const link of links) {
    for (const j of judgeLink(link.name, link.observation, link.limits, now)) {
      const open = book.openFor(link.id, j.rule)
      const level = open && !open.normal ? open.level : null
      if (level === j.level) continue
      out.push(
        ...book.onLevel(
          {
            mineId: link.mineId,
            subject: { type: 'link', id: link.id, name: link.name },
            ruleKind: 'link',
            class: 'offline',
            timeZone: link.timeZone,
            message: j.message,
            basis: '矿山平台与监管平台联网 (联网上报): 连接与数据时效',
          },
          { type: 'level', rule: j.rule, from: level, to: j.level, value: j.value, threshold: j.threshold, unit: '分钟', ts: now },
          now,
        ),
      )
    }
  }
  return out
}
