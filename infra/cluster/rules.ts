import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { Alert, AlertEvent } from '../../alerting/book/alert.js'
import { AlertBook, RESOLVED_KEPT_MS, type BookResult } from '../../alerting/book/book.js'
import type { AlertBus } from '../../alerting/bus.js'
import { Booking, type EngineDevice, type EngineItem, type RuleStates } from '../../alerting/engine.js'
import { RuleThread } from '../../alerting/rule-thread.js'
import type { Fired, Judged } from '../../alerting/runner.js'
import { LinkHold } from '../../alerting/link-hold.js'
import type { LinkPhase } from '../../alerting/links.js'
import { alertEventWriter, judgeLinks, type AlertingPort, type LinkInput } from '../../alerting/service.js'
import type { AlertEventStore } from '../../alerting/store.js'
import type { Journal } from '../../ingest/journal/journal.js'
import type { Log } from '../../ingest/log.js'
import type { Reading } from '../../ingest/reading.js'
import type { PayloadSink, StoreWriter, WriterMetrics } from '../../ingest/writer.js'
import { readingsStream } from './handoff.js'
import { epochKey, leaseKey, type Partitions } from './partitions.js'
import { afterId, fieldOf, idMs } from './stream-ids.js'

/** A mine's warning events, every node's book follows it; only the mine's owner writes it (docs/cluster.md, "Rules and book"). */
export const alertsStream = (mineId: string) => `minewatch:alerts:${mineId}`
/**
 * How long a mine's alerts stream keeps an event that its saved book already covers: the week a
 * resolved warning stays in the book (RESOLVED_KEPT_MS), for its history and for a dead node's
 * events not yet in the store (infra/cluster/orphans.ts).
 */
export const ALERTS_KEEP_MS = RESOLVED_KEPT_MS
/** The id in the mine's readings stream up to which the rules have judged and their events are in the alerts stream. */
const judgedKey = (mineId: string) => `minewatch:judged:${mineId}`
/** The owner's saved rule state and book of the mine (SavedMine). */
const savedKey = (mineId: string) => `minewatch:rules:${mineId}`
const actChannel = (node: string) => `minewatch:act:${node}`

/*
 * The owner's events of one mine, and how far its rules have judged the mine's readings, as one
 * atomic step, and only under the epoch this node took the lease with: a node that lost the mine
 * (its lease lapsed and another took it, counting the epoch up) can write nothing more, whatever
 * it still believes (a fencing token). KEYS = epoch, alerts stream, judged; ARGV = epoch, judged
 * id ('' to leave it), node, then the events. Returns the events' ids, or nil when fenced off.
 */
const COMMIT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
local ids = {}
for i = 4, #ARGV do ids[#ids + 1] = redis.call('XADD', KEYS[2], '*', 'n', ARGV[3], 'e', ARGV[i]) end
if ARGV[2] ~= '' then redis.call('SET', KEYS[3], ARGV[2]) end
return ids`
const SAVE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1`

/**
 * Writes a mine's events (and how far its rules have judged) under `epoch`: their ids, or null
 * when the epoch has moved on (another node took the mine) and nothing was written.
 */
export async function writeEvents(redis: Redis, w: { mineId: string; epoch: number; node: string; judged: string | undefined; events: readonly AlertEvent[] }): Promise<string[] | null> {
  return (await redis.eval(COMMIT, 3, epochKey(w.mineId), alertsStream(w.mineId), judgedKey(w.mineId), String(w.epoch), w.judged ?? '', w.node, ...w.events.map((e) => JSON.stringify(e)))) as
    string[] | null
}

/** Saves a mine's rule state and book under `epoch`; false when the epoch has moved on. */
async function saveMine(redis: Redis, mineId: string, epoch: number, saved: SavedMine): Promise<boolean> {
  return Number(await redis.eval(SAVE, 2, epochKey(mineId), savedKey(mineId), String(epoch), JSON.stringify(saved))) === 1
}

