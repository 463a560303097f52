import { describe, expect, it } from 'vitest'
import { DEVICE_KINDS, type DeviceKind } from '../../ingest/contract/kinds.js'
import { decodeTelemetry, schemaReading, validReading, type DecodeLimits } from '../../ingest/decode.js'
import { KINDS } from '../../ingest/contract/kinds.js'
import { decodeStatus } from '../../ingest/status.js'
import { parseTimestamp } from '../../ingest/timestamp.js'
import { SAMPLE_VALUES } from '../helpers/samples.js'

const NOW = Date.parse('2026-11-23T02:00:00Z')
const LIMITS: DecodeLimits = { maxPayloadBytes: 1024, maxFutureMs: 5 * 60_000, maxAgeMs: 7 * 86_400_000 }
const dev = (kind: DeviceKind) => ({ mineId: 'm1', deviceId: 'd1', kind })
const decode = (kind: DeviceKind, body: unknown) => decodeTelemetry(Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), dev(kind), NOW, LIMITS)

// one complete, valid reading per kind of docs/device-contract.md

describe('decodeTelemetry: valid readings of every kind', () => {
  it.each(DEVICE_KINDS)('%s', (kind) => {
    const out = decode(kind, { ts: NOW - 1000, values: SAMPLE_VALUES[kind], seq: 7 })
    expect(out.problems).toEqual([])
    expect(out.readings).toEqual([{ mineId: 'm1', deviceId: 'd1', kind, ts: NOW - 1000, values: SAMPLE_VALUES[kind], seq: 7 }])
  })

  it('accepts a subset of metrics and no seq', () => {
    const out = decode('pump', { ts: NOW, values: { running: false } })
    expect(out.readings).toEqual([{ mineId: 'm1', deviceId: 'd1', kind: 'pump', ts: NOW, values: { running: false } }])
  })

  it.each([
    ['2026-11-23T10:00:00+08:00', NOW],
    ['2026-11-23T02:00:00Z', NOW],
    ['2026-11-23T10:00:00.250+0800', NOW + 250],
    ['2026-11-23T01:59:59.123456Z', NOW - 877],
    ['2026-11-23T10:00+08:00', NOW],
  ])('accepts ISO 8601 with offset %s', (ts, ms) => {
    expect(decode('rain', { ts, values: { rainfall: 0 } }).readings[0]?.ts).toBe(ms)
  })

  it('accepts exactly the clock-skew edge and the backlog edge', () => {
    expect(decode('rain', { ts: NOW + LIMITS.maxFutureMs, values: { rainfall: 1 } }).problems).toEqual([])
    expect(decode('rain', { ts: NOW - LIMITS.maxAgeMs, values: { rainfall: 1 } }).problems).toEqual([])
  })
})

