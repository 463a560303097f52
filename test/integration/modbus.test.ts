import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseSite } from '../../infra/config/site-file.js'
import { eventually } from '../helpers/eventually.js'
import { startModbusServer, type ModbusServer } from '../helpers/modbus.js'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { demoSite } from '../helpers/scenario-run.js'

/**
 * 协议改造 (issue 16 item 2, "Done when": a Modbus pump and power meter served by a real Modbus
 * server become readings and raise the demo's pump and 明停暗开 warnings). The server is Debian's
 * pymodbus; the registers are written into it as the equipment would hold them, in four byte
 * orders, encoded here by Node's Buffer (not by the platform's decoder). The platform's collectors
 * poll it, and the readings go through the intake: stored, judged by the demo's own rules, a bad
 * value refused and quarantined, and a server that stops answering a silence, never a zero.
 */
let server: ModbusServer
let t: TestPlatform
/** The platform's clock: 01:00 on the mines' clock (Asia/Shanghai) at or before now, running on, so that 明停暗开 (counted 20:00–06:00) does not depend on the hour the test runs. */
const t0 = Date.now()
const today = new Date(t0 + 8 * 3_600_000).toISOString().slice(0, 10)
const night = Date.parse(`${today}T01:00:00+08:00`)
const base = night <= t0 ? night : night - 86_400_000
const now = () => base + (Date.now() - t0)

/** A 32-bit value as two registers in a byte order, by Node's Buffer. */
function words(write: (b: Buffer) => void, order: 'ABCD' | 'CDAB' | 'BADC' | 'DCBA'): number[] {
  const b = Buffer.alloc(4)
  write(b) // big-endian: ABCD
  const bytes = order === 'ABCD' ? [...b] : order === 'CDAB' ? [b[2]!, b[3]!, b[0]!, b[1]!] : order === 'BADC' ? [b[1]!, b[0]!, b[3]!, b[2]!] : [...b].reverse()
  return [(bytes[0]! << 8) | bytes[1]!, (bytes[2]! << 8) | bytes[3]!]
}

beforeAll(async () => {
  server = await startModbusServer()
  // the pump stopped (coil 0 off, no flow, no current); the meter of the suspended mine drawing 90 kW at night
  await server.write(
    {
      0: [0, 0],
      10: words((b) => b.writeFloatBE(398.5), 'CDAB'),
      12: words((b) => b.writeFloatBE(52.25), 'ABCD'),
      14: words((b) => b.writeInt32BE(9000), 'DCBA'),
      16: words((b) => b.writeUInt32BE(1_234_567), 'BADC'),
    },
    { 0: false },
  )
  const demo = demoSite()
  const endpoint = { host: '127.0.0.1', port: server.port, unit: 1, every: 0.3, timeout: 1 }
  const maps: Record<string, object> = {
    'yt-pump-01': {
      ...endpoint,
      registers: [
        { metric: 'running', table: 'coil', address: 0 },
        { metric: 'flow', address: 0, scale: 0.1, unit: 'm³/h' },
        { metric: 'current', address: 1, type: 'int16', scale: 0.1, unit: 'A' },
      ],
    },
    'bt-power-01': {
      ...endpoint,
      registers: [
        { metric: 'voltage', address: 10, type: 'float32', order: 'CDAB', unit: 'V' },
        { metric: 'current', address: 12, type: 'float32', order: 'ABCD', unit: 'A' },
        { metric: 'power', address: 14, type: 'int32', order: 'DCBA', scale: 0.01, unit: 'kW' },
        { metric: 'energy', address: 16, type: 'uint32', order: 'BADC', scale: 0.1, unit: 'kWh' },
      ],
    },
  }
  const parsed = parseSite({ ...demo, mines: demo.mines.map((m) => ({ ...m, devices: m.devices.map((d) => (maps[d.id] ? { ...d, modbus: maps[d.id] } : d)) })) })
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'))
  t = await startTestPlatform({ site: parsed.site, now })
}, 60_000)

afterAll(async () => {
  await t?.stop()
  await server?.stop()
})