/** A mine's rule state and book as its owner saved them, with the stream ids they cover. */
interface SavedMine {
  /** Every reading of the mine's stream up to this id is in `states` (null: none). */
  readonly through: string | null
  readonly states: RuleStates
  /** Every event of the mine's alerts stream up to this id is in `alerts` (null: none). */
  readonly book: { readonly through: string | null; readonly alerts: readonly Alert[] }
  /** A regulator's: the silences held while the links carrying their devices were down (alerting/link-hold.ts). */
  readonly held?: readonly Fired[]
}

/** What this node holds of a mine it owns. */
interface Held {
  readonly epoch: number
  /** The readings stream id up to which the rules judged and the events are in Redis. */
  read: string
  /** The last id of the mine's alerts stream this node's book has. */
  alertsAt: string | null
}

type Action = { op: 'acknowledge' } | { op: 'assign'; to: string } | { op: 'resolve'; note: string }
interface ActRequest {
  readonly id: string
  readonly from: string
  readonly alertId: string
  readonly actor: string
  readonly action: Action
}

/** A question to the owner's rule thread: the boards' figures. */
type Query = { op: 'judged'; deviceIds: readonly string[] } | { op: 'ruleState'; deviceId: string; ruleId: string }
interface QueryRequest {
  readonly id: string
  readonly from: string
  readonly query: Query
}

export interface ClusterAlertingDeps {
  readonly devices: readonly EngineDevice[]
  readonly items: readonly EngineItem[]
  readonly store: AlertEventStore
  /** This node's alert journal: the events it wrote, on their way to the store (and the uplink). */
  readonly journal: Journal<AlertEvent>
  readonly eventSink?: PayloadSink
  readonly writerMetrics: WriterMetrics
  readonly bus: AlertBus
  readonly publish: (event: AlertEvent) => void
  readonly redis: Redis
  readonly node: string
  /** Redis replicas that must hold a person's action before it is answered (Redis WAIT). */
  readonly replicas: number
  readonly partitions: Pick<Partitions, 'owns' | 'status'>
  /** The site's mines, as they now stand. */
  readonly mines: () => readonly string[]
  readonly now: () => number
  readonly log: Log
  readonly newId: () => string
  readonly tickMs: number
  readonly snapshotMs: number
  readonly onFatal?: (err: Error) => void
  /** A regulator's platform: the mine platforms' links (联网), judged by each mine's owner (alerting/links.ts). */
  readonly links?: () => readonly LinkInput[]
  /** Where the link carrying a device stands: its silence is held while the link is down (alerting/link-hold.ts). */
  readonly linkPhase?: (deviceId: string, now: number) => LinkPhase | undefined
}

const READ_COUNT = 2000
const ACT_TIMEOUT_MS = 5000
/** How long a board waits for the owner's figures before it shows this node's own. */
const ASK_TIMEOUT_MS = 2000
const utf8 = new TextEncoder()
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref())

/**
 * Rules and book in cluster mode (issue 17 item 4; docs/cluster.md): a mine's rules run on the
 * node holding its lease, fed from the mine's readings stream, whichever node took the readings;
 * its warnings are events in the mine's alerts stream, written only by that node under its epoch,
 * together with how far the rules have judged. Every node's book follows every mine's alerts
 * stream, so a screen on any node shows every warning live. A node taking a mine over loads the
 * saved rule state, replays the readings judged since into it without raising anything (their
 * warnings are in the stream already), and judges on from there: nothing is raised twice, and
 * nothing judged by a node that died before its events were written is lost, since its judged
 * id did not move. Sign, assign and resolve go to the mine's owner, wherever the person is
 * connected, and are answered once the event is in Redis (and its replicas).
 */
export class ClusterAlerting implements AlertingPort {
  private readonly held = new Map<string, Held>()
  /** mine → the last id of its alerts stream in this node's book. */
  private readonly mirrorAt = new Map<string, string>()
  private mineOf = new Map<string, string>()
  private chain: Promise<unknown> = Promise.resolve()
  private stopped = false
  private loops: Promise<void>[] = []
  private behindMs = 0
  /** Requests sent to another node, by id: what to do with its answer. */
  private readonly waiting = new Map<string, (r: BookResult) => void>()
  private readonly asking = new Map<string, (value: unknown) => void>()
  /** This part's own connection: its WAITs and long reads hold up no one else's commands (leases, hand-off, sessions). */
  private readonly redis: Redis
  private readonly feed: Redis
  private readonly mirror: Redis
  private readonly sub: Redis
  /** Silences of devices behind a down link, held (as on one node; alerting/link-hold.ts). */
  private readonly hold: LinkHold

