import { readFileSync, readdirSync } from 'node:fs'
import { connect as tcpConnect } from 'node:net'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../helpers/eventually.js'
import { nextMessage, startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { TEST_DEVICES, secretOf } from '../helpers/site.js'
import { SAMPLE_VALUES } from '../helpers/samples.js'

let t: TestPlatform
beforeAll(async () => {
  t = await startTestPlatform()
})
afterAll(async () => {
  await t?.stop()
})

const telemetry = (mine: string, device: string) => `mines/${mine}/devices/${device}/telemetry`
const rejects = (mine: string, device: string) => `mines/${mine}/devices/${device}/rejects`

/** One series of /metrics (name and labels as Prometheus prints them), 0 when it has not been counted yet. */
async function metric(series: string): Promise<number> {
  const line = (await t.admin('/metrics')).text.split('\n').find((l: string) => l.startsWith(`${series} `))
  return line ? Number(line.split(' ').at(-1)) : 0
}
const refusedConnections = (reason: string) => metric(`minewatch_connections_refused_total{reason="${reason}"}`)
const counter = (code: string) => metric(`minewatch_readings_refused_total{code="${code}"}`)

async function readBack(device: string, metric: string, extra = '') {
  const from = extra.includes('from=') ? '' : '&from=0'
  const res = await t.admin(`/api/readings?device=${device}&metric=${metric}${from}${extra}`)
  expect(res.status).toBe(200)
  return res.body
}

describe('readings of every kind are stored and read back over HTTP', () => {
  it.each(TEST_DEVICES.filter((d) => d.mine === 'mine-a'))('$kind ($id)', async ({ id, mine, kind }) => {
    const client = await t.connect(id)
    const ts = Date.now() - 1000
    await client.publishAsync(telemetry(mine, id), JSON.stringify({ ts, values: SAMPLE_VALUES[kind], seq: 1 }), { qos: 1 })
    for (const [metric, value] of Object.entries(SAMPLE_VALUES[kind])) {
      const body = await eventually(async () => {
        const b = await readBack(id, metric)
        return b.points.length > 0 && b
      })
      expect(body.points).toEqual([{ ts, value, time: expect.stringMatching(/\+08:00$/) }])
      expect(body.kind).toBe(kind)
      expect(typeof body.unit).toBe('string')
    }
    expect(await t.platform.store.latest(id)).toEqual({ ts, values: SAMPLE_VALUES[kind], seq: 1 })
    await client.endAsync()
  })
})

describe('backlog uploads and duplicates', () => {
  it('stores a backlog array once, however often it is resent (断电续传)', async () => {
    const client = await t.connect('a-piezo')
    const start = Date.now() - 48 * 3_600_000
    const backlog = Array.from({ length: 48 }, (_, i) => ({ ts: start + i * 3_600_000, values: { depth: 6 + i / 100 } }))
    for (let i = 0; i < 3; i++) {
      await client.publishAsync(telemetry('mine-a', 'a-piezo'), JSON.stringify(backlog), { qos: 1 })
    }
    await t.platform.writer.flush()
    const end = start + 47 * 3_600_000 + 1
    const body = await readBack('a-piezo', 'depth', `&from=${start}&to=${end}`)
    expect(body.points.map((p: { ts: number }) => p.ts)).toEqual(backlog.map((r) => r.ts))
    expect(body.points[47].value).toBeCloseTo(6.47)

    const daily = await readBack('a-piezo', 'depth', `&from=${start}&to=${end}&every=1d`)
    expect(daily.buckets.reduce((n: number, b: { count: number }) => n + b.count, 0)).toBe(48)
    for (const b of daily.buckets) expect(b.min).toBeLessThanOrEqual(b.mean)
    await client.endAsync()
  })
})

describe('refused messages are quarantined, counted and explained on the rejects topic', () => {
  const NOW = Date.now()
  const prism = telemetry('mine-a', 'a-prism')
  const cases: [code: string, sender: string, topic: string, payload: string | Buffer][] = [
    ['BAD_JSON', 'a-prism', prism, '{"ts": 1,'],
    ['BAD_JSON', 'a-prism', prism, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
    ['NOT_FINITE', 'a-prism', prism, `{"ts": ${NOW}, "values": {"dN": NaN}}`],
    ['BAD_READING', 'a-prism', prism, '"hello"'],
    ['EMPTY_BATCH', 'a-prism', prism, '[]'],
    ['EMPTY_VALUES', 'a-prism', prism, JSON.stringify({ ts: NOW, values: {} })],
    ['UNKNOWN_METRIC', 'a-prism', prism, JSON.stringify({ ts: NOW, values: { depth: 1 } })],
    ['WRONG_TYPE', 'a-prism', prism, JSON.stringify({ ts: NOW, values: { dN: 'x' } })],
    ['OUT_OF_RANGE', 'a-rain', telemetry('mine-a', 'a-rain'), JSON.stringify({ ts: NOW, values: { rainfall: -2 } })],
    ['BAD_TIMESTAMP', 'a-prism', prism, JSON.stringify({ ts: '2026-11-23 10:00', values: { dN: 1 } })],
    ['CLOCK_SKEW', 'a-prism', prism, JSON.stringify({ ts: NOW + 3_600_000, values: { dN: 1 } })],
    ['TOO_OLD', 'a-prism', prism, JSON.stringify({ ts: NOW - 90 * 86_400_000, values: { dN: 1 } })],
    ['PAYLOAD_TOO_LARGE', 'a-prism', prism, JSON.stringify({ ts: NOW, values: { dN: 1 }, pad: 'x'.repeat(300 * 1024) })],
    ['BAD_STATUS', 'a-video', 'mines/mine-a/devices/a-video/status', '{"online":"maybe"}'],
    ['UNKNOWN_TOPIC', 'a-video', 'mines/mine-a/devices/a-video/commands', '{}'],
    ['TOPIC_FORBIDDEN', 'a-prism', telemetry('mine-a', 'a-gnss'), JSON.stringify({ ts: NOW, values: { dN: 1 } })],
    ['TOPIC_FORBIDDEN', 'a-prism', telemetry('mine-b', 'b-prism'), JSON.stringify({ ts: NOW, values: { dN: 1 } })],
    ['TOPIC_FORBIDDEN', 'a-prism', rejects('mine-a', 'a-prism'), '{}'],
  ]

  it.each(cases)('%s from %s on %s', async (code, sender, topic, payload) => {
    const client = await t.connect(sender)
    await client.subscribeAsync(rejects('mine-a', sender), { qos: 1 })
    const told = nextMessage(client, rejects('mine-a', sender))
    await client.publishAsync(topic, payload, { qos: 1 })
    const notice = await told
    expect(notice).toMatchObject({ code, topic, accepted: 0 })
    expect(notice.message).toEqual(expect.any(String))
    expect(Date.parse(notice.receivedAt)).toBeGreaterThan(0)

    const sent = Buffer.isBuffer(payload) ? payload : Buffer.from(payload)
    const kept = sent.subarray(0, 256 * 1024).toString('base64')
    const record = await eventually(() => readQuarantine().find((r) => r.code === code && r.principal === sender && r.payload === kept && r.receivedAt === notice.receivedAt))
    expect(record).toMatchObject({ topic, deviceId: sender, mineId: 'mine-a', bytes: sent.length, truncated: sent.length > 256 * 1024 })
    expect(record.message).toBe(notice.message)
    const metrics = await t.admin('/metrics')
    expect(metrics.text).toMatch(new RegExp(`minewatch_readings_refused_total\\{code="${code}"\\} [1-9]`))
    await client.endAsync()
  })

  it('a backlog with some bad readings keeps the good ones and names the bad by index', async () => {
    const client = await t.connect('a-reservoir')
    await client.subscribeAsync(rejects('mine-a', 'a-reservoir'), { qos: 1 })
    const told = nextMessage(client, rejects('mine-a', 'a-reservoir'))
    const base = Date.now() - 10 * 60_000
    await client.publishAsync(
      telemetry('mine-a', 'a-reservoir'),
      JSON.stringify([
        { ts: base, values: { level: 300.5 } },
        { ts: base + 60_000, values: { level: 'high' } },
        { ts: base + 120_000, values: { level: 300.7 } },
      ]),
      { qos: 1 },
    )
    const notice = await told
    expect(notice).toMatchObject({ code: 'WRONG_TYPE', accepted: 2, problems: [{ index: 1, code: 'WRONG_TYPE' }] })
    await t.platform.writer.flush()
    const body = await readBack('a-reservoir', 'level', `&from=${base}&to=${base + 120_001}`)
    expect(body.points.map((p: { value: number }) => p.value)).toEqual([300.5, 300.7])
    await client.endAsync()
  })

  it('answers hostile payloads with a bounded notice and keeps the connection: nested 5,000 deep, 131,071 items, 5,000 bad readings', async () => {
    const client = await t.connect('a-prism')
    await client.subscribeAsync(rejects('mine-a', 'a-prism'), { qos: 1 })
    const refusedBefore = counter
    const deep0 = await refusedBefore('TOO_DEEP')
    const long0 = await refusedBefore('BATCH_TOO_LONG')
    const bad0 = await refusedBefore('BAD_READING')
    const cases: [string, string, (notice: any) => void][] = [
      // a metric's value nested 5,000 deep: quoting it in the notice used to overflow the stack
      [`{"ts":${Date.now()},"values":{"dN":${'['.repeat(5000)}${']'.repeat(5000)}}}`, 'TOO_DEEP', (n) => expect(n.problems).toHaveLength(1)],
      [`[${new Array(131_071).fill(0).join(',')}]`, 'BATCH_TOO_LONG', (n) => expect(n.message).toContain('131071')],
      // under the batch cap: every one refused and counted, the notice lists the first 20
      [`[${new Array(5000).fill(0).join(',')}]`, 'BAD_READING', (n) => expect([n.problems.length, n.counts]).toEqual([20, { BAD_READING: 5000 }])],
    ]
    for (const [payload, code, check] of cases) {
      const told = nextMessage(client, rejects('mine-a', 'a-prism'))
      // acknowledged (PUBACK), not answered by closing the connection
      await client.publishAsync(telemetry('mine-a', 'a-prism'), payload, { qos: 1 })
      const raw = await told
      expect(raw.code).toBe(code)
      expect(JSON.stringify(raw).length).toBeLessThan(8 * 1024)
      check(raw)
    }
    expect(await counter('TOO_DEEP')).toBe(deep0 + 1)
    expect(await counter('BATCH_TOO_LONG')).toBe(long0 + 1)
    expect(await counter('BAD_READING')).toBe(bad0 + 5000)
    // the same connection still delivers a good reading
    await client.publishAsync(telemetry('mine-a', 'a-prism'), JSON.stringify({ ts: Date.now(), values: SAMPLE_VALUES.prism }), { qos: 1 })
    expect(client.connected).toBe(true)
    await client.endAsync()
  })

  it('closes a connection whose packet is over the frame limit, before buffering it, and keeps serving', async () => {
    const client = await t.connect('a-prism')
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
    client.publish(prism, Buffer.alloc(2 * 1024 * 1024, 0x20), { qos: 1 })
    await closed
    const metrics = await t.admin('/metrics')
    expect(metrics.text).toMatch(/minewatch_connections_refused_total\{reason="FRAME_TOO_LARGE"\} [1-9]/)
    client.end(true)
    const again = await t.connect('a-prism')
    const ts = Date.now()
    await again.publishAsync(prism, JSON.stringify({ ts, values: { dN: 4.5 } }), { qos: 1 })
    await t.platform.writer.flush()
    expect(await t.platform.store.latest('a-prism')).toMatchObject({ ts, values: { dN: 4.5 } })
    await again.endAsync()
  })

  it('closes, at its header, a CONNECT that announces more than a CONNECT needs (64 KiB): 200 such connections are not held open', async () => {
    const before = await refusedConnections('FRAME_TOO_LARGE')
    // a CONNECT fixed header announcing 900,000 bytes (under the 1 MiB frame limit), then a trickle
    const header = Buffer.from([0x10, 0xa0, 0xf7, 0x36]) // remaining length 900,000
    const closedByServer = await Promise.all(
      Array.from(
        { length: 200 },
        () =>
          new Promise<boolean>((resolve) => {
            const socket = tcpConnect(t.platform.ports.mqtt, '127.0.0.1', () => socket.write(Buffer.concat([header, Buffer.alloc(1000, 0x41)])))
            socket.on('close', () => resolve(true))
            socket.on('error', () => undefined)
          }),
      ),
    )
    expect(closedByServer.filter(Boolean)).toHaveLength(200)
    expect((await refusedConnections('FRAME_TOO_LARGE')) - before).toBe(200)
    // a real CONNECT still gets in
    const ok = await t.connect('a-prism')
    await ok.endAsync()
  })

  it('the pipeline keeps going after a storm of garbage', async () => {
    const client = await t.connect('a-power')
    const sends = Array.from({ length: 200 }, (_, i) => client.publishAsync(telemetry('mine-a', 'a-power'), i % 2 ? '{{{' : 'NaN', { qos: 1 }))
    await Promise.all(sends)
    const ts = Date.now()
    await client.publishAsync(telemetry('mine-a', 'a-power'), JSON.stringify({ ts, values: { power: 55.5 } }), { qos: 1 })
    await t.platform.writer.flush()
    expect(await t.platform.store.latest('a-power')).toMatchObject({ ts, values: { power: 55.5 } })
    await client.endAsync()
  })

  function readQuarantine(): any[] {
    const dir = t.platform.quarantineDir
    return readdirSync(dir)
      .filter((f) => f.endsWith('.jsonl'))
      .flatMap((f) =>
        readFileSync(join(dir, f), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l)),
      )
  }
})

describe('authentication and the topic ACL', () => {
  it('refuses a wrong password with CONNACK 4 and counts it', async () => {
    await expect(t.connect('a-prism', { password: 'wrong' })).rejects.toMatchObject({ code: 4 })
    await expect(t.connect('no-such-device')).rejects.toMatchObject({ code: 4 })
    await expect(t.connect('a-prism', { password: undefined })).rejects.toMatchObject({ code: 4 })
    const metrics = await t.admin('/metrics')
    expect(metrics.text).toMatch(/minewatch_connections_refused_total\{reason="BAD_SECRET"\} [1-9]/)
    expect(metrics.text).toMatch(/minewatch_connections_refused_total\{reason="UNKNOWN_PRINCIPAL"\} [1-9]/)
  })

  it('refuses an empty client id with clean session off (CONNACK 2, MQTT-3.1.3-8)', async () => {
    // MQTT.js will not send this CONNECT, so it goes over a raw socket
    const connack = await rawConnect({ clientId: '', clean: false, username: 'a-prism', password: Buffer.from(secretOf('a-prism')) })
    expect(connack.returnCode).toBe(2)
    const ok = await t.connect('a-prism', { clientId: '', clean: true })
    expect(ok.connected).toBe(true)
    await ok.endAsync()
  })

  it('keeps a client id its owner’s: another device is refused (CONNACK 2) and the owner stays connected; the owner may reconnect with it', async () => {
    const owner = await t.connect('a-power', { clientId: 'shared-id' })
    let dropped = 0
    owner.on('close', () => dropped++)
    // a device of another mine with the owner's client id
    await expect(t.connect('b-prism', { clientId: 'shared-id' })).rejects.toMatchObject({ code: 2 })
    await expect(t.connect('b-prism', { clientId: 'shared-id' })).rejects.toMatchObject({ code: 2 })
    // the refusal is decided and counted before the owner could have been touched
    expect(await refusedConnections('CLIENT_ID_TAKEN')).toBeGreaterThanOrEqual(2)
    expect([owner.connected, dropped, t.platform.presence.get('a-power')?.connected]).toEqual([true, 0, true])
    // the owner's own reconnect takes the id over, as MQTT says
    const again = await t.connect('a-power', { clientId: 'shared-id' })
    await eventually(() => dropped === 1)
    expect(t.platform.presence.get('a-power')?.connected).toBe(true)
    await again.endAsync()
    // once the owner is gone and its session was clean, the id is free
    await eventually(() => t.platform.presence.get('a-power')?.connected === false)
    const other = await t.connect('b-prism', { clientId: 'shared-id' })
    await other.endAsync()
  })

  it('does not count as connected a device whose socket closed before its CONNACK', async () => {
    const seen = new Promise<void>((resolve) => {
      const onReady = (client: { id: string }) => {
        if (client.id !== 'closes-early') return
        t.platform.broker.off('clientReady', onReady)
        resolve()
      }
      t.platform.broker.on('clientReady', onReady)
    })
    // its secret checked once already (as a device that reconnects): the broker answers at once
    const first = await t.connect('a-rain')
    await first.endAsync()
    await eventually(() => t.platform.presence.get('a-rain')?.connected === false)
    // CONNECT with good credentials, and the socket closed right behind it
    await rawConnect({ clientId: 'closes-early', clean: true, username: 'a-rain', password: Buffer.from(secretOf('a-rain')), closeAfterSend: true })
    // aedes still finishes the connect of the dead socket and says it is ready
    await seen
    expect(t.platform.presence.get('a-rain')?.connected ?? false).toBe(false)
    // and its client id is not held by it
    const real = await t.connect('a-prism', { clientId: 'closes-early' })
    await real.endAsync()
  })

  it('answers a CONNECT of a protocol level it does not speak with CONNACK 0x01, and counts it [MQTT-3.1.2-2]', async () => {
    const before = await refusedConnections('UNSUPPORTED_PROTOCOL')
    for (const level of [9, 2, 0, 255]) {
      expect(await rawConnect({ clientId: `level-${level}`, clean: true, username: 'a-prism', password: Buffer.from(secretOf('a-prism')), level })).toEqual({ returnCode: 1 })
    }
    expect((await refusedConnections('UNSUPPORTED_PROTOCOL')) - before).toBe(4)
    // 3.1.1 (level 4) is spoken
    expect(await rawConnect({ clientId: 'level-4', clean: true, username: 'a-prism', password: Buffer.from(secretOf('a-prism')) })).toEqual({ returnCode: 0 })
  })

  it('closes the connection of a PUBLISH whose topic holds NUL or bytes that are not UTF-8, and counts it [MQTT-1.5.3]', async () => {
    const before = await refusedConnections('MALFORMED_TOPIC')
    const good = Buffer.from('mines/mine-a/devices/a-prism/telemetry')
    for (const topic of [Buffer.concat([good, Buffer.from([0x00])]), Buffer.concat([good.subarray(0, 20), Buffer.from([0xc3, 0x28]), good.subarray(20)])]) {
      const socket = await rawSession('a-prism')
      const payload = Buffer.from(JSON.stringify({ ts: Date.now(), values: { dN: 1 } }))
      // PUBLISH QoS 1: topic, packet id 1, payload
      const body = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, Buffer.from([0, 1]), payload])
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
      socket.write(Buffer.concat([Buffer.from([0x32, body.length]), body]))
      await closed
    }
    expect((await refusedConnections('MALFORMED_TOPIC')) - before).toBe(2)
  })

  it('closes the connection of a SUBSCRIBE whose filter holds NUL or bytes that are not UTF-8, and counts it [MQTT-1.5.3]', async () => {
    const before = await refusedConnections('MALFORMED_TOPIC')
    const good = Buffer.from('mines/mine-a/devices/a-prism/rejects')
    for (const filter of [Buffer.concat([good, Buffer.from([0x00])]), Buffer.concat([good.subarray(0, 20), Buffer.from([0xff]), good.subarray(20)])]) {
      const socket = await rawSession('a-prism')
      // SUBSCRIBE (0x82): packet id 1, filter, requested QoS 1
      const body = Buffer.concat([Buffer.from([0, 1, filter.length >> 8, filter.length & 0xff]), filter, Buffer.from([1])])
      const replies: Buffer[] = []
      socket.on('data', (c: Buffer) => replies.push(c))
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
      socket.write(Buffer.concat([Buffer.from([0x82, body.length]), body]))
      await closed
      // no SUBACK: the packet is malformed, not refused
      expect(Buffer.concat(replies).includes(0x90)).toBe(false)
    }
    expect((await refusedConnections('MALFORMED_TOPIC')) - before).toBe(2)
  })

  it('closes without a CONNACK a CONNECT whose will topic, client id or user name holds NUL or bytes that are not UTF-8, and counts it [MQTT-1.5.3]', async () => {
    const topics = await refusedConnections('MALFORMED_TOPIC')
    const strings = await refusedConnections('MALFORMED_CONNECT')
    const pw = Buffer.from(secretOf('a-prism'))
    const will = (topic: Buffer) => ({ topic, payload: Buffer.from('{"online":false}') })
    const status = Buffer.from('mines/mine-a/devices/a-prism/status')
    expect(await rawConnect({ clientId: 'nul-will', clean: true, username: 'a-prism', password: pw, will: will(Buffer.concat([status, Buffer.from([0])])) })).toEqual({ returnCode: -1 })
    expect(
      await rawConnect({ clientId: 'bad-will', clean: true, username: 'a-prism', password: pw, will: will(Buffer.concat([status.subarray(0, 9), Buffer.from([0xc0, 0xaf]), status.subarray(9)])) }),
    ).toEqual({ returnCode: -1 })
    expect(await rawConnect({ clientId: Buffer.from([0x61, 0x00, 0x62]), clean: true, username: 'a-prism', password: pw })).toEqual({ returnCode: -1 })
    expect(await rawConnect({ clientId: 'bad-user', clean: true, username: Buffer.from([0x61, 0xfe]), password: pw })).toEqual({ returnCode: -1 })
    expect((await refusedConnections('MALFORMED_TOPIC')) - topics).toBe(2)
    expect((await refusedConnections('MALFORMED_CONNECT')) - strings).toBe(2)
    // the same CONNECT with a well-formed will is accepted
    expect(await rawConnect({ clientId: 'good-will', clean: true, username: 'a-prism', password: pw, will: will(status) })).toEqual({ returnCode: 0 })
  })

  it('refuses a will on another topic than the device status (CONNACK 5)', async () => {
    const will = { topic: 'mines/mine-a/alerts', payload: Buffer.from('{"fake":true}'), qos: 1 as const, retain: false }
    await expect(t.connect('a-prism', { will })).rejects.toMatchObject({ code: 5 })
  })

  it('does not store or deliver what a device publishes to another device or mine', async () => {
    const svc = await t.connect('svc-a')
    await svc.subscribeAsync('mines/+/alerts', { qos: 1 })
    let spoofed = 0
    const MARKER = '{"marker":true}'
    let svcMarker = false
    svc.on('message', (_topic, payload) => (payload.toString() === MARKER ? (svcMarker = true) : spoofed++))
    const intruder = await t.connect('b-prism')
    const ts = Date.now() - 5000
    const body = JSON.stringify({ ts, values: { dN: 999 } })
    await intruder.publishAsync(telemetry('mine-a', 'a-prism'), body, { qos: 1 })
    await intruder.publishAsync(telemetry('mine-b', 'a-prism'), body, { qos: 1 })
    await intruder.publishAsync('mines/mine-a/alerts', '{"level":"red"}', { qos: 1, retain: true })
    await t.platform.writer.flush()
    const stored = await readBack('a-prism', 'dN', `&from=${ts}&to=${ts + 1}`)
    expect(stored.points).toEqual([])
    // a late subscriber sees no retained spoof either
    const late = await t.connect('svc-a')
    let marker = false
    late.on('message', (_topic, payload) => (payload.toString() === MARKER ? (marker = true) : spoofed++))
    await late.subscribeAsync('mines/mine-a/alerts', { qos: 1 })
    // a marker published now reaches both after anything delivered before it: a retained message
    // comes right after the subscription, the intruder's publishes came earlier still
    t.platform.broker.publish({ cmd: 'publish', topic: 'mines/mine-a/alerts', payload: Buffer.from(MARKER), qos: 1, retain: false, dup: false }, () => undefined)
    await eventually(() => marker && svcMarker)
    expect(spoofed).toBe(0)
    await Promise.all([svc.endAsync(), intruder.endAsync(), late.endAsync()])
  })

  it.each(['#', '$SYS/#', 'mines/mine-a/devices/a-prism/#', 'mines/mine-a/devices/a-gnss/rejects', 'mines/mine-a/alerts'])('refuses a device subscribing to %s (SUBACK 0x80)', async (filter) => {
    const client = await t.connect('a-prism')
    expect(await grantedQos(client, filter)).toBe(128)
    expect(client.connected).toBe(true)
    await client.endAsync()
  })

  it('delivers to a service account only the alerts of its own mines', async () => {
    const svc = await t.connect('svc-a')
    expect(await grantedQos(svc, 'mines/+/alerts')).toBe(1)
    expect(await grantedQos(svc, 'mines/mine-b/alerts')).toBe(128)
    const got: string[] = []
    svc.on('message', (topic) => got.push(topic))
    const publish = (topic: string) =>
      new Promise<void>((resolve) => t.platform.broker.publish({ cmd: 'publish', topic, payload: Buffer.from('{}'), qos: 1, retain: false, dup: false }, () => resolve()))
    await publish('mines/mine-b/alerts')
    await publish('mines/mine-a/alerts')
    // the broker delivers to a client in publish order: once mine-a's is in, mine-b's would be too
    await eventually(() => got.includes('mines/mine-a/alerts'))
    expect(got).toEqual(['mines/mine-a/alerts'])
    await svc.endAsync()
  })
})

