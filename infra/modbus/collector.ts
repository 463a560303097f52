import modbus from 'modbus-serial'
import { Counter, Gauge, type Registry as MetricsRegistry } from 'prom-client'
import { deviceTopic } from '../../ingest/contract/topics.js'
import type { Intake } from '../../ingest/intake.js'
import { LogThrottle, type Log } from '../../ingest/log.js'
import { readPlan, valuesOf, type ModbusConfig, type ModbusRegister } from '../../ingest/modbus/register-map.js'
import type { Presence } from '../../ingest/presence.js'
import type { DevicePrincipal } from '../../ingest/registry.js'

/**
 * Modbus TCP collectors (协议改造, issue 16 item 2): per device with a `modbus` map, its registers
 * are read at its interval (modbus-serial, a maintained client) and turned into one reading of the
 * device contract, which goes through the same intake as a published one: decoded and validated,
 * journalled (fsynced) before it counts, a bad value refused and quarantined with its code. A poll
 * that fails (no connection, a timeout, a Modbus exception) is a silence, never a zero: no reading
 * is made, the device shows as not connected, and the 断线 rule judges the gap as for any device.
 */
export interface ModbusDevice {
  readonly principal: DevicePrincipal
  readonly map: ModbusConfig
}

export interface CollectorStatus {
  readonly device: string
  readonly endpoint: string
  readonly ok: boolean
  readonly lastOk: number | null
  /** The last poll's error: null once the device answers again (the failures stay counted). */
  readonly lastError: string | null
  readonly polls: number
  readonly failures: number
}

interface Deps {
  readonly intake: Pick<Intake, 'publish'>
  readonly presence: Pick<Presence, 'connected' | 'disconnected'>
  readonly now: () => number
  readonly log: Log
  readonly metrics: MetricsRegistry
}

// a CommonJS package: its module is the client class, which also carries itself as `default`
const ModbusRTU = modbus.default
type ModbusClient = InstanceType<typeof ModbusRTU>

class Collector {
  private client: ModbusClient | undefined
  private timer: NodeJS.Timeout | undefined
  private stopped = false
  private connected = false
  status: CollectorStatus

  constructor(
    readonly device: ModbusDevice,
    private readonly deps: Deps,
    private readonly counters: { polls: Counter<'device' | 'result'> },
    private readonly throttle: LogThrottle,
  ) {
    this.status = { device: device.principal.id, endpoint: `${device.map.host}:${device.map.port}#${device.map.unit}`, ok: false, lastOk: null, lastError: null, polls: 0, failures: 0 }
  }

  start(): void {
    void this.poll()
  }

  private schedule(): void {
    if (this.stopped) return
    const every = (this.device.map.every ?? this.device.principal.intervalMs / 1000) * 1000
    this.timer = setTimeout(() => void this.poll(), every)
    this.timer.unref()
  }

  async poll(): Promise<void> {
    const { principal, map } = this.device
    const at = this.deps.now()
    try {
      const client = await this.connect()
      const words = new Map<string, number | boolean>()
      for (const read of readPlan(map)) {
        const answer = await this.read(client, read.table, read.address, read.length)
        answer.forEach((v, k) => words.set(`${read.table}:${read.address + k}`, v))
      }
      const values = valuesOf(map, (table: ModbusRegister['table'], address: number) => words.get(`${table}:${address}`))
      // through the intake, as a published reading: validated, journalled before it counts, refused and quarantined when bad
      const payload = Buffer.from(JSON.stringify({ ts: at, values }))
      await this.deps.intake.publish(principal, `modbus:${principal.id}`, deviceTopic(principal.mineId, principal.id, 'telemetry'), payload)
      if (!this.connected) {
        this.connected = true
        this.deps.presence.connected(principal.id, this.deps.now())
      }
      this.counters.polls.inc({ device: principal.id, result: 'ok' })
      this.status = { ...this.status, ok: true, lastOk: at, lastError: null, polls: this.status.polls + 1 }
    } catch (err) {
      const message = (err as Error).message
      this.counters.polls.inc({ device: principal.id, result: 'failed' })
      this.status = { ...this.status, ok: false, lastError: message, polls: this.status.polls + 1, failures: this.status.failures + 1 }
      // a silence, not a zero: no reading; the device is not reachable
      if (this.connected) {
        this.connected = false
        this.deps.presence.disconnected(principal.id, this.deps.now())
      }
      this.drop()
      if (this.throttle.admit(principal.id, at) >= 0)
        this.deps.log.warn(
          { device: principal.id, endpoint: this.status.endpoint, err: message },
          'Modbus 采集失败, 本次无读数 (a Modbus poll failed: no reading this time; retried at the next interval)',
        )
    } finally {
      this.schedule()
    }
  }

  private async connect(): Promise<ModbusClient> {
    if (this.client?.isOpen) return this.client
    this.drop()
    const client = new ModbusRTU()
    const { map } = this.device
    await client.connectTCP(map.host, { port: map.port })
    client.setID(map.unit)
    client.setTimeout(map.timeout * 1000)
    this.client = client
    return client
  }

  private async read(client: ModbusClient, table: ModbusRegister['table'], address: number, length: number): Promise<(number | boolean)[]> {
    if (table === 'holding') return (await client.readHoldingRegisters(address, length)).data
    if (table === 'input') return (await client.readInputRegisters(address, length)).data
    if (table === 'coil') return (await client.readCoils(address, length)).data.slice(0, length)
    return (await client.readDiscreteInputs(address, length)).data.slice(0, length)
  }

  private drop(): void {
    const client = this.client
    this.client = undefined
    if (client) {
      try {
        client.close(() => undefined)
      } catch {
        /* already closed */
      }
    }
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.drop()
    if (this.connected) this.deps.presence.disconnected(this.device.principal.id, this.deps.now())
    this.connected = false
  }
}

/** Every collector of the site, started, and replaced when the site changes (站点管理, an import). */
export class ModbusCollectors {
  private running = new Map<string, Collector>()
  private readonly polls: Counter<'device' | 'result'>
  private readonly throttle = new LogThrottle(60_000)

  constructor(private readonly deps: Deps) {
    this.polls = new Counter({ name: 'minewatch_modbus_polls_total', help: 'Modbus polls by device and result (ok, failed)', labelNames: ['device', 'result'], registers: [deps.metrics] })
    const reachable = () => this.status().filter((s) => s.ok).length
    new Gauge({
      name: 'minewatch_modbus_devices_reachable',
      help: 'Modbus devices whose last poll succeeded',
      registers: [deps.metrics],
      collect() {
        this.set(reachable())
      },
    })
  }

  /** The site's Modbus devices from now on: a device whose map is unchanged keeps its collector. */
  configure(devices: readonly ModbusDevice[]): void {
    const next = new Map<string, Collector>()
    for (const d of devices) {
      const old = this.running.get(d.principal.id)
      if (old && JSON.stringify(old.device) === JSON.stringify(d)) {
        next.set(d.principal.id, old)
        continue
      }
      old?.stop()
      const c = new Collector(d, this.deps, { polls: this.polls }, this.throttle)
      next.set(d.principal.id, c)
      c.start()
    }
    for (const [id, c] of this.running) if (!next.has(id)) c.stop()
    this.running = next
  }

  status(): CollectorStatus[] {
    return [...this.running.values()].map((c) => c.status)
  }

  stop(): void {
    for (const c of this.running.values()) c.stop()
    this.running.clear()
  }
}
