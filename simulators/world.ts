import type { DeviceKind } from '../ingest/contract/kinds.js'
import type { MetricValue } from '../ingest/reading.js'
import { localHour } from '../ingest/zone-time.js'
import { seeded, type Random } from './random.js'
import { gnssModel, instrument, instrumentError, prismModel, type InstrumentModel, type InstrumentState } from './signal.js'
import type { Effect, Scenario } from './scenario.js'

/**
 * The simulated site: what every device would measure at a simulated time, under a scenario.
 * Deterministic for a seed: each device draws from its own seeded source (so adding a device
 * changes no other), and a device's messages must be asked for in time order.
 *
 * The physics is simple and stated: rain is rectangular pulses; the pond level, the dry beach and
 * the phreatic line answer to rain through exponential storage with time constants of 24 h and
 * 36 h; slopes creep and, in the accelerating stage, follow Fukuzono's α = 2 law; power follows
 * shifts (day 08–20) in a producing mine and stays at standby in a suspended one.
 */
export interface SimDevice {
  readonly id: string
  readonly kind: DeviceKind
  readonly mineId: string
  readonly intervalMs: number
  readonly mineStatus: 'producing' | 'suspended'
  readonly timeZone: string
}

export interface Message {
  readonly deviceId: string
  readonly mineId: string
  /** Simulated send time, epoch ms. */
  readonly t: number
  readonly payload: string
  readonly readings: number
  /** False for the deliberately bad payloads (garbage, clock skew): the platform must refuse them. */
  readonly valid: boolean
}

const HOUR = 3_600_000
const DAY = 24 * HOUR

/** Exponential storage of rectangular rain pulses: mm held at t with time constant tau (h). */
function storage(pulses: readonly { a: number; b: number; mmPerHour: number }[], t: number, tauH: number): number {
  let s = 0
  for (const p of pulses) {
    if (t <= p.a) continue
    const filled = p.mmPerHour * tauH * (1 - Math.exp(-(Math.min(t, p.b) - p.a) / (tauH * HOUR)))
    s += t <= p.b ? filled : filled * Math.exp(-(t - p.b) / (tauH * HOUR))
  }
  return s
}

function hash(text: string): number {
  let h = 2166136261
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619)
  return h >>> 0
}

const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits

interface DeviceState {
  readonly rnd: Random
  last?: Record<string, MetricValue>
  energy: number
  lastT?: number
  backlog: { ts: number; values: Record<string, MetricValue> }[]
  /** A slope instrument's noise, daily cycle and outliers (simulators/signal.ts). */
  instrument?: { readonly state: InstrumentState; readonly model: InstrumentModel }
}

export class World {
  private readonly state = new Map<string, DeviceState>()
  private readonly devices: Map<string, SimDevice>

  constructor(
    devices: readonly SimDevice[],
    private readonly scenario: Scenario,
    private readonly seed: number,
    /** Simulated time of the scenario's start, epoch ms. */
    readonly start: number,
  ) {
    this.devices = new Map(devices.map((d) => [d.id, d]))
  }

  /** The messages a device sends at simulated time t: usually one; none while it is offline; its backlog when it is back. */
  emit(deviceId: string, t: number): Message[] {
    const device = this.devices.get(deviceId)
    if (!device) throw new Error(`no simulated device ${deviceId}`)
    const st = this.stateOf(device)
    const values = this.values(device, st, t)
    st.lastT = t
    if (!values) return [] // no power, no message
    const msg = (payload: string, readings: number, valid = true): Message[] => [{ deviceId, mineId: device.mineId, t, payload, readings, valid }]
    if (this.active('dropout', device, t)) {
      const drop = this.effect('dropout', device, t)!
      if (drop.type === 'dropout' && drop.backlog) st.backlog.push({ ts: t, values })
      return []
    }
    if (st.backlog.length > 0) {
      const backlog = [...st.backlog, { ts: t, values }]
      st.backlog = []
      return msg(JSON.stringify(backlog), backlog.length)
    }
    if (this.active('garbage', device, t)) {
      // what broken firmware prints: a NaN where a number should be
      return msg(`{"ts":${t},"values":{"${Object.keys(values)[0]}":NaN}}`, 1, false)
    }
    const skew = this.effect('clockSkew', device, t)
    if (skew?.type === 'clockSkew') return msg(JSON.stringify({ ts: t + skew.by, values }), 1, skew.by <= 5 * 60_000)
    return msg(JSON.stringify({ ts: t, values }), 1)
  }

  private stateOf(device: SimDevice): DeviceState {
    let st = this.state.get(device.id)
    if (!st) this.state.set(device.id, (st = { rnd: seeded(this.seed ^ hash(device.id)), energy: 100_000, backlog: [] }))
    return st
  }

  private effect(type: Effect['type'], device: SimDevice, t: number): Effect | undefined {
    return this.scenario.effects.find((e) => e.type === type && e.devices.includes(device.id) && t >= this.start + e.from && (e.to === undefined || t < this.start + e.to))
  }

  private active(type: Effect['type'], device: SimDevice, t: number): boolean {
    return this.effect(type, device, t) !== undefined
  }

  /** An effect on any device of the mine (rain at its gauges, a power outage). */
  private mineEffect(type: Effect['type'], mineId: string, t: number): boolean {
    return this.scenario.effects.some(
      (e) => e.type === type && e.devices.some((id) => this.devices.get(id)?.mineId === mineId) && t >= this.start + e.from && (e.to === undefined || t < this.start + e.to),
    )
  }

