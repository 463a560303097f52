import mqtt, { type MqttClient } from 'mqtt'
import { deviceTopic } from '../ingest/contract/topics.js'
import { provinceValues, type ProvinceMine } from './province.js'
import { seeded } from './random.js'

/**
 * A province's mine platforms reporting to the province's platform (issue 16 item 5): one MQTT
 * connection per mine, its uplink account, publishing each of its devices' readings on the
 * device's own topic (QoS 1) once an interval, the mines spread evenly over the interval as real
 * ones are. Each PUBACK's delay is kept: the figures of `npm run bench -- province`.
 */
export interface ProvinceLoad {
  /** Readings acknowledged, refused (a PUBACK never came or the connection failed). */
  readonly acked: number
  readonly failed: number
  /** PUBACK delays since the last `drainLatencies`, ms. */
  drainLatencies(): number[]
  stop(): Promise<void>
}

export async function connectMines(url: string, mines: readonly ProvinceMine[], password: (account: string) => string, concurrency = 25): Promise<MqttClient[]> {
  const clients: MqttClient[] = new Array(mines.length)
  let next = 0
  const worker = async () => {
    while (next < mines.length) {
      const i = next++
      const m = mines[i]!
      clients[i] = await mqtt.connectAsync(url, { username: m.account, password: password(m.account), clientId: `${m.account}-sim`, reconnectPeriod: 0, connectTimeout: 60_000, keepalive: 60 })
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return clients
}

export function startProvinceLoad(clients: readonly MqttClient[], mines: readonly ProvinceMine[], intervalSeconds: number, seed: number): ProvinceLoad {
  let acked = 0
  let failed = 0
  let latencies: number[] = []
  const random = seeded(seed)
  const rounds = new Array<number>(mines.length).fill(0)
  const timers: NodeJS.Timeout[] = []
  const send = (i: number) => {
    const m = mines[i]!
    const client = clients[i]!
    const n = rounds[i]!++
    const ts = Date.now()
    for (const d of m.devices) {
      const started = performance.now()
      client.publish(deviceTopic(m.id, d.id, 'telemetry'), JSON.stringify({ ts, values: provinceValues(d.kind, n, random) }), { qos: 1 }, (err) => {
        if (err) failed++
        else {
          acked++
          latencies.push(performance.now() - started)
        }
      })
    }
  }
  const periodMs = intervalSeconds * 1000
  mines.forEach((_, i) => {
    // each mine at its own phase of the interval
    const first = setTimeout(
      () => {
        send(i)
        timers.push(setInterval(() => send(i), periodMs))
      },
      Math.floor((i / mines.length) * periodMs),
    )
    timers.push(first)
  })
  return {
    get acked() {
      return acked
    },
    get failed() {
      return failed
    },
    drainLatencies() {
      const out = latencies
      latencies = []
      return out
    },
    async stop() {
      for (const t of timers) clearTimeout(t)
      await Promise.all(clients.map((c) => c.endAsync().catch(() => undefined)))
    },
  }
}