describe('connection state, status and will', () => {
  it('tracks connect, status and the will of a dropped connection', async () => {
    const will = { topic: 'mines/mine-a/devices/a-pump/status', payload: Buffer.from('{"online":false}'), qos: 1 as const, retain: true }
    const client = await t.connect('a-pump', { will, keepalive: 5 })
    await client.publishAsync('mines/mine-a/devices/a-pump/status', '{"online":true}', { qos: 1, retain: true })
    await eventually(() => t.platform.presence.get('a-pump')?.online === true)
    expect(t.platform.presence.get('a-pump')?.connected).toBe(true)
    const health = await t.admin('/api/health')
    expect(health.body.broker.devicesConnected).toBeGreaterThanOrEqual(1)
    client.stream.destroy() // an unclean drop: the broker publishes the will
    await eventually(() => t.platform.presence.get('a-pump')?.connected === false && t.platform.presence.get('a-pump')?.online === false)
    client.end(true)
  })

  it('routes a device’s status, retained, but not its telemetry or a refused message, which no client may receive', async () => {
    const routed: string[] = []
    const onPublish = (packet: { topic: string }, client: unknown) => void (client && routed.push(packet.topic))
    t.platform.broker.on('publish', onPublish)
    const client = await t.connect('a-rain')
    await client.publishAsync(telemetry('mine-a', 'a-rain'), JSON.stringify({ ts: Date.now() - 1000, values: { rainfall: 0.5 } }), { qos: 1 })
    await client.publishAsync(telemetry('mine-a', 'a-rain'), 'not json', { qos: 1 })
    await client.publishAsync('mines/mine-a/devices/a-rain/status', '{"online":true}', { qos: 1, retain: true })
    // the status is routed after the PUBACK: wait for it, then the other two had their turn before it
    await eventually(() => routed.includes('mines/mine-a/devices/a-rain/status'))
    t.platform.broker.off('publish', onPublish)
    expect(routed).toEqual(['mines/mine-a/devices/a-rain/status'])
    // and the telemetry was still taken
    await eventually(async () => (await readBack('a-rain', 'rainfall')).points.some((p: { value: number }) => p.value === 0.5))
    await client.endAsync()
  })
})