  private rainPulses(mineId: string) {
    return this.scenario.effects
      .filter((e): e is Extract<Effect, { type: 'rain' }> => e.type === 'rain' && e.devices.some((id) => this.devices.get(id)?.mineId === mineId))
      .map((e) => ({ a: this.start + e.from, b: this.start + (e.to ?? e.from + HOUR), mmPerHour: e.mmPerHour }))
  }

  private values(device: SimDevice, st: DeviceState, t: number): Record<string, MetricValue> | undefined {
    const outage = this.mineEffect('powerOutage', device.mineId, t) && this.active('powerOutage', device, t)
    if (outage && device.kind !== 'power') return undefined
    if (this.active('stuck', device, t) && st.last) return st.last
    const v = this.signal(device, st, t, outage)
    const spike = this.effect('spike', device, t)
    if (spike?.type === 'spike') {
      const key = Object.keys(v).find((k) => typeof v[k] === 'number')
      if (key) v[key] = round((v[key] as number) + spike.size)
    }
    st.last = v
    return v
  }

  private signal(device: SimDevice, st: DeviceState, t: number, outage: boolean): Record<string, MetricValue> {
    const { rnd } = st
    const hours = (t - this.start) / HOUR
    const pond = 0.015 * storage(this.rainPulses(device.mineId), t, 24) // m of pond rise
    switch (device.kind) {
      case 'prism':
      case 'gnss': {
        const d = this.displacement(device, t)
        // what a real instrument adds to the movement: noise, the daily cycle, outliers
        // (docs/slope-warnings.md); a prism's noise grows with its sight distance, 300–1,000 m here
        st.instrument ??= { state: instrument(seeded(this.seed ^ hash(`${device.id}/instrument`))), model: device.kind === 'prism' ? prismModel(300 + (hash(device.id) % 700)) : gnssModel() }
        const e = instrumentError(st.instrument.state, st.instrument.model, t, localHour(t, device.timeZone))
        const values: Record<string, MetricValue> = { dN: round(0.6 * d + e.dN), dE: round(0.8 * d + e.dE) }
        if (device.kind === 'prism') values.dH = round(-0.2 * d + e.dV)
        else Object.assign(values, { dU: round(-0.2 * d + e.dV), fix: 4, sats: 14 + Math.floor(rnd.next() * 8) })
        return values
      }
      case 'piezometer': {
        // the phreatic line answers to rain more slowly than the pond
        const rise = 0.018 * storage(this.rainPulses(device.mineId), t, 36)
        return { depth: round(6.2 - rise + rnd.gaussian(0.01)) }
      }
      case 'reservoir':
        return { level: round(97.8 + pond + rnd.gaussian(0.005)) }
      case 'beach':
        return { length: round(Math.max(0, 120 - 20 * pond + rnd.gaussian(0.3)), 1), freeboard: round(2.1 - pond + rnd.gaussian(0.005)) }
      case 'rain': {
        const rain = this.effect('rain', device, t)
        const mm = rain?.type === 'rain' ? Math.max(0, rain.mmPerHour * (device.intervalMs / HOUR) * (1 + rnd.gaussian(0.1))) : 0
        return { rainfall: round(mm, 1) }
      }
      case 'pump': {
        // pumps cycle with the water: on above 0.3 m of pond rise (and an hour in four to keep the sump low)
        const stopped = outage || this.active('pumpStop', device, t) || this.mineEffect('powerOutage', device.mineId, t)
        const wanted = pond > 0.3 || Math.floor(hours) % 4 === 0
        const running = !stopped && wanted
        return { running, flow: round(running ? 120 + rnd.gaussian(4) : 0, 1), current: round(running ? 35 + rnd.gaussian(1) : 0, 1) }
      }
      case 'power': {
        const hour = localHour(t, device.timeZone)
        const night = this.effect('nightPower', device, t)
        let kw = device.mineStatus === 'producing' ? (hour >= 8 && hour < 20 ? 420 : 150) : 35
        if (night?.type === 'nightPower' && (hour >= 20 || hour < 6)) kw = night.kw
        if (outage) kw = 0
        kw = Math.max(0, kw * (1 + rnd.gaussian(0.03)))
        const dtH = st.lastT === undefined ? 0 : (t - st.lastT) / HOUR
        st.energy += kw * dtH
        return { voltage: round(outage ? 0 : 398 + rnd.gaussian(2), 1), current: round(outage ? 0 : (kw * 1000) / (Math.sqrt(3) * 398 * 0.9), 1), power: round(kw, 1), energy: round(st.energy, 1) }
      }
      case 'video': {
        const dark = this.active('cameraOffline', device, t)
        return { online: !dark, recording: !dark, fps: dark ? 0 : 25 }
      }
    }
  }

  /** Slope displacement (mm) along the direction of movement: creep, then the accelerating stage. */
  private displacement(device: SimDevice, t: number): number {
    let d = 0
    for (const e of this.scenario.effects) {
      if (!e.devices.includes(device.id)) continue
      const from = this.start + e.from
      if (t <= from) continue
      if (e.type === 'creep') d += (e.mmPerDay * (Math.min(t, e.to === undefined ? t : this.start + e.to) - from)) / DAY
      if (e.type === 'acceleration') {
        const fail = this.start + e.to
        const A = 1 / (e.v0 * ((fail - from) / DAY)) // 1/v = A·(tf − t), v = v0 at the start
        const until = Math.min(t, fail - 60_000)
        d += (1 / A) * Math.log((fail - from) / (fail - until))
      }
    }
    return d
  }
}
