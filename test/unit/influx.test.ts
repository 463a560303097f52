import { HttpError } from '@influxdata/influxdb-client'
import { describe, expect, it } from 'vitest'
import { influxConfig, parseEnv } from '../../infra/config/env.js'
import { bucketize } from '../../infra/influx/buckets.js'
import { epochMs, ident, int, rangeQuery, str } from '../../infra/influx/influxql.js'
import { toLine } from '../../infra/influx/line-protocol.js'
import { authHeaders, explain, onThisMachine, parseVersion, writePath } from '../../infra/influx/server.js'

describe('InfluxQL quoting', () => {
  it.each([
    ['flow', '"flow"', `'flow'`],
    [`a"b`, '"a\\"b"', `'a"b'`],
    [`a'b`, `"a'b"`, `'a\\'b'`],
    ['a\\b', '"a\\\\b"', `'a\\\\b'`],
    [`x' OR 'a'='a`, `"x' OR 'a'='a"`, `'x\\' OR \\'a\\'=\\'a'`],
    ['trailing\\', '"trailing\\\\"', `'trailing\\\\'`],
  ])('%s → identifier %s, string %s', (raw, asIdent, asString) => {
    expect(ident(raw)).toBe(asIdent)
    expect(str(raw)).toBe(asString)
  })

  it('writes numbers only when they are integers', () => {
    expect(epochMs(1_800_000_000_000)).toBe('1800000000000ms')
    expect(() => epochMs(1.5)).toThrow(RangeError)
    expect(() => epochMs(Number.NaN)).toThrow(RangeError)
    expect(() => int(-1)).toThrow(RangeError)
  })

  it('builds a range query with every user value quoted', () => {
    expect(rangeQuery('pump', `flow"`, `p'1`, 0, 10, 5)).toBe(`SELECT "flow\\"" FROM "pump" WHERE "device" = 'p\\'1' AND time >= 0ms AND time < 10ms ORDER BY time ASC LIMIT 5`)
  })
})

describe('line protocol', () => {
  const base = { mineId: 'm 1', kind: 'gnss' as const, ts: 1_800_000_000_000 }
  it('escapes tags, writes integer metrics as integers, other numbers as floats, and seq', () => {
    expect(toLine({ ...base, deviceId: 'g,1=x', values: { dN: 3, fix: 4, sats: 12 }, seq: 7 })).toBe('gnss,device=g\\,1\\=x,mine=m\\ 1 dN=3,fix=4i,sats=12i,_seq=7i 1800000000000')
  })
  it('writes booleans as booleans', () => {
    expect(toLine({ ...base, kind: 'pump', deviceId: 'p', values: { running: true, flow: 0.5 } })).toBe('pump,device=p,mine=m\\ 1 running=true,flow=0.5 1800000000000')
  })
})

describe('the InfluxDB server', () => {
  it.each([
    ['1.6.7~rc0', 1, 6],
    ['v2.7.10', 2, 7],
    ['3.0.1', 3, 0],
  ])('reads version %s', (header, major, minor) => {
    expect(parseVersion(header)).toMatchObject({ major, minor })
  })

  it('writes to /write before 1.8 and for 1.x users without a token, to /api/v2/write otherwise', () => {
    const cfg = { url: 'http://x', bucket: 'b&c' }
    expect(writePath(cfg, parseVersion('1.6.7'))).toBe('/write?db=b%26c&precision=ms')
    expect(writePath(cfg, parseVersion('1.8.10'))).toBeUndefined()
    expect(writePath({ ...cfg, username: 'u', password: 'p' }, parseVersion('1.8.10'))).toBe('/write?db=b%26c&precision=ms')
    expect(writePath({ ...cfg, token: 't' }, parseVersion('v2.7.1'))).toBeUndefined()
  })

  it('sends a token as a token and 1.x credentials as basic auth, never in the URL', () => {
    expect(authHeaders({ url: 'x', bucket: 'b', token: 't' })).toEqual({ authorization: 'Token t' })
    expect(authHeaders({ url: 'x', bucket: 'b', username: 'u', password: 'p' })).toEqual({ authorization: `Basic ${Buffer.from('u:p').toString('base64')}` })
  })

  it('explains failures in terms of what to change', () => {
    const cfg = { url: 'http://influx:8086', bucket: 'mw' }
    expect(explain(new HttpError(401, 'Unauthorized', '{"error":"authorization failed"}'), cfg)).toMatch(/refused the credentials .*authorization failed.*MINEWATCH_INFLUX_TOKEN/)
    expect(explain(new HttpError(404, 'Not Found', '{"error":"database not found: \\"mw\\""}'), cfg)).toMatch(/no database or bucket "mw".*CREATE DATABASE "mw"/)
    expect(explain(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), cfg)).toBe('InfluxDB at http://influx:8086 refuses connections (is it running?)')
  })
})

