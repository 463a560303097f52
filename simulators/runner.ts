import mqtt, { type MqttClient } from 'mqtt'
import { startPublisher } from './load.js'
import { between } from './plan.js'
import type { Message, SimDevice, World } from './world.js'

/**
 * Runs a simulated world against a broker: one MQTT connection per device with its own
 * credentials and a will on its status topic, QoS 1 publishes at the device's interval. Time is
 * compressed by `speed` (60: a simulated minute per real second). So that timestamps never run
 * ahead of the real clock (the platform refuses readings from the future), a run at speed > 1 is
 * set in the past: it starts `duration` ago and ends about now.
 */
export interface RunnerOptions {
  readonly url: string
  readonly devices: readonly SimDevice[]
  readonly world: World
  readonly password: (deviceId: string) => string
  readonly speed: number
  /** Simulated length of the run, ms. */
  readonly durationMs: number
  /** The real clock (injectable). */
  readonly realNow?: () => number
  /** How often the runner wakes to send what is due, real ms. */
  readonly tickMs?: number
  readonly concurrency?: number
  /** MQTT client ids are `<device id><clientSuffix>` (default `-sim`); two runners need different ones. */
  readonly clientSuffix?: string
  /**
   * The identity a device connects and publishes as (its username, client id and topics), when it
   * is not the device's own: the demo's drills run as the devices' shadows (infra/drill-site.ts).
   * The password is still asked for the device's id.
   */
  readonly publishAs?: (deviceId: string) => string
  /** Real ms to wait at the end of a run for the last acknowledgements (30 s). */
  readonly settleMs?: number
}

export interface RunnerStats {
  connected: number
  sent: number
  acked: number
  /** Messages the platform refused and explained on the device's rejects topic. */
  refused: number
  errors: number
  lastError?: string
}

export class SimRunner {
  readonly stats: RunnerStats = { connected: 0, sent: 0, acked: 0, refused: 0, errors: 0 }
  private readonly clients = new Map<string, MqttClient>()
  private realStart = 0
  private simCursor = 0
  private readonly realNow: () => number

  private closed = false

  constructor(private readonly opts: RunnerOptions) {
    this.realNow = opts.realNow ?? Date.now
  }

  /** The simulated time now (where the run has got to). */
  get simTime(): number {
    if (this.realStart === 0) return this.opts.world.start
    return Math.min(this.opts.world.start + (this.realNow() - this.realStart) * this.opts.speed, this.opts.world.start + this.opts.durationMs)
  }

  get done(): boolean {
    return this.simCursor >= this.opts.world.start + this.opts.durationMs
  }

  /** Connects every device (bounded concurrency), sets its will, says it is online, listens for its rejects. */
  async connect(): Promise<void> {
    let next = 0
    const worker = async () => {
      while (next < this.opts.devices.length && !this.closed) {
        const d = this.opts.devices[next++]!
        const as = this.as(d.id)
        const base = `mines/${d.mineId}/devices/${as}`
        const client = await mqtt.connectAsync(this.opts.url, {
          username: as,
          password: this.opts.password(d.id),
          clientId: `${as}${this.opts.clientSuffix ?? '-sim'}`,
          reconnectPeriod: 0,
          connectTimeout: 30_000,
          will: { topic: `${base}/status`, payload: Buffer.from('{"online":false}'), qos: 1, retain: true },
        })
        // closed while this one connected: it must not stay connected behind the runner's back
        if (this.closed) {
          await client.endAsync(true).catch(() => undefined)
          return
        }
        this.clients.set(d.id, client)
        client.on('message', (topic) => {
          if (topic.endsWith('/rejects')) this.stats.refused++
        })
        client.on('error', (err) => this.fail(err))
        try {
          await client.subscribeAsync(`${base}/rejects`, { qos: 1 })
          await client.publishAsync(`${base}/status`, '{"online":true}', { qos: 1, retain: true })
        } catch (err) {
          // close() ended it meanwhile: not a failure of the run
          if (this.closed) return
          throw err
        }
        this.stats.connected++
      }
    }
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency ?? 20, this.opts.devices.length) }, worker))
  }

  /** Sends everything due up to the simulated now; call on a timer until `done`. */
  step(): Message[] {
    // closed: its clients are ended, and publishing on one throws inside MQTT.js
    if (this.closed) return []
    if (this.realStart === 0) {
      this.realStart = this.realNow()
      this.simCursor = this.opts.world.start
    }
    const to = this.simTime
    const end = this.opts.world.start + this.opts.durationMs
    const due = between(this.opts.world, this.opts.devices, this.simCursor, to >= end ? end : to)
    this.simCursor = to >= end ? end : to
    for (const m of due) this.send(m)
    return due
  }

  /** Runs to the end: steps on a timer, then waits for the last acknowledgements. */
  async run(onTick?: () => void): Promise<RunnerStats> {
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (!this.closed) {
          this.step()
          onTick?.()
        }
        if (this.done || this.closed) {
          clearInterval(timer)
          resolve()
        }
      }, this.opts.tickMs ?? 50)
    })
    // a closed run's last publishes will not be answered: nothing to wait for
    const deadline = this.closed ? 0 : Date.now() + (this.opts.settleMs ?? 30_000)
    while (this.stats.acked + this.stats.errors < this.stats.sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    return this.stats
  }

  /**
   * Load mode: every device at `ratePerDevice` readings/s for `seconds` (real time), its readings
   * from the world at 1/rate apart; returns what was sent and acknowledged.
   */
  async load(ratePerDevice: number, seconds: number, onTick?: () => void): Promise<RunnerStats> {
    const stepMs = 1000 / ratePerDevice
    const publishers = this.opts.devices.map((d) =>
      startPublisher(this.clients.get(d.id)!, {
        topic: `mines/${d.mineId}/devices/${this.as(d.id)}/telemetry`,
        window: 8,
        ratePerSec: ratePerDevice,
        message: (i) => {
          const t = this.opts.world.start + Math.round(i * stepMs)
          const [m] = this.opts.world.emit(d.id, t)
          return { ts: t, body: m?.payload ?? JSON.stringify({ ts: t, values: {} }) }
        },
      }),
    )
    const timer = setInterval(() => {
      this.stats.sent = publishers.reduce((n, p) => n + p.stats.sent, 0)
      this.stats.acked = publishers.reduce((n, p) => n + p.stats.acked, 0)
      onTick?.()
    }, 200)
    await new Promise((r) => setTimeout(r, seconds * 1000))
    for (const p of publishers) p.stop()
    const results = await Promise.all(publishers.map((p) => p.done))
    clearInterval(timer)
    this.stats.sent = results.reduce((n, r) => n + r.sent, 0)
    this.stats.acked = results.reduce((n, r) => n + r.acked, 0)
    for (const r of results) if (r.error) this.fail(r.error)
    return this.stats
  }

  async close(): Promise<void> {
    // a run in progress stops stepping (the demo's live run is a year long)
    this.closed = true
    await Promise.all([...this.clients.values()].map((c) => c.endAsync(true).catch(() => undefined)))
  }

  private send(m: Message): void {
    const client = this.clients.get(m.deviceId)
    if (!client) return
    this.stats.sent++
    client.publish(`mines/${m.mineId}/devices/${this.as(m.deviceId)}/telemetry`, m.payload, { qos: 1 }, (err) => {
      if (err) this.fail(err)
      else this.stats.acked++
    })
  }

  private as(deviceId: string): string {
    return this.opts.publishAs?.(deviceId) ?? deviceId
  }

  private fail(err: Error): void {
    this.stats.errors++
    this.stats.lastError = err.message
  }
}
