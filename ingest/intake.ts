import { deviceTopic } from './contract/topics.js'
import { decodeTelemetry, type DecodeLimits } from './decode.js'
import { LogThrottle, type Log } from './log.js'
import type { IngestMetrics } from './metrics.js'
import type { Presence } from './presence.js'
import type { Quarantine } from './quarantine.js'
import type { Reading } from './reading.js'
import { problem, type Problem } from './refusals.js'
import type { DevicePrincipal, Principal } from './registry.js'
import { publishVerdict, type PublishVerdict } from './broker/acl.js'
import { decodeStatus } from './status.js'
import { decodeReported, type ReportedEvent } from './uplink/reported.js'

/**
 * What happens to one PUBLISH from a device: authorize the topic, decode and validate, append the
 * good readings to the journal, hand them to live consumers once they are on disk, quarantine and
 * explain the bad. Called from the broker's authorizePublish hook, whose callback aedes answers
 * with the PUBACK, so a reading is acknowledged only after its journal fsync.
 * It never rejects for anything a device can send; it rejects with a JournalRefusal when the
 * journal cannot take the readings, and then the message must not be acknowledged.
 */
export interface IntakeDeps {
  readonly limits: DecodeLimits
  readonly now: () => number
  readonly quarantine: Quarantine
  readonly metrics: IngestMetrics
  readonly presence: Presence
  /** Publishes a platform message to a device topic (the rejects channel). */
  readonly tell: (topic: string, body: object) => void
  readonly log: Log
  readonly journal: { append(readings: readonly Reading[]): Promise<number> }
  /**
   * A regulator's keeping of the mines' reported warning events (alerting/reported/): they are on
   * disk when this resolves, before the PUBACK. Absent: the platform keeps none, and refuses them.
   */
  readonly reported?: { append(gatewayId: string, events: readonly ReportedEvent[]): Promise<void> }
}

export type ReadingsListener = (readings: readonly Reading[]) => void

export interface IntakeResult {
  /** Route the message on (true), or acknowledge and drop it (false). */
  readonly route: boolean
  /** Telemetry is a stream, not state: the broker never retains it. */
  readonly retainable: boolean
  readonly accepted: number
  readonly problems: readonly Problem[]
}

export interface RejectNotice {
  readonly code: string
  readonly message: string
  readonly receivedAt: string
  readonly topic: string
  /** Readings of the same message that were accepted (a backlog array is judged per reading). */
  readonly accepted: number
  /** The first NOTICE_PROBLEMS problems in full. */
  readonly problems: readonly Problem[]
  /** Every problem of the message, counted by code (the notice is bounded, the count is not). */
  readonly counts: Readonly<Record<string, number>>
}

/**
 * Problems a rejects notice and a quarantine record carry in full; the rest are counted by code.
 * One message of thousands of bad readings must not become a notice of megabytes.
 */
export const NOTICE_PROBLEMS = 20

export class Intake {
  private readonly listeners: ReadingsListener[] = []
  private readonly throttle = new LogThrottle(60_000)
  /**
   * Each principal's last topic and its verdict: a device publishes to the same topic every time,
   * and the verdict is a pure function of the two (acl.ts), so it is worked out once, not per message.
   */
  private readonly verdicts = new WeakMap<Principal, { readonly topic: string; readonly verdict: PublishVerdict }>()

  constructor(private readonly deps: IntakeDeps) {}

  /** Live consumers of readings (live push): called once the readings are on disk. The rules read the journal (alerting/rule-feed.ts). */
  onReadings(listener: ReadingsListener): void {
    this.listeners.push(listener)
  }