  private constructor(
    private readonly deps: ClusterAlertingDeps,
    readonly book: AlertBook,
    private readonly rules: RuleThread,
    private readonly booking: Booking,
    private readonly writer: StoreWriter<AlertEvent>,
  ) {
    this.hold = new LinkHold((device, rule) => booking.kindOf(device, rule) === 'silence')
    this.setDevices(deps.devices)
    // blocking reads and the subscription each hold a connection of their own
    this.redis = deps.redis.duplicate()
    this.feed = deps.redis.duplicate()
    this.mirror = deps.redis.duplicate()
    this.sub = deps.redis.duplicate()
    for (const c of [this.redis, this.feed, this.mirror, this.sub]) c.on('error', () => undefined)
  }

  static async start(deps: ClusterAlertingDeps): Promise<ClusterAlerting> {
    const book = new AlertBook(deps.newId)
    const rules = await RuleThread.start(deps.devices, deps.now(), {}, (err) => {
      deps.log.error({ err: err.message }, '规则线程已退出, 无法再判定读数 (the rule thread died: readings can no longer be judged; restart the node)')
      deps.onFatal?.(err)
    })
    const booking = new Booking(deps.devices, book, rules.levels, deps.items)
    const writer = alertEventWriter(deps)
    const a = new ClusterAlerting(deps, book, rules, booking, writer)
    // every mine's book before a screen asks (a Redis away now is retried by the mirror)
    for (const m of deps.mines()) await a.loadBook(m, undefined).catch(() => undefined)
    a.sub.on('message', (_channel: string, text: string) => a.onMessage(text))
    await a.sub.subscribe(actChannel(deps.node))
    a.loops = [a.ownerLoop(), a.mirrorLoop()]
    deps.log.info({ open: book.unresolved().length, node: deps.node }, 'warning book ready (cluster: followed from Redis)')
    return a
  }

  owns(mineId: string): boolean {
    return this.held.has(mineId) && this.deps.partitions.owns(mineId)
  }

  // ---- the owner's side: gains and losses, the readings, the clock, the saved state ----

  private async ownerLoop(): Promise<void> {
    let lastTick = 0
    let lastSave = this.deps.now()
    while (!this.stopped) {
      try {
        await this.serial(() => this.follow())
        const now = this.deps.now()
        if (now - lastTick >= this.deps.tickMs) {
          lastTick = now
          await this.serial(() => this.turn())
        }
        if (now - lastSave >= this.deps.snapshotMs) {
          lastSave = now
          await this.serial(() => this.save())
        }
        const asked = [...this.held].map(([m, h]) => ({ m, h, from: h.read }))
        if (asked.length === 0) {
          await sleep(Math.min(500, this.deps.tickMs))
          continue
        }
        const res = (await this.feed.xread('COUNT', READ_COUNT, 'BLOCK', Math.min(500, this.deps.tickMs), 'STREAMS', ...asked.map((a) => readingsStream(a.m)), ...asked.map((a) => a.from))) as
          [string, [string, string[]][]][] | null
        if (res) await this.serial(() => this.judge(res, asked))
      } catch (err) {
        if (this.stopped) break
        this.deps.log.warn({ err: (err as Error).message }, 'cluster: the rules could not read or write Redis; retrying')
        await sleep(500)
      }
    }
  }

  /** Takes up the mines this node was given, lets go of those it lost. */
  private async follow(): Promise<void> {
    const owns = this.deps.partitions.status().owns
    for (const [m, h] of this.held) if (!owns.some((o) => o.mineId === m && o.epoch === h.epoch)) this.drop(m, 'its lease is no longer this node’s')
    for (const o of owns) if (!this.held.has(o.mineId)) await this.takeUp(o.mineId, o.epoch)
  }

