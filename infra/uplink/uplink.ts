import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { writeFileAtomic, removeStaleTemp } from '../../ingest/atomic-file.js'
import { BacklogClock } from '../../ingest/backlog-clock.js'
import type { Journal } from '../../ingest/journal/journal.js'
import type { Log } from '../../ingest/log.js'
import type { Reading } from '../../ingest/reading.js'
import { mapAlertEvents, mapReadings, mapState, type DeviceState, type Mapping, type UplinkMessage } from '../../ingest/uplink/mapping.js'
import { reportedOf } from '../../ingest/uplink/reported.js'
import type { AlertEvent } from '../../alerting/book/alert.js'

/**
 * 联网上报 (docs/uplink.md): the mine platform forwards its readings to an upstream platform (the
 * province's) over MQTT, from the readings journal, in journal order, store-and-forward.
 *
 * - The cursor is the journal position up to which the upstream broker acknowledged (PUBACK, QoS 1)
 *   every message. It is fsynced in `<data>/uplink/cursor.json` after each chunk, and the journal
 *   keeps its segments from the cursor on (a floor of its own), so an outage of the link, of the
 *   platform (kill -9) or of both loses nothing: the backlog is sent from the cursor, oldest first.
 * - A chunk that was not wholly acknowledged is sent again whole after the reconnect: delivery is at
 *   least once, and a resent reading is the same reading (device, time, values); the upstream store
 *   is idempotent on device, metric and time, so nothing is doubled there.
 * - The rate is bounded (readings a second, a token bucket of one second), so a backlog after a long
 *   outage does not flood the upstream platform; the live readings queue behind it.
 * - The backlog is bounded too (`maxBacklogBytes` of journal): past that, the oldest unsent readings
 *   are given up upstream (they stay in this platform's store), logged and counted, rather than the
 *   journal filling the disk and the mine's own intake refusing readings.
 * - The mine's warning events (when the mapping has an `alerts` section) go the same way from the
 *   alert journal, with a cursor of their own (`alerts-cursor.json`) and a floor of their own in
 *   that journal; they go before readings waiting at the same time, since a regulator wants a
 *   mine's warnings first, and are not counted against the rate (a mine raises a few a day).
 */
export interface UplinkConfig {
  /** mqtt://host:port or mqtts://host:port of the upstream broker. */
  readonly url: string
  readonly username: string
  readonly password: string
  /** PEM of the authority that signed the upstream's certificate (mqtts), when not a public one. */
  readonly ca?: string
  readonly mapping: Mapping
  /** Mines whose readings go upstream (default: every mine of the site). */
  readonly mines?: readonly string[]
  /** Readings a second at most (default 2,000). */
  readonly maxPerSecond: number
  /** Readings per chunk in flight (default 1,000). */
  readonly chunkReadings: number
  /** Journal bytes the uplink may hold back at most (default 4 GiB). */
  readonly maxBacklogBytes: number
  /** Longest wait between reconnect attempts, ms (default 30 s). */
  readonly maxBackoffMs: number
}

export const UPLINK_DEFAULTS = { maxPerSecond: 2000, chunkReadings: 1000, maxBacklogBytes: 4 * 1024 ** 3, maxBackoffMs: 30_000 } as const

export type UplinkJournal = Pick<Journal<Reading>, 'head' | 'start' | 'read' | 'retain' | 'onCommit'>

/** The mine's warning events, from its alert journal (sent only when the mapping has an `alerts` section). */
export interface UplinkAlerts {
  readonly journal: Pick<Journal<AlertEvent>, 'head' | 'start' | 'read' | 'retain' | 'onCommit'>
  /** The cursor a previous run saved (loadUplinkCursor(dir, ALERTS_CURSOR_FILE)); none: from the head. */
  readonly cursor: number | undefined
  /** Events of this warning go upstream (not a drill's, a mine of `mines`). */
  readonly forwards: (e: AlertEvent) => boolean
}

export interface UplinkDeps {
  readonly journal: UplinkJournal
  readonly dir: string
  readonly log: Log
  readonly now: () => number
  readonly timeZoneOf: (mineId: string) => string
  /** Readings of this device go upstream (not a drill's shadow, a mine of `mines`). */
  readonly forwards: (r: Reading) => boolean
  /**
   * The forwarded devices' states (online or not): all of them are sent at each connect, and each
   * change while connected. A state is not history: the upstream keeps the last one (retained).
   */
  readonly states?: { all(): readonly DeviceState[]; onChange(listener: (state: DeviceState) => void): void }
  readonly alerts?: UplinkAlerts
}