  async publish(principal: Principal, clientId: string, topic: string, payload: Buffer): Promise<IntakeResult> {
    const receivedAt = this.deps.now()
    const verdict = this.verdictOf(principal, topic)
    if (!verdict.ok) return this.refuse(principal, clientId, topic, payload, receivedAt, [verdict.problem], 0, principal.type === 'device' ? principal : undefined)
    if (verdict.channel === 'reported') return this.reported(principal, clientId, topic, payload, receivedAt, verdict.mineId)
    // the device the message is of: the publisher, or the one of a gateway's devices it names
    const device = verdict.device
    if (verdict.channel === 'status') {
      const status = decodeStatus(payload, this.deps.limits.maxPayloadBytes)
      if ('problem' in status) return this.refuse(principal, clientId, topic, payload, receivedAt, [status.problem], 0, device)
      this.deps.presence.status(device.id, status.online, receivedAt)
      return { route: true, retainable: true, accepted: 0, problems: [] }
    }
    const decoded = decodeTelemetry(payload, { mineId: device.mineId, deviceId: device.id, kind: device.kind }, receivedAt, this.deps.limits)
    if (decoded.readings.length > 0) {
      // before anything else is said about the message: if the journal refuses, none of it is acknowledged
      await this.deps.journal.append(decoded.readings)
      this.deps.metrics.accepted.inc({ kind: device.kind }, decoded.readings.length)
      // a mine platform's link is judged by how late its freshest readings arrive (alerting/links.ts)
      if (principal.type === 'gateway') this.deps.presence.gatewayDelivered(principal.id, newest(decoded.readings), receivedAt)
      this.emit(decoded.readings)
    }
    if (decoded.problems.length > 0) {
      return this.refuse(principal, clientId, topic, payload, receivedAt, decoded.problems, decoded.readings.length, device)
    }
    return { route: true, retainable: false, accepted: decoded.readings.length, problems: [] }
  }

  /** A mine platform's warning events (a gateway naming the mine): kept whole, or refused whole. */
  private async reported(principal: Principal, clientId: string, topic: string, payload: Buffer, receivedAt: number, mineId: string): Promise<IntakeResult> {
    const sink = this.deps.reported
    if (!sink) return this.refuse(principal, clientId, topic, payload, receivedAt, [problem('TOPIC_FORBIDDEN', 'this platform does not keep reported warnings')], 0, undefined)
    const decoded = decodeReported(payload, mineId, this.deps.limits.maxPayloadBytes)
    if ('problem' in decoded) return this.refuse(principal, clientId, topic, payload, receivedAt, [decoded.problem], 0, undefined)
    await sink.append(principal.id, decoded.events)
    this.deps.metrics.reportedEvents.inc(decoded.events.length)
    return { route: false, retainable: false, accepted: decoded.events.length, problems: [] }
  }

  private verdictOf(principal: Principal, topic: string): PublishVerdict {
    const last = this.verdicts.get(principal)
    if (last?.topic === topic) return last.verdict
    const verdict = publishVerdict(principal, topic)
    this.verdicts.set(principal, { topic, verdict })
    return verdict
  }

  private emit(readings: readonly Reading[]): void {
    for (const listener of this.listeners) {
      try {
        listener(readings)
      } catch (err) {
        // one consumer's bug must not stop the others or the broker
        this.deps.log.error({ err }, 'a readings consumer failed')
      }
    }
  }

  /** `device`: the device the message is of, whose rejects topic is told (none: a topic no device of the publisher's). */
  private refuse(
    principal: Principal,
    clientId: string,
    topic: string,
    payload: Buffer,
    receivedAt: number,
    problems: readonly Problem[],
    accepted: number,
    device: DevicePrincipal | undefined,
  ): IntakeResult {
    const { metrics, quarantine, log } = this.deps
    const counts: Record<string, number> = {}
    for (const p of problems) counts[p.code] = (counts[p.code] ?? 0) + 1
    for (const [code, n] of Object.entries(counts)) metrics.refused.inc({ code }, n)
    const listed = problems.slice(0, NOTICE_PROBLEMS)
    const kept = quarantine.keep({
      receivedAt,
      topic,
      clientId,
      principal: principal.id,
      mineId: device?.mineId ?? null,
      deviceId: device?.id ?? null,
      problems: listed,
      counts,
      payload,
    })
    if (kept) metrics.quarantined.inc()
    else metrics.quarantineDropped.inc()
    const first = problems[0]!
    const suppressed = this.throttle.admit(`${principal.id}/${first.code}`, receivedAt)
    if (suppressed >= 0) {
      log.warn({ principal: principal.id, clientId, topic, code: first.code, problems: problems.length, accepted, suppressed, quarantined: kept }, `refused: ${first.message}`)
    }
    if (device) {
      const notice: RejectNotice = {
        code: first.code,
        message: first.message,
        receivedAt: new Date(receivedAt).toISOString(),
        topic,
        accepted,
        problems: listed,
        counts,
      }
      this.deps.tell(deviceTopic(device.mineId, device.id, 'rejects'), notice)
    }
    // a message with any good reading still went where it was sent; the rest is dropped
    return { route: accepted > 0, retainable: false, accepted, problems }
  }
}

function newest(readings: readonly Reading[]): number {
  let ts = readings[0]!.ts
  for (const r of readings) if (r.ts > ts) ts = r.ts
  return ts
}