describe('MQTT over WebSocket', () => {
  it('accepts a device over ws:// and stores its reading', async () => {
    const client = await mqtt.connectAsync(`ws://127.0.0.1:${t.platform.ports.ws}/mqtt`, {
      username: 'a-beach',
      password: secretOf('a-beach'),
      reconnectPeriod: 0,
    })
    const ts = Date.now()
    await client.publishAsync(telemetry('mine-a', 'a-beach'), JSON.stringify({ ts, values: { length: 91.5 } }), { qos: 1 })
    await t.platform.writer.flush()
    expect(await t.platform.store.latest('a-beach')).toMatchObject({ ts, values: { length: 91.5 } })
    await client.endAsync()
  })
})

describe('HTTP', () => {
  it('keeps /metrics and /api/readings behind the admin token', async () => {
    for (const url of ['/metrics', '/api/readings?device=a-prism&metric=dN']) {
      const none = await t.platform.app.inject({ method: 'GET', url })
      expect(none.statusCode).toBe(401)
      expect(none.json().error.code).toBe('MW_UNAUTHORIZED')
      const wrong = await t.platform.app.inject({ method: 'GET', url, headers: { authorization: 'Bearer not-the-token' } })
      expect(wrong.statusCode).toBe(401)
    }
  })

  it('says to anyone whether it is healthy, and the parts only to an admin', async () => {
    const res = await t.platform.app.inject({ method: 'GET', url: '/api/health' })
    expect(res.statusCode).toBe(200)
    // no paths, no free disk, no backlog for an anonymous caller
    expect(res.json()).toEqual({ status: 'ok', time: expect.any(String) })
    const admin = await t.admin('/api/health')
    expect(admin.body).toMatchObject({ status: 'ok', store: { kind: 'sqlite', ok: true }, broker: { devicesKnown: TEST_DEVICES.length }, journal: expect.objectContaining({ ok: true }) })
    // a dispatcher is not an admin
    const login = await t.platform.app.inject({ method: 'POST', url: '/api/login', payload: { username: 'disp-a', password: secretOf('disp-a') } })
    const dispatcher = await t.platform.app.inject({ method: 'GET', url: '/api/health', headers: { authorization: `Bearer ${login.json().token}` } })
    expect(Object.keys(dispatcher.json()).sort()).toEqual(['status', 'time'])
  })

  it('exposes Prometheus metrics for accepted readings, connections and store latency', async () => {
    const res = await t.admin('/metrics')
    expect(res.text).toMatch(/minewatch_readings_accepted_total\{kind="prism"\} [1-9]/)
    expect(res.text).toMatch(/minewatch_devices_connected \d+/)
    expect(res.text).toMatch(/minewatch_store_write_seconds_count [1-9]/)
  })

  it.each([
    ['/api/readings?metric=dN', 400, 'MW_BAD_QUERY'],
    ['/api/readings?device=a-prism', 400, 'MW_BAD_QUERY'],
    ['/api/readings?device=nope&metric=dN', 404, 'MW_UNKNOWN_DEVICE'],
    ['/api/readings?device=a-prism&metric=depth', 400, 'MW_UNKNOWN_METRIC'],
    ['/api/readings?device=a-prism&metric=dN&every=soon', 400, 'MW_BAD_QUERY'],
    ['/api/readings?device=a-prism&metric=dN&from=2026-11-23', 400, 'MW_BAD_QUERY'],
    ['/api/readings?device=a-prism&metric=dN&from=2000&to=1000', 400, 'MW_BAD_QUERY'],
    ["/api/readings?device=a-prism'%20OR%201=1&metric=dN", 400, 'MW_BAD_QUERY'],
  ])('%s → %d %s', async (url, status, code) => {
    const res = await t.admin(url)
    expect(res.status).toBe(status)
    expect(res.body.error.code).toBe(code)
  })
})