  private drop(mineId: string, why: string): void {
    this.hold.forget(new Set([...this.mineOf].filter(([, m]) => m === mineId).map(([d]) => d)))
    if (this.held.delete(mineId)) this.deps.log.info({ mine: mineId, node: this.deps.node, why }, 'cluster: this node no longer runs the mine’s rules')
  }

  /**
   * A mine taken over: its book and rule state as saved, then the readings judged since (by the
   * last owner) replayed into the state without raising anything, their warnings being in the
   * alerts stream already; the readings after are judged as usual.
   */
  private async takeUp(mineId: string, epoch: number): Promise<void> {
    const [savedText, judged] = await this.redis.mget(savedKey(mineId), judgedKey(mineId))
    const saved = savedText ? (JSON.parse(savedText) as SavedMine) : undefined
    const alertsAt = await this.loadBook(mineId, saved)
    const devices = [...this.mineOf].filter(([, m]) => m === mineId).map(([d]) => d)
    const now = this.deps.now()
    let levels = await this.rules.load(devices, saved?.states ?? {}, now)
    let at = saved?.through ?? '0-0'
    let replayed = 0
    while (judged && afterId(judged, at)) {
      const entries = (await this.redis.xrange(readingsStream(mineId), `(${at}`, judged, 'COUNT', 5000)) as [string, string[]][]
      if (entries.length === 0) break
      levels = await this.rules.warm(
        entries.map(([, f]) => JSON.parse(fieldOf(f, 'r')) as Reading),
        now,
      )
      replayed += entries.length
      at = entries.at(-1)![0]
    }
    this.booking.setLevels(levels)
    this.hold.restore(saved?.held ?? [])
    this.held.set(mineId, { epoch, read: judged ?? saved?.through ?? '0-0', alertsAt })
    this.deps.log.info({ mine: mineId, node: this.deps.node, epoch, saved: saved !== undefined, replayed }, 'cluster: this node now runs the mine’s rules and book')
  }

  /** One read of the owned mines' streams, judged and its events committed. */
  private async judge(res: [string, [string, string[]][]][], asked: { m: string; h: Held; from: string }[]): Promise<void> {
    const parts: string[] = []
    const through = new Map<string, string>()
    let newest = ''
    let full = false
    for (const [stream, entries] of res) {
      const a = asked.find((x) => readingsStream(x.m) === stream)
      // a mine dropped or taken up again since the read was asked: its entries are read again from where it stands now
      if (!a || this.held.get(a.m) !== a.h || a.h.read !== a.from || entries.length === 0) continue
      for (const [, fields] of entries) parts.push(fieldOf(fields, 'r'))
      const last = entries.at(-1)![0]
      through.set(a.m, last)
      if (entries.length >= READ_COUNT) full = true
      if (afterId(last, newest || '0-0')) newest = last
    }
    if (parts.length === 0) return
    const now = this.deps.now()
    let events: AlertEvent[] = []
    try {
      const fired = await this.rules.json(utf8.encode(`[${parts.join(',')}]`), now)
      events = this.booking.apply(
        this.hold.filter(
          fired.filter((f) => through.has(this.mineOf.get(f.device) ?? '')),
          this.phaseAt(now),
        ),
        now,
      )
    } catch (err) {
      this.deps.log.error({ err: (err as Error).message, readings: parts.length }, 'the rules failed on a batch of readings; the next readings are judged as usual')
    }
    await this.commit(events, through)
    // behind when the read came back full: how old the newest reading judged is
    this.behindMs = full ? Math.max(0, now - idMs(newest)) : 0
  }

  /** A turn of the clock on the owned mines: devices gone silent, warnings past their deadline. */
  private async turn(): Promise<void> {
    if (this.held.size === 0) return
    const now = this.deps.now()
    const mine = (m: string) => this.owns(m)
    const owned = (f: { device: string }) => mine(this.mineOf.get(f.device) ?? '')
    const phaseOf = this.phaseAt(now)
    const fired = this.hold.filter((await this.rules.tick(now)).filter(owned), phaseOf)
    const released = this.hold.size > 0 ? this.hold.release(phaseOf).filter(owned) : []
    const links = judgeLinks(
      this.book,
      (this.deps.links?.() ?? []).filter((l) => mine(l.mineId)),
      now,
    )
    await this.commit([...this.booking.apply([...fired, ...released], now), ...links, ...this.booking.tick(now, mine)], new Map())
  }

