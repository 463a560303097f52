import { createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InfluxStore } from '../../infra/influx-store.js'
import type { Reading } from '../../ingest/reading.js'
import { storeContract } from '../contract/store.contract.js'
import { alertStoreContract } from '../contract/alert-store.contract.js'
import { INFLUX_ADMIN, startInflux, type TestInflux } from '../helpers/influxdb.js'
import { memoryLog } from '../helpers/journal.js'

/** The same contract as the embedded store, against a real influxd (Debian's 1.6.7) with auth on. */
let influx: TestInflux
let databases = 0
beforeAll(async () => {
  influx = await startInflux({ auth: true })
})
afterAll(async () => {
  await influx?.dispose()
})

async function freshStore(opts: { kindOf?: (id: string) => 'pump' | undefined; username?: string; password?: string; create?: boolean } = {}) {
  const db = `minewatch_${++databases}`
  if (opts.create !== false) await influx.query(`CREATE DATABASE "${db}"`)
  const log = memoryLog()
  const store = new InfluxStore({ url: influx.url, bucket: db, username: opts.username ?? INFLUX_ADMIN.username, password: opts.password ?? INFLUX_ADMIN.password }, opts.kindOf ?? (() => 'pump'), log)
  return { store, db, log }
}

storeContract('InfluxDB 1.6', async () => (await freshStore()).store)
alertStoreContract('InfluxDB 1.6', async () => (await freshStore()).store)

const T0 = Date.parse('2026-11-20T00:00:00Z')
const pump = (deviceId: string, ts: number, values: Reading['values']): Reading => ({ mineId: 'm1', deviceId, kind: 'pump', ts, values })

describe('InfluxDB store', () => {
  it('writes through /write on a server older than 1.8, as one measurement per kind with device and mine tags', async () => {
    const { store, db, log } = await freshStore()
    await store.write([pump('p1', T0, { flow: 1.5, running: true })])
    expect(log.lines.some((l) => l.msg.includes('writing line protocol'))).toBe(true)
    const answer = await influx.query('SHOW TAG KEYS FROM "pump"', db)
    expect(answer.results[0].series[0].values.flat()).toEqual(['device', 'mine'])
    const fields = await influx.query('SHOW FIELD KEYS FROM "pump"', db)
    expect(Object.fromEntries(fields.results[0].series[0].values)).toEqual({ flow: 'float', running: 'boolean' })
    await store.close()
  })

  it('gzips its writes to an InfluxDB on another machine, and sends them plain on loopback', async () => {
    const { db } = await freshStore()
    // a proxy in front of influxd notes how each write came
    const encodings: (string | undefined)[] = []
    const proxy = createServer((req, res) => {
      if (req.url?.includes('write')) encodings.push(req.headers['content-encoding'])
      const target = new URL(req.url!, influx.url)
      const out = httpRequest(target, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode!, answer.headers)
        answer.pipe(res)
      })
      req.pipe(out)
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
    const auth = { bucket: db, username: INFLUX_ADMIN.username, password: INFLUX_ADMIN.password }
    // large enough to pass the client's 1,000-byte threshold
    const many = (device: string) => Array.from({ length: 200 }, (_, i) => pump(device, T0 + i, { flow: i }))
    const remote = new InfluxStore({ url, ...auth, gzip: true }, () => 'pump', memoryLog())
    await remote.write(many('remote'))
    const local = new InfluxStore({ url, ...auth }, () => 'pump', memoryLog())
    await local.write(many('local'))
    expect(encodings).toEqual(['gzip', undefined])
    for (const device of ['remote', 'local']) expect(await local.range({ deviceId: device, metric: 'flow', from: T0, to: T0 + 200, limit: 1000 })).toHaveLength(200)
    await remote.close()
    await local.close()
    await new Promise((resolve) => proxy.close(resolve))
  })

  it('stores and finds devices whose ids hold quotes, backslashes, spaces and commas', async () => {
    const { store } = await freshStore()
    const ids = [`p'1`, 'p\\2', 'p 3,x=y', `p"4`]
    await store.write(ids.map((id, i) => pump(id, T0, { flow: i })))
    for (const [i, id] of ids.entries()) {
      expect(await store.range({ deviceId: id, metric: 'flow', from: T0, to: T0 + 1, limit: 10 })).toEqual([{ ts: T0, value: i }])
    }
    // a device id crafted to widen the WHERE clause finds nothing
    expect(await store.range({ deviceId: `x' OR "device" =~ /.*/ OR 'a'='a`, metric: 'flow', from: T0, to: T0 + 1, limit: 10 })).toEqual([])
    await store.close()
  })

  it('says what is wrong when the credentials are refused, and the write fails (the journal keeps the data)', async () => {
    const { store } = await freshStore({ password: 'wrong' })
    await expect(store.write([pump('p1', T0, { flow: 1 })])).rejects.toThrow(/refused the credentials \(HTTP 401.*MINEWATCH_INFLUX_USERNAME\/PASSWORD/)
    await store.close()
  })

  it('says what is wrong when the database does not exist', async () => {
    const { store, db } = await freshStore({ create: false })
    await expect(store.write([pump('p1', T0, { flow: 1 })])).rejects.toThrow(new RegExp(`no database or bucket "${db}".*CREATE DATABASE`))
    await influx.query(`CREATE DATABASE "${db}"`)
    await store.write([pump('p1', T0, { flow: 1 })])
    expect(await store.range({ deviceId: 'p1', metric: 'flow', from: T0, to: T0 + 1, limit: 1 })).toEqual([{ ts: T0, value: 1 }])
    await store.close()
  })

  it('reports an unreachable server in health', async () => {
    const store = new InfluxStore({ url: 'http://127.0.0.1:1', bucket: 'x' }, () => 'pump', memoryLog())
    const health = await store.health()
    expect(health.ok).toBe(false)
    expect(health.detail).toMatch(/127\.0\.0\.1:1/)
    await store.close()
  })

  it('stores the rest of a batch when InfluxDB refuses some of its lines, instead of stalling on them', async () => {
    const { store, db, log } = await freshStore()
    // someone else wrote `flow` as an integer first: our float `flow` lines now conflict
    const res = await fetch(`${influx.url}/write?db=${db}&precision=ms&u=${INFLUX_ADMIN.username}&p=${INFLUX_ADMIN.password}`, {
      method: 'POST',
      body: `pump,device=p0,mine=m1 flow=1i ${T0 - 1000}`,
    })
    expect(res.status).toBe(204)
    await store.write([pump('p1', T0, { flow: 2.5 }), pump('p1', T0 + 1, { current: 3 })])
    expect(await store.range({ deviceId: 'p1', metric: 'current', from: T0, to: T0 + 10, limit: 10 })).toEqual([{ ts: T0 + 1, value: 3 }])
    expect(log.lines.some((l) => l.level === 'error' && l.msg.includes('refused some lines'))).toBe(true)
    await store.close()
  })
})