/** The QoS the broker granted, 128 for a refusal (MQTT.js reports that as an error). */
function grantedQos(client: mqtt.MqttClient, filter: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    client.subscribe(filter, { qos: 1 }, (err, granted) => {
      // on a refusal MQTT.js 5 fails with the SUBACK packet attached
      resolve(err ? (err as Error & { packet?: { granted?: number[] } }).packet?.granted?.[0] : granted?.[0]?.qos)
    })
  })
}

/** A raw TCP session of a device, its CONNECT accepted: for packets MQTT.js will not send. */
function rawSession(device: string): Promise<import('node:net').Socket> {
  const str = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b])
  const body = Buffer.concat([str(Buffer.from('MQTT')), Buffer.from([4, 0x80 | 0x40 | 0x02, 0, 30]), str(Buffer.from(`${device}-raw`)), str(Buffer.from(device)), str(Buffer.from(secretOf(device)))])
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(t.platform.ports.mqtt, '127.0.0.1')
    socket.once('data', (chunk: Buffer) => (chunk[0] === 0x20 && chunk[3] === 0 ? resolve(socket) : reject(new Error(`CONNACK ${chunk[3]}`))))
    socket.on('error', () => undefined)
    socket.write(Buffer.concat([Buffer.from([0x10, body.length]), body]))
  })
}