describe('flag buckets', () => {
  it('gives the share of true as the mean, per epoch-aligned bucket, up to the limit', () => {
    const points = [0, 1000, 2000, 61_000, 62_000, 125_000].map((ts, i) => ({ ts, value: i % 3 !== 2 }))
    expect(bucketize(points, 60_000, 10)).toEqual([
      { ts: 0, mean: 2 / 3, min: 0, max: 1, count: 3 },
      { ts: 60_000, mean: 1, min: 1, max: 1, count: 2 },
      { ts: 120_000, mean: 0, min: 0, max: 0, count: 1 },
    ])
    expect(bucketize(points, 60_000, 1)).toHaveLength(1)
  })
})

describe('InfluxDB settings', () => {
  const cfg = (env: Record<string, string>) => {
    const parsed = parseEnv(env)
    if (!parsed.ok) return parsed.errors
    return influxConfig(parsed.env)
  }
  it('is off without a URL, and needs a bucket with one', () => {
    expect(cfg({})).toBeUndefined()
    expect(cfg({ MINEWATCH_INFLUX_URL: 'http://127.0.0.1:8086' })).toEqual({ errors: [expect.stringContaining('MINEWATCH_INFLUX_BUCKET: required')] })
    expect(cfg({ MINEWATCH_INFLUX_URL: 'http://127.0.0.1:8086/', MINEWATCH_INFLUX_BUCKET: 'mw', MINEWATCH_INFLUX_TOKEN: 't' })).toMatchObject({
      url: 'http://127.0.0.1:8086',
      bucket: 'mw',
      token: 't',
    })
  })
  it('refuses a URL that is not http(s), and a password without a user', () => {
    expect(cfg({ MINEWATCH_INFLUX_URL: 'influx:8086', MINEWATCH_INFLUX_BUCKET: 'mw' })).toEqual([expect.stringContaining('expected an http(s) URL')])
    expect(cfg({ MINEWATCH_INFLUX_URL: 'http://x', MINEWATCH_INFLUX_BUCKET: 'mw', MINEWATCH_INFLUX_PASSWORD: 'p' })).toEqual({
      errors: [expect.stringContaining('MINEWATCH_INFLUX_USERNAME: required')],
    })
  })
  it('gzips as told, or leaves it to where InfluxDB runs, and refuses anything but 1 or 0', () => {
    const base = { MINEWATCH_INFLUX_URL: 'http://influxdb:8086', MINEWATCH_INFLUX_BUCKET: 'mw' }
    expect(cfg({ ...base, MINEWATCH_INFLUX_GZIP: '0' })).toMatchObject({ gzip: false })
    expect(cfg({ ...base, MINEWATCH_INFLUX_GZIP: '1' })).toMatchObject({ gzip: true })
    expect(cfg(base)).not.toHaveProperty('gzip')
    expect(cfg({ ...base, MINEWATCH_INFLUX_GZIP: 'maybe' })).toEqual([expect.stringContaining('MINEWATCH_INFLUX_GZIP')])
  })
})

describe('where InfluxDB runs', () => {
  it.each([
    ['http://127.0.0.1:8086', true],
    ['http://127.1.2.3:8086', true],
    ['http://localhost:8086', true],
    ['http://[::1]:8086', true],
    ['http://influxdb:8086', false],
    ['https://10.0.0.5:8086', false],
    ['http://127.0.0.1.example.com:8086', false],
  ])('%s is on this machine: %s (its writes are not gzipped)', (url, expected) => {
    expect(onThisMachine(url)).toBe(expected)
  })
})