  private phaseAt(now: number): (deviceId: string) => LinkPhase | undefined {
    const phase = this.deps.linkPhase
    return phase ? (deviceId) => phase(deviceId, now) : () => undefined
  }

  /**
   * The events into their mines' alerts streams under this node's epochs, with how far the rules
   * have judged; then journaled here (for the store) and told. A mine whose write was fenced off
   * or failed is let go and taken up again from Redis (if still this node's): its book and rules
   * go back to what Redis holds, and its readings since the judged id are judged again, raising
   * again what was not written. Returns the mines whose events are not in Redis.
   */
  private async commit(events: readonly AlertEvent[], through: ReadonlyMap<string, string>): Promise<string[]> {
    const byMine = new Map<string, AlertEvent[]>()
    for (const e of events) byMine.set(e.mineId, [...(byMine.get(e.mineId) ?? []), e])
    const failed: string[] = []
    const written: AlertEvent[] = []
    for (const m of new Set([...byMine.keys(), ...through.keys()])) {
      const h = this.held.get(m)
      const mine = byMine.get(m) ?? []
      if (!h || !this.deps.partitions.owns(m)) {
        failed.push(m)
        this.drop(m, 'its lease ran out while its events were being written')
        continue
      }
      let ids: string[] | null
      try {
        ids = await writeEvents(this.redis, { mineId: m, epoch: h.epoch, node: this.deps.node, judged: through.get(m), events: mine })
      } catch (err) {
        failed.push(m)
        this.drop(m, `its events could not be written (${(err as Error).message}); taken up again from Redis`)
        continue
      }
      if (ids === null) {
        failed.push(m)
        this.drop(m, 'another node took the mine (its epoch moved on)')
        continue
      }
      const t = through.get(m)
      if (t) h.read = t
      if (ids.length) {
        h.alertsAt = ids.at(-1)!
        this.mirrorAt.set(m, laterOf(this.mirrorAt.get(m), h.alertsAt))
      }
      written.push(...mine)
    }
    if (written.length === 0) return failed
    // the store's copy: this node's journal, drained to InfluxDB by the writer (as on one node)
    await this.deps.journal.append(written).catch((err: Error) => this.deps.log.error({ err: err.message, events: written.length }, 'alert events in Redis could not be journaled here for the store'))
    for (const e of written) {
      this.deps.bus.emit(e)
      this.deps.publish(e)
      if (e.notify) this.deps.log.warn({ alert: e.alertId, mine: e.mineId, alertLevel: e.alert.level, type: e.type }, e.alert.message)
    }
    return failed
  }

  /** A mine about to be handed back to the node preferred for it: its state saved, so that node replays nothing. */
  handBack(mineId: string): Promise<void> {
    return this.serial(() => this.save([mineId]))
  }

  /** Every owned mine's (or these mines') rule state and book saved under its epoch: where a new owner starts. */
  private async save(only?: readonly string[]): Promise<void> {
    if (this.held.size === 0) return
    this.book.prune(this.deps.now(), RESOLVED_KEPT_MS)
    const states = await this.rules.snapshot()
    const alerts = this.book.all()
    for (const [m, h] of [...this.held]) {
      if (!this.deps.partitions.owns(m) || (only && !only.includes(m))) continue
      const mine: RuleStates = {}
      for (const [d, dm] of this.mineOf) if (dm === m && states[d]) mine[d] = states[d]
      const devices = new Set([...this.mineOf].filter(([, dm]) => dm === m).map(([d]) => d))
      const saved: SavedMine = {
        through: h.read === '0-0' ? null : h.read,
        states: mine,
        book: { through: h.alertsAt, alerts: alerts.filter((a) => a.mineId === m) },
        held: this.hold.heldOf(devices),
      }
      if (!(await saveMine(this.redis, m, h.epoch, saved))) this.drop(m, 'another node took the mine (its epoch moved on)')
      // the events the saved book covers, older than the week kept, are no longer needed in Redis
      else if (h.alertsAt) await this.redis.xtrim(alertsStream(m), 'MINID', Math.min(idMs(h.alertsAt), this.deps.now() - ALERTS_KEEP_MS))
    }
  }