describe('decodeTelemetry: refusals have stable codes', () => {
  it.each([
    ['BAD_JSON', 'prism', '{"ts": 1,'],
    ['BAD_JSON', 'prism', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('latin1')],
    ['NOT_FINITE', 'prism', `{"ts": ${NOW}, "values": {"dN": NaN}}`],
    ['NOT_FINITE', 'prism', `{"ts": ${NOW}, "values": {"dN": -Infinity}}`],
    ['NOT_FINITE', 'prism', `{"ts": ${NOW}, "values": {"dN": 1e999}}`],
    ['BAD_READING', 'prism', '42'],
    ['BAD_READING', 'prism', { values: { dN: 1 } }],
    ['BAD_READING', 'prism', { ts: NOW, values: [1, 2] }],
    ['BAD_READING', 'prism', { ts: NOW, values: { dN: 1 }, extra: true }],
    ['BAD_READING', 'prism', { ts: NOW, values: { dN: 1 }, seq: -1 }],
    ['EMPTY_BATCH', 'prism', []],
    ['EMPTY_VALUES', 'prism', { ts: NOW, values: {} }],
    ['UNKNOWN_METRIC', 'prism', { ts: NOW, values: { dN: 1, dX: 2 } }],
    ['UNKNOWN_METRIC', 'piezometer', { ts: NOW, values: { level: 2 } }],
    ['UNKNOWN_METRIC', 'prism', { ts: NOW, values: { __proto__x: 1 } }],
    ['WRONG_TYPE', 'prism', { ts: NOW, values: { dN: '1.2' } }],
    ['WRONG_TYPE', 'pump', { ts: NOW, values: { running: 1 } }],
    ['WRONG_TYPE', 'video', { ts: NOW, values: { online: 'yes' } }],
    ['WRONG_TYPE', 'gnss', { ts: NOW, values: { sats: 7.5 } }],
    ['WRONG_TYPE', 'power', { ts: NOW, values: { power: null } }],
    ['OUT_OF_RANGE', 'rain', { ts: NOW, values: { rainfall: -0.1 } }],
    ['OUT_OF_RANGE', 'beach', { ts: NOW, values: { length: -3 } }],
    ['BAD_TIMESTAMP', 'prism', { ts: '2026-11-23T10:00:00', values: { dN: 1 } }],
    ['BAD_TIMESTAMP', 'prism', { ts: 'yesterday', values: { dN: 1 } }],
    ['BAD_TIMESTAMP', 'prism', { ts: Math.floor(NOW / 1000), values: { dN: 1 } }],
    ['BAD_TIMESTAMP', 'prism', { ts: NOW + 0.5, values: { dN: 1 } }],
    ['BAD_TIMESTAMP', 'prism', { ts: true, values: { dN: 1 } }],
    ['BAD_TIMESTAMP', 'prism', { ts: '2026-13-45T10:00:00Z', values: { dN: 1 } }],
    ['CLOCK_SKEW', 'prism', { ts: NOW + LIMITS.maxFutureMs + 1, values: { dN: 1 } }],
    ['TOO_OLD', 'prism', { ts: NOW - LIMITS.maxAgeMs - 1, values: { dN: 1 } }],
    ['PAYLOAD_TOO_LARGE', 'prism', 'x'.repeat(LIMITS.maxPayloadBytes + 1)],
  ] as const)('%s for %s %j', (code, kind, body) => {
    const out = decode(kind, body)
    expect(out.readings).toEqual([])
    expect(out.problems).toHaveLength(1)
    expect(out.problems[0]!.code).toBe(code)
    expect(out.problems[0]!.message.length).toBeGreaterThan(5)
  })

  it('explains seconds sent as milliseconds', () => {
    expect(decode('prism', { ts: 1795000000, values: { dN: 1 } }).problems[0]!.message).toMatch(/seconds/)
  })

  it('names the known metrics when one is unknown', () => {
    expect(decode('prism', { ts: NOW, values: { dX: 1 } }).problems[0]!.message).toContain('dN, dE, dH')
  })
})

describe('decodeTelemetry: backlog arrays', () => {
  it('keeps the good readings of an array and reports the bad ones by index', () => {
    const out = decode('piezometer', [
      { ts: NOW - 3000, values: { depth: 6.1 } },
      { ts: NOW - 2000, values: { depth: 'deep' } },
      { ts: NOW - 1000, values: { depth: 6.0 } },
      { ts: NOW + 3_600_000, values: { depth: 5.9 } },
    ])
    expect(out.readings.map((r) => r.ts)).toEqual([NOW - 3000, NOW - 1000])
    expect(out.problems.map((p) => [p.index, p.code])).toEqual([
      [1, 'WRONG_TYPE'],
      [3, 'CLOCK_SKEW'],
    ])
    expect(out.problems[0]!.message).toMatch(/^\[1\]/)
  })

  it('accepts a long backlog in order', () => {
    const body = Array.from({ length: 500 }, (_, i) => ({ ts: NOW - (500 - i) * 60_000, values: { rainfall: i % 3 } }))
    const out = decodeTelemetry(Buffer.from(JSON.stringify(body)), dev('rain'), NOW, { ...LIMITS, maxPayloadBytes: 1 << 20 })
    expect(out.problems).toEqual([])
    expect(out.readings).toHaveLength(500)
  })
})

