import { mkdirSync } from 'node:fs'
import { connect as tcpConnect, type Socket } from 'node:net'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { MAX_CONNECT_BYTES } from '../ingest/broker/frame-guard.js'
import { COMPILED_ENTRY, runPlatform, testEnv } from '../test/helpers/process.js'
import { writeBenchSite, type BenchDevice } from './site.js'
import { fmt, mib, percentile, progress, rssOf, Samples } from './stats.js'

/**
 * `npm run bench -- attacks`: the attacks of the security issue replayed against the platform
 * process (`npm start`'s compiled entry, SQLite store) while a working device publishes QoS 1 readings one
 * after another. Prints the working device's PUBACK latency and the platform's memory in each
 * phase beside the idle phase (docs/security.md). Figures, never assertions: the bounds are
 * asserted by count in test/integration/.
 */
const ADMIN = 'bench-admin-token-0123456789'

export async function attacks(work: string, say: (line?: string) => void, seconds: number): Promise<Record<string, unknown>> {
  // production scrypt cost: the cost a guesser makes the platform pay per wrong secret
  const { file, devices } = await writeBenchSite(work, 12, { N: 2 ** 15, r: 8, p: 1 })
  const dataDir = join(work, 'data-attacks')
  mkdirSync(dataDir)
  const proc = runPlatform(testEnv(dataDir, { MINEWATCH_SITE: file, MINEWATCH_ADMIN_TOKEN: ADMIN }), [], COMPILED_ENTRY)
  const ports = await proc.started(120_000)
  const pid = proc.child.pid!
  const url = `mqtt://127.0.0.1:${ports.mqtt}`
  const connect = (d: BenchDevice) => mqtt.connectAsync(url, { username: d.id, password: d.password, clientId: d.id, reconnectPeriod: 0 })
  const [workingDevice, hostileDevice] = [devices[0]!, devices[1]!]
  const working = await connect(workingDevice)
  const hostile = await connect(hostileDevice)
  const topic = (d: BenchDevice) => `mines/${d.mineId}/devices/${d.id}/telemetry`
  let ts = Date.now() - 86_400_000
  /** An MQTT.js client whose socket comes from `localAddress` (loopback has all of 127/8). */
  const clientFrom = (localAddress: string, opts: mqtt.IClientOptions) =>
    new Promise<MqttClient>((resolve, reject) => {
      const c = new mqtt.MqttClient(() => tcpConnect({ host: '127.0.0.1', port: ports.mqtt, localAddress }), { reconnectPeriod: 0, connectTimeout: 60_000, protocolVersion: 4, ...opts })
      c.once('connect', () => resolve(c))
      c.once('error', (err) => (c.end(true), reject(err)))
      c.once('close', () => reject(new Error('closed before CONNACK')))
    })

  /** Runs `attack` while the working device publishes; returns its PUBACK latencies and the platform's peak RSS. */
  async function phase(name: string, attack: () => Promise<string>) {
    const acks = new Samples()
    let sending = true
    let peak = 0
    const sampler = setInterval(() => void rssOf(pid).then((r) => (peak = Math.max(peak, r.now))), 100)
    const stop = progress(name, () => `${fmt(acks.length)} PUBACKs`)
    const rssBefore = (await rssOf(pid)).now
    const publishing = (async () => {
      while (sending) {
        const t0 = performance.now()
        await working.publishAsync(topic(workingDevice), JSON.stringify({ ts: ts++, values: { dN: 0.1, dE: 0.1, dH: 0.1 } }), { qos: 1 })
        acks.add(performance.now() - t0)
        await new Promise((r) => setTimeout(r, 20))
      }
    })()
    const started = performance.now()
    const what = await attack()
    const took = (performance.now() - started) / 1000
    sending = false
    await publishing
    clearInterval(sampler)
    stop()
    const rssAfter = (await rssOf(pid)).now
    const s = acks.sorted()
    const row = { name, what, seconds: took, pubacks: acks.length, p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN, rssBefore, rssPeak: Math.max(peak, rssAfter), rssAfter }
    say(`| ${name} | ${what} | ${fmt(row.p50, 1)} ms | ${fmt(row.p99, 1)} ms | ${fmt(row.max, 0)} ms | ${mib(rssBefore)} → ${mib(row.rssPeak)} → ${mib(rssAfter)} |`)
    return row
  }

  say(`== attacks against the platform process (SQLite store), a working device publishing QoS 1 every 20 ms`)
  say()
  say('| phase | attack | PUBACK p50 | p99 | max | RSS before → peak → after |')
  say('|---|---|---:|---:|---:|---|')
  const rows = []
  rows.push(await phase('idle', async () => (await new Promise((r) => setTimeout(r, seconds * 1000)), `${seconds} s of nothing`)))

  // item 2: wrong secrets, 50 at a time, over ten device names, from one address and from many
  const guess = async (localOctet: (i: number) => number) => {
    let refused = 0
    for (let round = 0; round < 10; round++) {
      const tries = Array.from({ length: 50 }, (_, i) => {
        const n = localOctet(round * 50 + i)
        return clientFrom(`127.0.${n >> 8}.${(n & 255) + 1}`, { username: devices[2 + ((round * 50 + i) % 10)]!.id, password: 'guess', clientId: `guess-${round}-${i}` }).then(
          (c) => void c.endAsync(true),
          () => refused++,
        )
      })
      await Promise.all(tries)
    }
    return `500 wrong CONNECTs (N = 2^15), 50 at a time: ${refused} refused`
  }
  rows.push(await phase('2. password guessing, one address', () => guess(() => 10)))
  rows.push(await phase('2. password guessing, 500 addresses', () => guess((i) => 256 + i)))

  // item 3: rejects amplification, 20 payloads of 256 KiB `[0,0,…]` from an authenticated device
  const zeros = Buffer.from(`[${new Array(131_071).fill('0').join(',')}]`)
  rows.push(
    await phase('3. 20 × 256 KiB [0,0,…]', async () => {
      for (let i = 0; i < 20; i++) await hostile.publishAsync(topic(hostileDevice), zeros, { qos: 1 })
      return `${fmt(zeros.length / 1024)} KiB each, one after another`
    }),
  )

  // item 4: connections that never finish their CONNECT, from twenty addresses
  const partial: Socket[] = []
  rows.push(
    await phase('4. 2,000 partial CONNECTs', async () => {
      const body = Buffer.alloc(MAX_CONNECT_BYTES - 1024, 0x41)
      const header = Buffer.from([0x10, 0xff, 0xff, 0x03]) // announces 65,535 bytes
      let closed = 0
      await Promise.all(
        Array.from(
          { length: 2000 },
          (_, i) =>
            new Promise<void>((resolve) => {
              const s = tcpConnect({ host: '127.0.0.1', port: ports.mqtt, localAddress: `127.0.1.${(i % 20) + 1}` })
              partial.push(s)
              s.on('error', () => undefined)
              s.once('close', () => closed++)
              s.once('connect', () => s.write(Buffer.concat([header, body]), () => resolve()))
              s.once('close', () => resolve())
            }),
        ),
      )
      const atOnce = closed
      await new Promise((r) => setTimeout(r, seconds * 1000))
      return `${fmt(MAX_CONNECT_BYTES / 1024)} KiB announced, ${fmt(body.length / 1024)} KiB sent, from 20 addresses: ${fmt(atOnce)} closed at once, ${fmt(closed - atOnce)} more within ${seconds} s`
    }),
  )
  for (const s of partial) s.destroy()

  // item 5: deeply nested payloads
  const deep = Buffer.from('['.repeat(5000) + ']'.repeat(5000))
  rows.push(
    await phase('5. 1,000 × 5,000-deep JSON', async () => {
      for (let i = 0; i < 1000; i++) await hostile.publishAsync(topic(hostileDevice), deep, { qos: 1 })
      return '10 KB each, every one acknowledged and refused TOO_DEEP'
    }),
  )
  say()
  const metrics = await (await fetch(`http://127.0.0.1:${ports.http}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text()
  const refusals = [...metrics.matchAll(/^minewatch_(?:connections_refused_total|readings_refused_total)\{(?:reason|code)="([A-Z_]+)"\} (\d+)/gm)].map((m) => `${m[1]} ${m[2]}`)
  say(`refusals counted: ${refusals.join(', ')}`)
  await Promise.all([working, hostile].map((c: MqttClient) => c.endAsync(true)))
  proc.child.kill('SIGTERM')
  await proc.exited
  return { rows, refusals }
}