  // ---- every node's side: the book follows every mine's alerts stream ----

  /** A mine's book from Redis: the saved one, then the events after it. Returns the last event's id. */
  private async loadBook(mineId: string, saved: SavedMine | undefined | null): Promise<string | null> {
    if (saved === undefined) {
      const text = await this.redis.get(savedKey(mineId))
      saved = text ? (JSON.parse(text) as SavedMine) : null
    }
    const events: AlertEvent[] = []
    let at = saved?.book.through ?? '0-0'
    for (;;) {
      const entries = (await this.redis.xrange(alertsStream(mineId), `(${at}`, '+', 'COUNT', 1000)) as [string, string[]][]
      for (const [id, f] of entries) {
        events.push(JSON.parse(fieldOf(f, 'e')) as AlertEvent)
        at = id
      }
      if (entries.length < 1000) break
    }
    this.book.dropMine(mineId)
    for (const a of saved?.book.alerts ?? []) this.book.restore(a)
    for (const e of events) this.book.apply(e)
    const last = at === '0-0' ? null : at
    this.mirrorAt.set(mineId, laterOf(this.mirrorAt.get(mineId), at))
    return last
  }

  private async mirrorLoop(): Promise<void> {
    while (!this.stopped) {
      try {
        const mines = this.deps.mines()
        for (const m of mines) if (!this.mirrorAt.has(m)) await this.loadBook(m, undefined)
        if (mines.length === 0) {
          await sleep(1000)
          continue
        }
        const res = (await this.mirror.xread('COUNT', 1000, 'BLOCK', 1000, 'STREAMS', ...mines.map(alertsStream), ...mines.map((m) => this.mirrorAt.get(m)!))) as
          [string, [string, string[]][]][] | null
        for (const [stream, entries] of res ?? []) {
          const m = stream.slice(alertsStream('').length)
          for (const [id, f] of entries) {
            if (!afterId(id, this.mirrorAt.get(m) ?? '0-0')) continue
            this.mirrorAt.set(m, id)
            const e = JSON.parse(fieldOf(f, 'e')) as AlertEvent
            // (the screens of every node heard it from the writing node, through the socket.io adapter)
            this.book.apply(e)
          }
        }
      } catch (err) {
        if (this.stopped) break
        this.deps.log.warn({ err: (err as Error).message }, 'cluster: the warning book could not follow Redis; retrying')
        await sleep(500)
      }
    }
  }

  // ---- what people do: on the mine's owner, wherever they are connected ----

  acknowledge(id: string, actor: string): Promise<BookResult> {
    return this.act({ id: randomUUID(), from: this.deps.node, alertId: id, actor, action: { op: 'acknowledge' } })
  }

  assign(id: string, actor: string, to: string): Promise<BookResult> {
    return this.act({ id: randomUUID(), from: this.deps.node, alertId: id, actor, action: { op: 'assign', to } })
  }

  resolve(id: string, actor: string, note: string): Promise<BookResult> {
    return this.act({ id: randomUUID(), from: this.deps.node, alertId: id, actor, action: { op: 'resolve', note } })
  }

