import mqtt, { type MqttClient } from 'mqtt'
import { startPublisher, type Publisher } from '../simulators/load.js'
import type { BenchDevice } from './site.js'
import { fmt, progress, Samples } from './stats.js'

/** N device connections (one MQTT.js client each), opened with bounded concurrency. */
export async function connectFleet(
  label: string,
  port: number,
  devices: readonly BenchDevice[],
  opts: { concurrency?: number; auth?: boolean } = {},
): Promise<{ clients: MqttClient[]; seconds: number }> {
  const clients: MqttClient[] = new Array(devices.length)
  let next = 0
  let connected = 0
  const started = performance.now()
  const stop = progress(`${label}: connecting`, () => `${fmt(connected)}/${fmt(devices.length)} connected`)
  const worker = async () => {
    while (next < devices.length) {
      const i = next++
      const d = devices[i]!
      clients[i] = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
        clientId: d.id,
        ...(opts.auth === false ? {} : { username: d.id, password: d.password }),
        reconnectPeriod: 0,
        connectTimeout: 120_000,
        keepalive: 600,
      })
      connected++
    }
  }
  try {
    await Promise.all(Array.from({ length: opts.concurrency ?? 50 }, worker))
  } finally {
    stop()
  }
  return { clients, seconds: (performance.now() - started) / 1000 }
}

export interface LoadResult {
  readonly acked: number
  readonly seconds: number
  readonly ackLatency: Samples
  readonly errors: number
}

/**
 * Every client publishes prism readings for `seconds`, as fast as PUBACKs allow (`window` in
 * flight each) or at `ratePerDevice`. Timestamps are unique per device, from `t0`, so the store
 * can be counted afterwards.
 */
export async function runLoad(
  label: string,
  clients: readonly MqttClient[],
  devices: readonly BenchDevice[],
  opts: { seconds: number; window: number; ratePerDevice?: number; t0: number; seqFrom?: number },
): Promise<LoadResult> {
  const ackLatency = new Samples()
  const started = performance.now()
  const publishers: Publisher[] = clients.map((client, n) => {
    const d = devices[n]!
    return startPublisher(client, {
      topic: `mines/${d.mineId}/devices/${d.id}/telemetry`,
      window: opts.window,
      ...(opts.ratePerDevice === undefined ? {} : { ratePerSec: opts.ratePerDevice }),
      message: (i) => {
        const ts = opts.t0 + (opts.seqFrom ?? 0) + i
        return { ts, body: `{"ts":${ts},"values":{"dN":${(i % 100) / 10},"dE":-1.25,"dH":0.4}}` }
      },
      onAck: (_ts, ms) => ackLatency.add(ms),
    })
  })
  const acked = () => publishers.reduce((n, p) => n + p.stats.acked, 0)
  let last = 0
  const stop = progress(`${label}`, () => {
    const now = acked()
    const line = `${fmt(now)} acknowledged, ${fmt(now - last)}/s`
    last = now
    return line
  })
  await new Promise((r) => setTimeout(r, opts.seconds * 1000))
  for (const p of publishers) p.stop()
  const results = await Promise.all(publishers.map((p) => p.done))
  stop()
  const seconds = (performance.now() - started) / 1000
  return { acked: acked(), seconds, ackLatency, errors: results.filter((r) => r.error).length }
}

export async function closeFleet(clients: readonly MqttClient[]): Promise<void> {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)))
}