export interface UplinkStatus {
  readonly url: string
  readonly username: string
  readonly mapping: string
  readonly connected: boolean
  /** Journal bytes not yet acknowledged upstream. */
  readonly backlogBytes: number
  /** Seconds since the oldest reading not yet acknowledged upstream was committed here (0: none). */
  readonly backlogAgeSeconds: number
  /** When the upstream last acknowledged a chunk (epoch ms), null: not since the start. */
  readonly lastSentAt: number | null
  readonly sentReadings: number
  /** Readings given up upstream because the backlog passed its bound, since the start. */
  readonly droppedBytes: number
  readonly lastError: string | null
  /** The warning events' stream (null: the mapping sends none). */
  readonly alerts: { readonly backlogBytes: number; readonly sentEvents: number; readonly droppedBytes: number } | null
}

interface Sent {
  readonly end: number
  readonly readings: number
}

const CURSOR_FILE = 'cursor.json'
export const ALERTS_CURSOR_FILE = 'alerts-cursor.json'

/** The cursor a previous run saved, before the journal opens (its segments from there on are kept). */
export async function loadUplinkCursor(dir: string, name = CURSOR_FILE): Promise<number | undefined> {
  const file = join(dir, name)
  await removeStaleTemp(file)
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { position?: unknown }
    return typeof parsed.position === 'number' && Number.isSafeInteger(parsed.position) && parsed.position >= 0 ? parsed.position : undefined
  } catch {
    return undefined
  }
}

export class Uplink {
  private client: MqttClient | undefined
  private connected = false
  private stopped = false
  private cursor: number
  private readonly clock: BacklogClock
  private wakeUp: (() => void) | undefined
  private pumping: Promise<void> | undefined
  private reconnectTimer: NodeJS.Timeout | undefined
  private failures = 0
  private tokens: number
  private tokensAt: number
  /** Publishes awaiting their PUBACK on this connection: failed at once when it closes. */
  private readonly inFlight = new Set<(err: Error) => void>()
  private lastSentAt: number | null = null
  private sentReadings = 0
  private droppedBytes = 0
  private lastError: string | null = null
  /** The state each device was last sent in, on this connection. */
  private readonly statesSent = new Map<string, boolean>()
  /** The warning events' stream, when the mapping sends them. */
  private readonly alerts: UplinkAlerts | undefined
  private alertCursor = 0
  private sentEvents = 0
  private droppedAlertBytes = 0

  constructor(
    private readonly cfg: UplinkConfig,
    private readonly deps: UplinkDeps,
    cursor: number | undefined,
    private readonly onSent: (sent: Sent) => void = () => undefined,
  ) {
    // a first start forwards from now: what came before is in this platform's store, not the journal
    this.cursor = cursor ?? deps.journal.head
    this.clock = BacklogClock.fromStart(deps.now, deps.journal.head, this.cursor)
    this.tokens = cfg.maxPerSecond
    this.tokensAt = performance.now()
    deps.journal.onCommit(({ end }) => {
      this.clock.committed(end)
      // a line down for days must not hold the journal past the bound: the floor follows the head
      if (end - this.cursor > cfg.maxBacklogBytes) this.release()
      this.wake()
    })
    this.alerts = cfg.mapping.alerts ? deps.alerts : undefined
    if (this.alerts) {
      const alerts = this.alerts
      this.alertCursor = alerts.cursor ?? alerts.journal.head
      alerts.journal.onCommit(({ end }) => {
        if (end - this.alertCursor > cfg.maxBacklogBytes) this.releaseAlerts()
        this.wake()
      })
    }
    deps.states?.onChange((state) => {
      // a status message repeating what a device already said changes nothing upstream
      if (this.connected && this.statesSent.get(state.deviceId) !== state.online) this.sendState(state)
    })
  }