describe('parseTimestamp', () => {
  it.each([
    [NOW, NOW],
    ['2026-11-23T02:00:00.000Z', NOW],
    ['2026-11-22T21:00:00-05:00', NOW],
  ])('%j → %d', (raw, ms) => {
    expect(parseTimestamp(raw)).toEqual({ ok: true, ms })
  })
  it.each([Number.NaN, Infinity, 1.5e12 + 0.1, '2026-11-23', '2026-11-23 10:00:00+08:00', null, {}])('refuses %j', (raw) => {
    expect(parseTimestamp(raw).ok).toBe(false)
  })
})

describe('decodeStatus', () => {
  it.each([
    ['{"online":true}', { online: true }],
    ['{"online":false,"fw":"1.2"}', { online: false }],
  ])('%s', (text, expected) => {
    expect(decodeStatus(Buffer.from(text), 1024)).toEqual(expected)
  })
  it.each([
    ['{"online":"yes"}', 'BAD_STATUS'],
    ['online', 'BAD_JSON'],
    ['{}', 'BAD_STATUS'],
  ])('%s → %s', (text, code) => {
    const out = decodeStatus(Buffer.from(text), 1024)
    expect('problem' in out && out.problem.code).toBe(code)
  })
})

describe('the hand-written hot path', () => {
  it('gives the zod schemas’ verdict on 20,000 generated readings, valid and broken in every way, with the same reading', () => {
    // a fixed-seed generator (mulberry32): the same cases every run
    let seed = 20261201
    const rnd = () => {
      seed = (seed + 0x6d2b79f5) | 0
      let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
      return ((x ^ (x >>> 14)) >>> 0) / 4294967296
    }
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!
    const oddValues = [-1, -0.001, 0, 2.5, 7, 1e308, -1e308, true, false, 'x', '3', null, [], {}, [1], { v: 1 }, 2 ** 53, 2 ** 53 + 2, 0.5]
    const stamps = [
      NOW - 1000,
      NOW,
      NOW + 4 * 60_000,
      NOW + 6 * 60_000,
      NOW - 8 * 86_400_000,
      (NOW - 1000) / 1000,
      NOW - 0.5,
      '2026-11-23T09:59:00+08:00',
      '2026-11-23 10:00',
      null,
      undefined,
      true,
      {},
    ]
    let accepted = 0
    for (let i = 0; i < 20_000; i++) {
      const kind = pick(DEVICE_KINDS)
      const metrics = Object.keys(KINDS[kind].metrics)
      const values: Record<string, unknown> = {}
      for (const name of metrics) if (rnd() < 0.6) values[name] = rnd() < 0.8 ? SAMPLE_VALUES[kind][name] : pick(oddValues)
      if (rnd() < 0.05) values[pick(['extra', 'dX', '', '__proto__', 'constructor', 'toString'])] = 1
      let item: unknown = { ts: rnd() < 0.8 ? NOW - Math.floor(rnd() * 86_400_000) : pick(stamps), values }
      const envelope = item as Record<string, unknown>
      if (rnd() < 0.2) envelope.seq = pick([0, 1, 42, -1, 1.5, '3', null, 2 ** 60])
      if (rnd() < 0.03) envelope[pick(['extra', '', 'Ts', '__proto__'])] = 1
      if (rnd() < 0.03) delete envelope.ts
      if (rnd() < 0.03) envelope.values = pick([null, [], 'v', 1, [1, 2]])
      if (rnd() < 0.02) item = pick([null, 1, 'x', [], [envelope], true])
      // as it arrives: parsed from JSON text (no undefined, own keys only)
      const parsed: unknown = JSON.parse(JSON.stringify(item) ?? 'null')
      const slow = schemaReading(parsed, dev(kind), NOW, LIMITS, undefined)
      const fast = validReading(parsed, dev(kind), NOW, LIMITS)
      if ('reading' in slow) {
        accepted++
        expect(fast, JSON.stringify(parsed)).toEqual(slow.reading)
      } else expect(fast, `${JSON.stringify(parsed)}: ${slow.problem.code}`).toBeUndefined()
    }
    // both verdicts were exercised in earnest
    expect(accepted).toBeGreaterThan(4000)
    expect(accepted).toBeLessThan(18_000)
  })
})
