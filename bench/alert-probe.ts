import mqtt from 'mqtt'
import { PROBE } from './site.js'

/**
 * The alerting benchmark's probe, in a process of its own (run.ts starts it): a piezometer that
 * crosses its red threshold every 100 ms, and a service account that hears the warning events.
 * The load generator's event loop is busy with a thousand clients (its delay p99 reached 200 ms);
 * timed there, the probe measured the generator as much as the platform. Here the loop is idle,
 * so the clock is read when the message really leaves and really arrives.
 *
 * argv: the broker's URL. stdin: "start" (begin crossing) then "stop" (stop, wait, report).
 * stdout: "ready", then one JSON line: `crossings`, each [ms since start, publish-to-event ms,
 * publish-to-committed ms] (null when no event came), and the CPU seconds this process used from start to stop.
 */
const url = process.argv[2]!
const probe = await mqtt.connectAsync(url, { username: PROBE.device, password: PROBE.password, clientId: PROBE.device, reconnectPeriod: 0 })
const listener = await mqtt.connectAsync(url, { username: PROBE.account, password: PROBE.accountPassword, clientId: PROBE.account, reconnectPeriod: 0 })

interface Crossing {
  readonly at: number
  readonly perf: number
  readonly wall: number
  latency: number
  toCommitted: number
}
const crossings: Crossing[] = []
const byValue = new Map<number, Crossing>()
listener.on('message', (_topic, payload) => {
  // the event carries the value that caused it, distinct for every crossing
  const event = JSON.parse(payload.toString()) as { at: number; alert: { value: number } }
  const c = byValue.get(event.alert.value)
  if (!c) return
  c.latency = performance.now() - c.perf
  // the event's `at` is when its reading went to the rules, on the same machine's clock
  c.toCommitted = event.at - c.wall
  byValue.delete(event.alert.value)
})
await listener.subscribeAsync(`mines/${PROBE.mineId}/alerts`, { qos: 1 })
process.stdout.write('ready\n')

let timer: NodeJS.Timeout | undefined
let started = 0
let cpu0 = process.cpuUsage()
const t0 = Date.now() - 3_600_000
process.stdin.setEncoding('utf8')
for await (const chunk of process.stdin) {
  const command = String(chunk).trim()
  if (command === 'start') {
    started = performance.now()
    cpu0 = process.cpuUsage()
    let k = 0
    timer = setInterval(() => {
      // a distinct value per crossing identifies the event it causes
      const depth = k % 2 === 0 ? 3.5 - k / 1e6 : 5 + k / 1e6
      const c: Crossing = { at: performance.now() - started, perf: performance.now(), wall: Date.now(), latency: Number.NaN, toCommitted: Number.NaN }
      crossings.push(c)
      byValue.set(depth, c)
      probe.publish(`mines/${PROBE.mineId}/devices/${PROBE.device}/telemetry`, JSON.stringify({ ts: t0 + k, values: { depth } }), { qos: 1 })
      k++
    }, 100)
  } else if (command === 'stop') {
    clearInterval(timer)
    // the last crossings' events are on their way: wait for them (bounded)
    const until = performance.now() + 5000
    while (byValue.size > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 20))
    const cpu = process.cpuUsage(cpu0)
    process.stdout.write(`${JSON.stringify({ crossings: crossings.map((c) => [c.at, c.latency, c.toCommitted]), cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`)
    await probe.endAsync(true)
    await listener.endAsync(true)
    process.exit(0)
  }
}