describe('Modbus collectors on a real Modbus server (pymodbus)', () => {
  it('turns the pump’s and the meter’s registers into readings, every byte order decoded', async () => {
    await eventually(async () => (await t.platform.store.latest('bt-power-01')) !== undefined && (await t.platform.store.latest('yt-pump-01')) !== undefined)
    expect((await t.platform.store.latest('yt-pump-01'))!.values).toEqual({ running: false, flow: 0, current: 0 })
    const power = (await t.platform.store.latest('bt-power-01'))!.values
    expect(power).toEqual({ voltage: 398.5, current: 52.25, power: 90, energy: expect.closeTo(123_456.7, 6) })
    // reachable while it answers, and said so in health
    expect((await t.admin('/api/mines/yt-jinshan/devices')).body.find((d: { id: string }) => d.id === 'yt-pump-01').connected).toBe(true)
    expect((await t.admin('/api/health')).body.broker.modbus).toEqual(
      expect.arrayContaining([expect.objectContaining({ device: 'yt-pump-01', endpoint: `127.0.0.1:${server.port}#1`, ok: true, lastError: null })]),
    )
  })

  it('raises the demo’s pump-failure warning when the sump rises and the pump stands, and 明停暗开 on the suspended mine’s night draw', async () => {
    // the reservoir the pump drains, above its 99.2 m, published over MQTT by its own device
    const reservoir = await mqtt.connectAsync(t.mqttUrl, { username: 'yt-reservoir-01', password: 'yt-reservoir-01-demo', reconnectPeriod: 0 })
    await reservoir.publishAsync('mines/yt-jinshan/devices/yt-reservoir-01/telemetry', JSON.stringify({ ts: now() - 1000, values: { level: 99.5 } }), { qos: 1 })
    await reservoir.endAsync()
    const raised = (rule: string) => t.platform.alerting.book.all().find((a) => a.rule === rule)
    await eventually(async () => {
      await t.platform.alerting.tick()
      return raised('pump-failure') && raised('secret-production')
    }, 15_000)
    expect(raised('pump-failure')).toMatchObject({ mineId: 'yt-jinshan', subject: { id: 'yt-pump-01' }, level: 'orange', state: 'open' })
    expect(raised('secret-production')).toMatchObject({ mineId: 'bt-baishi', subject: { id: 'bt-power-01' }, value: 90, threshold: 60, unit: 'kW' })
  })

  it('refuses a bad value as a published one is refused: quarantined, counted, no reading', async () => {
    const refused = async () => Number(/minewatch_readings_refused_total\{code="OUT_OF_RANGE"\} (\d+)/.exec((await t.admin('/metrics')).text)?.[1] ?? 0)
    const before = await refused()
    // a current of −5 A: int16 0xFFCE × 0.1
    await server.write({ 1: [0xffce] })
    await eventually(async () => (await refused()) > before)
    const entries = (await t.admin('/api/quarantine?limit=20')).body.entries as { principal: string; clientId: string; deviceId: string }[]
    expect(entries.find((e) => e.clientId === 'modbus:yt-pump-01')).toMatchObject({ principal: 'yt-pump-01', deviceId: 'yt-pump-01' })
    await server.write({ 1: [0] })
  })

  it('reads a server that stops answering as a silence, not a zero: no reading, the device not reachable, the error in health', async () => {
    await server.stop()
    await eventually(async () => (await t.admin('/api/health')).body.broker.modbus.every((s: { ok: boolean }) => !s.ok), 10_000)
    const last = (await t.platform.store.latest('yt-pump-01'))!.ts
    // several poll intervals later, still no new reading
    const polls = async () => Number(/minewatch_modbus_polls_total\{device="yt-pump-01",result="failed"\} (\d+)/.exec((await t.admin('/metrics')).text)?.[1] ?? 0)
    const failed = await polls()
    await eventually(async () => (await polls()) >= failed + 3, 10_000)
    await t.platform.writer.flush()
    expect((await t.platform.store.latest('yt-pump-01'))!.ts).toBe(last)
    expect((await t.admin('/api/mines/yt-jinshan/devices')).body.find((d: { id: string }) => d.id === 'yt-pump-01')).toMatchObject({ connected: false, state: 'offline' })
    const status = (await t.admin('/api/health')).body.broker.modbus.find((s: { device: string }) => s.device === 'yt-pump-01')
    expect(status).toMatchObject({ ok: false, lastError: expect.stringMatching(/ECONNREFUSED|closed|Timed out/i) })
  })

  it('reads the server again when it is back on the same address (a PLC rebooted): readings resume, the device reachable, the error gone', async () => {
    const last = (await t.platform.store.latest('yt-pump-01'))!.ts
    server = await startModbusServer(server.port)
    // the pump running now: 120.5 m³/h at 31.2 A
    await server.write({ 0: [1205, 312] }, { 0: true })
    await eventually(async () => (await t.admin('/api/health')).body.broker.modbus.every((s: { ok: boolean; lastError: string | null }) => s.ok && s.lastError === null), 10_000)
    const resumed = await eventually(async () => {
      await t.platform.writer.flush()
      const r = await t.platform.store.latest('yt-pump-01')
      return r && r.ts > last && r.values.running === true ? r : undefined
    }, 10_000)
    expect(resumed!.values).toMatchObject({ running: true, flow: 120.5, current: 31.2 })
    expect((await t.admin('/api/mines/yt-jinshan/devices')).body.find((d: { id: string }) => d.id === 'yt-pump-01')).toMatchObject({ connected: true })
  })
})
