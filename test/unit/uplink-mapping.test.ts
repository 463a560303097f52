import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { MINEWATCH_MAPPING, mapReadings, mapState, parseMapping } from '../../ingest/uplink/mapping.js'
import { decodeStatus } from '../../ingest/status.js'
import type { Reading } from '../../ingest/reading.js'
import { decodeTelemetry } from '../../ingest/decode.js'
import { basename } from 'node:path'
import { parseEnv } from '../../infra/config/env.js'
import { uplinkConfig } from '../../infra/uplink/config.js'

const zone = () => 'Asia/Shanghai'
// 2026-12-01 08:30:00 in Beijing
const TS = Date.UTC(2026, 11, 1, 0, 30)
const rain = (i: number, deviceId = 'r1'): Reading => ({ mineId: 'm1', deviceId, kind: 'rain', ts: TS + i * 60_000, values: { rainfall: i / 10 }, ...(i === 0 ? { seq: 7 } : {}) })

/** A provincial format unlike ours: one message per metric, the province's codes, local time as text. */
const PROVINCE = `
format: 1
name: 某省平台 2025 版
readings:
  topic: "prov/{mineCode}/{deviceCode}/data"
  each: metric
  payload:
    mkbm: "{mineCode}"
    cdbm: "{deviceCode}"
    cdlx: "{kind}"
    zb: "{metric}"
    z: "{value}"
    dw: "{unit}"
    sj: "{time}"
    bz: "矿 {mineId} 测点 {deviceId}"
codes:
  mines: { m1: "370600000001" }
  devices: { r1: "370600000001MN001" }
`

describe('the uplink payload mapping', () => {
  it('minewatch/1 is the device contract: each device readings batched on its own topic, taken by the contract decoder as sent', () => {
    const readings = [rain(0), rain(1, 'r2'), rain(1), rain(2)]
    const messages = mapReadings(MINEWATCH_MAPPING, readings, zone)
    expect(messages.map((m) => [m.topic, m.readings])).toEqual([
      ['mines/m1/devices/r1/telemetry', 3],
      ['mines/m1/devices/r2/telemetry', 1],
    ])
    // the receiving platform's own decoder gets back the readings, in order, seq and all
    const decoded = decodeTelemetry(Buffer.from(messages[0]!.payload), { mineId: 'm1', deviceId: 'r1', kind: 'rain' }, TS + 3_600_000, {
      maxPayloadBytes: 256 * 1024,
      maxFutureMs: 300_000,
      maxAgeMs: 86_400_000,
    })
    expect(decoded.problems).toEqual([])
    expect(decoded.readings).toEqual([rain(0), rain(1), rain(2)])
  })

  it('splits the run of one device into messages of at most `batch` readings, in order', () => {
    const readings = Array.from({ length: 450 }, (_, i) => rain(i))
    const messages = mapReadings(MINEWATCH_MAPPING, readings, zone)
    expect(messages.map((m) => m.readings)).toEqual([200, 200, 50])
    const times = messages.flatMap((m) => (JSON.parse(m.payload) as { ts: number }[]).map((p) => p.ts))
    expect(times).toEqual(readings.map((r) => r.ts))
  })

  it('serves another format from a mapping file: one message per metric, the province codes, the mine local time', () => {
    const parsed = parseMapping(parseYaml(PROVINCE))
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'))
    const power: Reading = { mineId: 'm1', deviceId: 'p9', kind: 'power', ts: TS, values: { voltage: 398, power: 28.4 } }
    const messages = mapReadings(parsed.mapping, [rain(3), power], zone)
    expect(messages.map((m) => m.topic)).toEqual(['prov/370600000001/370600000001MN001/data', 'prov/370600000001/p9/data', 'prov/370600000001/p9/data'])
    expect(JSON.parse(messages[0]!.payload)).toEqual({
      mkbm: '370600000001',
      cdbm: '370600000001MN001',
      cdlx: 'rain',
      zb: 'rainfall',
      z: 0.3,
      dw: 'mm',
      sj: '2026-12-01T08:33:00.000+08:00',
      bz: '矿 m1 测点 r1',
    })
    expect(JSON.parse(messages[2]!.payload)).toMatchObject({ zb: 'power', z: 28.4, dw: 'kW' })
    // a reading is counted once, however many messages its metrics make
    expect(messages.map((m) => m.readings)).toEqual([1, 1, 0])
  })

  it('refuses a mapping it cannot honour, naming the place and what to do', () => {
    const bad = parseYaml(PROVINCE.replace('format: 1', 'format: 2'))
    expect(parseMapping(bad)).toEqual({ ok: false, errors: ['format: expected format: 1'] })
    const unknown = parseMapping(parseYaml(PROVINCE.replace('"{time}"', '"{tiem}"').replace('each: metric', 'each: reading')))
    expect(unknown.ok).toBe(false)
    expect(!unknown.ok && unknown.errors).toEqual([
      expect.stringMatching(/^readings\.payload\.zb: \{metric\} needs each: metric$/),
      expect.stringMatching(/^readings\.payload\.z: \{value\} needs each: metric$/),
      expect.stringMatching(/^readings\.payload\.dw: \{unit\} needs each: metric$/),
      expect.stringMatching(/^readings\.payload\.sj: unknown field \{tiem\}; known: .*values\.<metric>$/),
    ])
  })
})