  private async act(req: ActRequest): Promise<BookResult> {
    const alert = this.book.get(req.alertId)
    if (!alert) return this.book.acknowledge(req.alertId, req.actor, this.deps.now()) // MW_ALERT_NOT_FOUND
    if (this.owns(alert.mineId)) return this.serial(() => this.actHere(req))
    // the lease's holder as Redis has it now (this node's view of the owners is a round old, and
    // just after a takeover would name the node that died)
    const owner = await this.redis.get(leaseKey(alert.mineId)).catch(() => null)
    if (!owner || owner === this.deps.node) return notDurable('该矿山正在移交给另一节点 (the mine is being taken over by another node)')
    const answer = new Promise<BookResult>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(req.id)
        resolve(notDurable('负责该矿山的节点未在 5 秒内应答 (the node running the mine did not answer within 5 s)'))
      }, ACT_TIMEOUT_MS)
      this.waiting.set(req.id, (r) => {
        clearTimeout(timer)
        resolve(r)
      })
    })
    await this.redis.publish(actChannel(owner), JSON.stringify({ request: req }))
    const result = await answer
    // the screen that asked sees it at once, not when the book hears it from Redis
    if (result.ok) this.book.apply(result.event)
    return result
  }

  /** An action on a mine this node owns: booked, written under the epoch (and to the replicas), then answered. */
  private async actHere(req: ActRequest): Promise<BookResult> {
    const alert = this.book.get(req.alertId)
    if (!alert || !this.owns(alert.mineId)) return notDurable('该矿山正在移交给另一节点 (the mine is being taken over by another node)')
    const now = this.deps.now()
    const a = req.action
    const result =
      a.op === 'acknowledge'
        ? this.book.acknowledge(req.alertId, req.actor, now)
        : a.op === 'assign'
          ? this.book.assign(req.alertId, req.actor, a.to, now)
          : this.book.resolve(req.alertId, req.actor, a.note, now)
    if (!result.ok) return result
    const failed = await this.commit([result.event], new Map())
    let replicated = true
    if (failed.length === 0 && this.deps.replicas > 0) replicated = Number(await this.redis.call('WAIT', String(this.deps.replicas), '2000').catch(() => 0)) >= this.deps.replicas
    if (failed.length === 0 && replicated) return result
    // its state is Redis's again when the mine is taken up afresh; the person is told to look and try again
    this.drop(alert.mineId, 'an action could not be confirmed in Redis')
    this.deps.log.error({ alert: req.alertId, type: result.event.type, replicated }, 'an action could not be confirmed durable in Redis; refused')
    return notDurable('操作未能确认已保存, 请刷新后查看并重试 (the action could not be confirmed saved; refresh and try again)')
  }

  private onMessage(text: string): void {
    let msg: { request?: ActRequest; reply?: { id: string; result: BookResult }; query?: QueryRequest; answer?: { id: string; value: unknown } }
    try {
      msg = JSON.parse(text)
    } catch {
      return
    }
    if (msg.reply) this.waiting.get(msg.reply.id)?.(msg.reply.result)
    if (msg.answer) this.asking.get(msg.answer.id)?.(msg.answer.value)
    const q = msg.query
    if (q) {
      // the figures of the rule thread here, the mine's owner's
      const value = q.query.op === 'judged' ? this.rules.judged(q.query.deviceIds) : this.rules.peek(q.query.deviceId, q.query.ruleId)
      void value
        .catch(() => null)
        .then((v) => this.redis.publish(actChannel(q.from), JSON.stringify({ answer: { id: q.id, value: v ?? null } })))
        .catch(() => undefined)
    }
    const req = msg.request
    if (!req) return
    const began = performance.now()
    void this.serial(() => this.actHere(req))
      .catch((err: Error) => notDurable(err.message))
      .then((result) => {
        this.deps.log.info(
          { alert: req.alertId, op: req.action.op, from: req.from, ok: result.ok, ms: Math.round(performance.now() - began) },
          'cluster: an action sent from another node, done here (the mine’s owner)',
        )
        return this.redis.publish(actChannel(req.from), JSON.stringify({ reply: { id: req.id, result } }))
      })
      .catch(() => undefined)
  }

  // ---- the rest of the port ----

  async history(alertId: string): Promise<AlertEvent[]> {
    const stored = await this.deps.store.alertHistory(alertId).catch(() => [] as AlertEvent[])
    const mine = this.book.get(alertId)?.mineId
    const recent: AlertEvent[] = []
    if (mine) {
      const entries = (await this.redis.xrevrange(alertsStream(mine), '+', '-', 'COUNT', 5000).catch(() => [])) as [string, string[]][]
      for (const [, f] of entries) {
        const e = JSON.parse(fieldOf(f, 'e')) as AlertEvent
        if (e.alertId === alertId) recent.push(e)
      }
    }
    const seen = new Set(stored.map((e) => `${e.type}\u0000${e.at}`))
    return [...stored, ...recent.filter((e) => !seen.has(`${e.type}\u0000${e.at}`))].sort((a, b) => a.at - b.at)
  }

  /**
   * The rules' figures (the boards' 判定, the trend's forecast), from the rule thread of the node
   * owning each device's mine: this node's for the mines it owns, the owner's (asked through
   * Redis) for the others; this node's own, possibly stale, when the owner does not answer in time.
   */
  async judged(deviceIds: readonly string[]): Promise<Record<string, Record<string, Judged>>> {
    const here: string[] = []
    const elsewhere = new Map<string, string[]>()
    const owners = this.deps.partitions.status().owners
    for (const d of deviceIds) {
      const owner = owners[this.mineOf.get(d) ?? '']
      if (!owner || owner === this.deps.node) here.push(d)
      else elsewhere.set(owner, [...(elsewhere.get(owner) ?? []), d])
    }
    const local = () => this.rules.judged(here).catch(() => ({}))
    const parts = await Promise.all([
      local(),
      ...[...elsewhere].map(([owner, ids]) => this.ask<Record<string, Record<string, Judged>>>(owner, { op: 'judged', deviceIds: ids }).then((v) => v ?? this.rules.judged(ids).catch(() => ({})))),
    ])
    return Object.assign({}, ...parts) as Record<string, Record<string, Judged>>
  }

  async ruleState(deviceId: string, ruleId: string): Promise<unknown> {
    const owner = this.deps.partitions.status().owners[this.mineOf.get(deviceId) ?? '']
    const fromOwner = owner && owner !== this.deps.node ? await this.ask(owner, { op: 'ruleState', deviceId, ruleId }) : undefined
    return fromOwner ?? this.rules.peek(deviceId, ruleId).catch(() => undefined)
  }

  /** A question to another node's rule thread; undefined when it does not answer within 2 s. */
  private ask<T>(owner: string, query: Query): Promise<T | undefined> {
    const id = randomUUID()
    return new Promise<T | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.asking.delete(id)
        resolve(undefined)
      }, ASK_TIMEOUT_MS)
      this.asking.set(id, (v) => {
        clearTimeout(timer)
        this.asking.delete(id)
        resolve((v ?? undefined) as T | undefined)
      })
      this.redis.publish(actChannel(owner), JSON.stringify({ query: { id, from: this.deps.node, query } satisfies QueryRequest })).catch(() => undefined)
    })
  }

  /** How long the oldest warning event this node wrote has waited for the store, ms (0: none). */
  eventsBacklogAgeMs(): number {
    return this.writer.backlogAgeMs
  }

  lag(): { readings: number; oldestMs: number } {
    return { readings: 0, oldestMs: this.behindMs }
  }

  configure(devices: readonly EngineDevice[], items: readonly EngineItem[]): Promise<void> {
    return this.serial(async () => {
      const levels = await this.rules.configure(devices, this.deps.now())
      this.booking.configure(devices, items, levels)
      this.setDevices(devices)
    })
  }

  resetRules(deviceIds: Iterable<string>): Promise<void> {
    return this.serial(async () => this.booking.setLevels(await this.rules.reset([...deviceIds], this.deps.now())))
  }

  tick(): Promise<void> {
    return this.serial(() => this.turn())
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.feed.disconnect()
    this.mirror.disconnect()
    await Promise.allSettled(this.loops)
    // the state a new owner starts from, as it stands now
    await this.serial(() => this.save()).catch((err: Error) => this.deps.log.warn({ err: err.message }, 'cluster: the mines’ rule state could not be saved at stop'))
    this.held.clear()
    this.sub.disconnect()
    await this.redis.quit().catch(() => this.redis.disconnect())
    await this.rules.stop()
    await this.writer.stop()
    await this.deps.journal.close()
  }

  private setDevices(devices: readonly EngineDevice[]): void {
    this.mineOf = new Map(devices.map((d) => [d.id, d.mineId]))
  }

  /** One thing at a time on the book and the rules: what is booked is written in the order it was booked. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn)
    this.chain = run.catch(() => undefined)
    return run
  }
}

function laterOf(a: string | undefined, b: string): string {
  return a !== undefined && afterId(a, b) ? a : b
}

const notDurable = (message: string): BookResult => ({ ok: false, error: { code: 'MW_NOT_DURABLE', message } })
