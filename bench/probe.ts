import type { MqttClient } from 'mqtt'
import { str } from '../infra/influx/influxql.js'
import { Samples } from './stats.js'

/**
 * Publish-to-stored latency, measured from outside: one probe device publishes a reading every
 * `everyMs`, and a poller asks InfluxDB (InfluxQL, every `pollMs`) which of them it holds yet.
 * The latency of a reading is from its publish to the first poll that saw it, so it includes
 * up to one poll interval of measuring error (stated in the report).
 */
export function startProbe(client: MqttClient, topic: string, device: string, query: (q: string) => Promise<unknown[][]>, opts: { everyMs: number; pollMs: number; t0: number }) {
  const sentAt = new Map<number, number>()
  const latency = new Samples()
  let k = 0
  let lastSeen = opts.t0 - 1
  let stopped = false
  const publisher = setInterval(() => {
    const ts = opts.t0 + k++
    sentAt.set(ts, performance.now())
    client.publish(topic, `{"ts":${ts},"values":{"dN":0,"dE":0,"dH":0}}`, { qos: 1 })
  }, opts.everyMs)
  const poll = async () => {
    while (!stopped || sentAt.size > 0) {
      const rows = await query(`SELECT "dN" FROM "prism" WHERE "device" = ${str(device)} AND time > ${lastSeen}ms ORDER BY time ASC`).catch(() => [])
      const seen = performance.now()
      for (const [ts] of rows as [number][]) {
        const at = sentAt.get(ts)
        if (at !== undefined) latency.add(seen - at)
        sentAt.delete(ts)
        lastSeen = Math.max(lastSeen, ts)
      }
      if (stopped && rows.length === 0) break
      await new Promise((r) => setTimeout(r, opts.pollMs))
    }
  }
  const polling = poll()
  return {
    latency,
    async stop() {
      clearInterval(publisher)
      stopped = true
      await polling
    },
  }
}