describe('device states upstream', () => {
  it('minewatch/1 sends the contract status message, retained; a mapping file may shape it or leave states out', () => {
    const state = { mineId: 'm1', deviceId: 'r1', kind: 'rain', online: false, since: TS }
    expect(mapState(MINEWATCH_MAPPING, state, zone)).toEqual({ topic: 'mines/m1/devices/r1/status', payload: JSON.stringify({ online: false, since: TS }), readings: 0, retain: true })
    expect(decodeStatus(Buffer.from(mapState(MINEWATCH_MAPPING, state, zone)!.payload), 1024)).toEqual({ online: false })
    const province = parseMapping(parseYaml(PROVINCE + 'states:\n  topic: "prov/{mineCode}/{deviceCode}/state"\n  payload: { zt: "{online}", sj: "{time}" }\n  retain: false\n'))
    if (!province.ok) throw new Error(province.errors.join('\n'))
    expect(mapState(province.mapping, { ...state, deviceId: 'r1' }, zone)).toMatchObject({
      topic: 'prov/370600000001/370600000001MN001/state',
      payload: JSON.stringify({ zt: false, sj: '2026-12-01T08:30:00.000+08:00' }),
      retain: false,
    })
    // a mapping without states sends none
    const plain = parseMapping(parseYaml(PROVINCE))
    expect(plain.ok && mapState(plain.mapping, state, zone)).toBeUndefined()
    const bad = parseMapping(parseYaml(PROVINCE + 'states: { topic: "s/{metric}", payload: {} }\n'))
    expect(!bad.ok && bad.errors).toEqual([expect.stringMatching(/^states\.topic: unknown field \{metric\} for a state; known: mineId, /)])
  })
})

describe('the uplink settings (MINEWATCH_UPLINK_*)', () => {
  const config = (vars: Record<string, string>, files: Record<string, string> = {}) => {
    const parsed = parseEnv(vars)
    if (!parsed.ok) return { errors: parsed.errors }
    return uplinkConfig(parsed.env, ['m1', 'm2'], (file) => {
      const text = files[basename(file)]
      if (text === undefined) throw new Error('ENOENT: no such file')
      return text
    })
  }

  it('is off without a URL, and takes the account, the mapping file, the mines and the rate', () => {
    expect(config({})).toBeUndefined()
    const cfg = config(
      {
        MINEWATCH_UPLINK_URL: 'mqtts://province.example:8883',
        MINEWATCH_UPLINK_USERNAME: 'up-m1',
        MINEWATCH_UPLINK_PASSWORD_FILE: 'pw',
        MINEWATCH_UPLINK_MAPPING: 'prov.yaml',
        MINEWATCH_UPLINK_MINES: 'm1',
        MINEWATCH_UPLINK_RATE: '500',
      },
      { pw: 's3cret\n', 'prov.yaml': PROVINCE },
    )
    expect(cfg).toMatchObject({ url: 'mqtts://province.example:8883', username: 'up-m1', password: 's3cret', mines: ['m1'], maxPerSecond: 500, mapping: { name: '某省平台 2025 版' } })
  })

  it('names every problem: no account, a password in clear text over the network, an unknown mine, a bad mapping', () => {
    const result = config(
      { MINEWATCH_UPLINK_URL: 'mqtt://province.example:1883', MINEWATCH_UPLINK_PASSWORD: 'x', MINEWATCH_UPLINK_MINES: 'm1,m9', MINEWATCH_UPLINK_MAPPING: 'prov.yaml' },
      { 'prov.yaml': 'format: 1\nname: x\nreadings: { topic: "a/{nope}", payload: {} }' },
    )
    expect(result).toEqual({
      errors: [
        expect.stringMatching(/^MINEWATCH_UPLINK_USERNAME: required/),
        expect.stringMatching(/^MINEWATCH_UPLINK_URL: the password would cross the network in clear text; use mqtts:\/\//),
        expect.stringMatching(/^MINEWATCH_UPLINK_MAPPING prov\.yaml: readings\.topic: unknown field \{nope\}/),
        'MINEWATCH_UPLINK_MINES: no mine m9 in the site file (mines: m1, m2)',
      ],
    })
    // to this machine, plain MQTT is allowed (a proxy or a tunnel beside the platform)
    expect(config({ MINEWATCH_UPLINK_URL: 'mqtt://127.0.0.1:1883', MINEWATCH_UPLINK_USERNAME: 'u', MINEWATCH_UPLINK_PASSWORD: 'p' })).toMatchObject({ url: 'mqtt://127.0.0.1:1883' })
  })
})