  async start(): Promise<void> {
    await mkdir(this.deps.dir, { recursive: true })
    await this.saveCursor()
    if (this.alerts) await this.saveAlertCursor()
    this.connect()
    this.pumping = this.pump()
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.reconnectTimer)
    this.wake()
    const client = this.client
    this.client = undefined
    this.failInFlight(new Error('the platform is stopping'))
    if (client) await client.endAsync(true).catch(() => undefined)
    await this.pumping
  }

  status(): UplinkStatus {
    const head = this.deps.journal.head
    return {
      url: redact(this.cfg.url),
      username: this.cfg.username,
      mapping: this.cfg.mapping.name,
      connected: this.connected,
      backlogBytes: Math.max(0, head - this.cursor),
      backlogAgeSeconds: this.clock.ageMs(head, this.cursor) / 1000,
      lastSentAt: this.lastSentAt,
      sentReadings: this.sentReadings,
      droppedBytes: this.droppedBytes,
      lastError: this.lastError,
      alerts: this.alerts ? { backlogBytes: Math.max(0, this.alerts.journal.head - this.alertCursor), sentEvents: this.sentEvents, droppedBytes: this.droppedAlertBytes } : null,
    }
  }

  private connect(): void {
    if (this.stopped) return
    const client = mqtt.connect(this.cfg.url, {
      username: this.cfg.username,
      password: this.cfg.password,
      clientId: `minewatch-uplink-${this.cfg.username}`,
      protocolVersion: 4,
      clean: true,
      // this class reconnects, so that a closed connection's unacknowledged chunk is resent from the cursor, once
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      keepalive: 30,
      ...(this.cfg.ca ? { ca: this.cfg.ca } : {}),
    })
    this.client = client
    client.on('connect', () => {
      if (this.client !== client) return
      this.connected = true
      if (this.failures > 0) this.deps.log.info({ url: redact(this.cfg.url), attempts: this.failures }, '联网上报: connected to the upstream platform again')
      else this.deps.log.info({ url: redact(this.cfg.url) }, '联网上报: connected to the upstream platform')
      this.failures = 0
      this.lastError = null
      // what changed while the line was down: every state as it is now
      this.statesSent.clear()
      for (const state of this.deps.states?.all() ?? []) this.sendState(state)
      this.wake()
    })
    client.on('error', (err) => {
      if (this.client === client) this.lastError = err.message
    })
    client.on('close', () => {
      if (this.client !== client) return
      const was = this.connected
      this.connected = false
      this.client = undefined
      this.failInFlight(new Error('the upstream connection closed'))
      client.end(true)
      if (this.stopped) return
      this.failures++
      const delay = Math.min(this.cfg.maxBackoffMs, 500 * 2 ** Math.min(this.failures - 1, 10))
      if (was || this.failures === 1) this.deps.log.warn({ url: redact(this.cfg.url), err: this.lastError, retryMs: delay }, '联网上报: the upstream connection is down; readings wait in the journal')
      this.reconnectTimer = setTimeout(() => this.connect(), delay)
      this.wake()
    })
  }

  private wake(): void {
    const wake = this.wakeUp
    this.wakeUp = undefined
    wake?.()
  }

  /** Until woken: a commit, a connect, a close, a stop. */
  private sleep(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => this.wake(), ms)
      this.wakeUp = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }

  private async pump(): Promise<void> {
    while (!this.stopped) {
      if (!this.connected) {
        await this.sleep()
        continue
      }
      const journal = this.deps.journal
      if (this.alerts && this.alertCursor < this.alerts.journal.head) {
        await this.pumpAlerts(this.alerts)
        continue
      }
      if (this.cursor < journal.start) this.skipTo(journal.start, 'the journal no longer holds them')
      if (this.cursor >= journal.head) {
        await this.sleep()
        continue
      }
      try {
        const { readings, end } = await journal.read(this.cursor, this.cfg.chunkReadings)
        if (end <= this.cursor) {
          // nothing readable here (a damaged stretch at the end): wait for the next commit
          await this.sleep(1000)
          continue
        }
        const forwarded = readings.filter(this.deps.forwards)
        await this.take(forwarded.length)
        if (this.stopped || !this.connected) continue
        await this.send(mapReadings(this.cfg.mapping, forwarded, this.deps.timeZoneOf))
        await this.advance(end, forwarded.length)
      } catch (err) {
        // not acknowledged as a whole: sent again from the cursor once connected
        this.lastError = (err as Error).message
        if (this.connected) await this.sleep(1000)
      }
    }
  }

  /** One chunk of warning events, from the alert cursor; on failure sent again whole once connected. */
  private async pumpAlerts(alerts: UplinkAlerts): Promise<void> {
    const journal = alerts.journal
    if (this.alertCursor < journal.start) {
      const bytes = journal.start - this.alertCursor
      this.droppedAlertBytes += bytes
      this.deps.log.error({ from: this.alertCursor, to: journal.start, bytes }, '联网上报: warning events older than the backlog bound are not sent upstream; they stay in this platform')
      this.alertCursor = journal.start
    }
    try {
      const { readings: events, end } = await journal.read(this.alertCursor, 200)
      if (end <= this.alertCursor) {
        await this.sleep(1000)
        return
      }
      const forwarded = events.filter(alerts.forwards).map(reportedOf)
      await this.send(mapAlertEvents(this.cfg.mapping, forwarded, this.deps.timeZoneOf))
      this.alertCursor = end
      this.sentEvents += forwarded.length
      this.lastSentAt = this.deps.now()
      await this.saveAlertCursor()
    } catch (err) {
      this.lastError = (err as Error).message
      if (this.connected) await this.sleep(1000)
    }
  }

  private async saveAlertCursor(): Promise<void> {
    await writeFileAtomic(join(this.deps.dir, ALERTS_CURSOR_FILE), JSON.stringify({ position: this.alertCursor }))
    this.releaseAlerts()
  }

  private releaseAlerts(): void {
    const journal = this.alerts?.journal
    journal?.retain('uplink', Math.max(this.alertCursor, journal.head - this.cfg.maxBacklogBytes))
  }

  private send(messages: readonly UplinkMessage[]): Promise<unknown> {
    const client = this.client
    if (!client) return Promise.reject(new Error('not connected'))
    return Promise.all(
      messages.map(
        (m) =>
          new Promise<void>((resolve, reject) => {
            const fail = (err: Error) => {
              this.inFlight.delete(fail)
              reject(err)
            }
            this.inFlight.add(fail)
            client.publish(m.topic, m.payload, { qos: 1 }, (err) => {
              if (!this.inFlight.delete(fail)) return
              if (err) reject(err)
              else resolve()
            })
          }),
      ),
    )
  }

  /** At most once (QoS 1 on this connection): a state lost with a connection is sent again, current, at the next. */
  private sendState(state: DeviceState): void {
    const m = mapState(this.cfg.mapping, state, this.deps.timeZoneOf)
    this.statesSent.set(state.deviceId, state.online)
    if (m) this.client?.publish(m.topic, m.payload, { qos: 1, retain: m.retain }, () => undefined)
  }

  private failInFlight(err: Error): void {
    for (const fail of [...this.inFlight]) fail(err)
  }

  private async advance(end: number, readings: number): Promise<void> {
    this.cursor = end
    this.clock.passed(end)
    this.lastSentAt = this.deps.now()
    this.sentReadings += readings
    await this.saveCursor()
    this.onSent({ end, readings })
  }

  /** Gives up `cursor` to `to` upstream (the backlog bound, or segments that are gone). */
  private skipTo(to: number, why: string): void {
    const bytes = to - this.cursor
    this.droppedBytes += bytes
    this.deps.log.error({ from: this.cursor, to, bytes }, `联网上报: readings older than the backlog bound are not sent upstream (${why}); they stay in this platform's store`)
    this.cursor = to
    this.clock.passed(to)
  }

  private async saveCursor(): Promise<void> {
    await writeFileAtomic(join(this.deps.dir, CURSOR_FILE), JSON.stringify({ position: this.cursor }))
    this.release()
  }

  /** The journal may let segments go up to the cursor, or to the backlog bound when that is later. */
  private release(): void {
    this.deps.journal.retain('uplink', Math.max(this.cursor, this.deps.journal.head - this.cfg.maxBacklogBytes))
  }

  /** Waits until `n` readings may go (a token bucket holding one second's worth). */
  private async take(n: number): Promise<void> {
    const rate = this.cfg.maxPerSecond
    for (;;) {
      const at = performance.now()
      this.tokens = Math.min(rate, this.tokens + ((at - this.tokensAt) / 1000) * rate)
      this.tokensAt = at
      // a chunk larger than a second's worth goes once the bucket is full
      if (this.tokens >= Math.min(n, rate)) {
        this.tokens -= n
        return
      }
      await this.sleepMs(((Math.min(n, rate) - this.tokens) / rate) * 1000)
      if (this.stopped) return
    }
  }

  private sleepMs(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.max(1, ms)))
  }
}

/** The URL without a password in it (it may carry one: mqtt://user:pass@host). */
function redact(url: string): string {
  try {
    const u = new URL(url)
    u.password = ''
    u.username = ''
    return u.toString()
  } catch {
    return '(not a URL)'
  }
}