/**
 * A CONNECT built byte by byte (MQTT 3.1.1 §3.1): MQTT.js and mqtt-packet both refuse to send an
 * empty client id with clean session off, which is exactly what the broker must answer.
 */
function rawConnect(opts: {
  clientId: string | Buffer
  clean: boolean
  username: string | Buffer
  password: Buffer
  will?: { topic: Buffer; payload: Buffer }
  closeAfterSend?: boolean
  level?: number
}): Promise<{ returnCode: number }> {
  const str = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b])
  // user name, password, will (QoS 0), clean session
  const flags = 0x80 | 0x40 | (opts.will ? 0x04 : 0) | (opts.clean ? 0x02 : 0)
  const will = opts.will ? [str(opts.will.topic), str(opts.will.payload)] : []
  const body = Buffer.concat([str(Buffer.from('MQTT')), Buffer.from([opts.level ?? 4, flags, 0, 30]), str(Buffer.from(opts.clientId)), ...will, str(Buffer.from(opts.username)), str(opts.password)])
  const packet = Buffer.concat([Buffer.from([0x10, body.length]), body]) // body < 128 bytes: one length byte
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(t.platform.ports.mqtt, '127.0.0.1')
    let received = Buffer.alloc(0)
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk])
      // CONNACK: 0x20, length 2, session present, return code
      if (received.length >= 4 && received[0] === 0x20) {
        socket.destroy()
        resolve({ returnCode: received[3]! })
      }
    })
    socket.on('error', reject)
    // closed by the server without a CONNACK
    socket.on('close', () => resolve({ returnCode: -1 }))
    if (opts.closeAfterSend) {
      socket.end(packet, () => {
        socket.destroy()
        resolve({ returnCode: -1 })
      })
      return
    }
    socket.write(packet)
  })
}
