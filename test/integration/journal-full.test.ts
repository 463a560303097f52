import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../helpers/eventually.js'
import { ADMIN_TOKEN, startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { secretOf } from '../helpers/site.js'

/**
 * A nearly full disk (the journal's free-space reading is the one seam): readings are refused
 * without a PUBACK, devices are turned away at CONNECT with "server unavailable", a person's
 * 签收 is refused with MW_NOT_DURABLE rather than confirmed and lost, health and metrics say why,
 * and everything works again once there is space.
 */
let t: TestPlatform
let free = 50 * 1024 * 1024 * 1024
beforeAll(async () => {
  t = await startTestPlatform({ journal: { minFreeBytes: 1024 * 1024 * 1024, spaceCheckMs: 20, freeBytes: async () => free } })
})
afterAll(async () => {
  await t?.stop()
})

const topic = 'mines/mine-a/devices/a-rain/telemetry'
const body = (ts: number) => JSON.stringify({ ts, values: { rainfall: 1.5 } })

describe('journal refusing on a nearly full disk', () => {
  it('does not acknowledge, turns devices away, refuses to confirm a sign-off it cannot keep, says why, and recovers', async () => {
    // a red warning to sign for later
    const piezo = await t.connect('a-piezo')
    await piezo.publishAsync('mines/mine-a/devices/a-piezo/telemetry', JSON.stringify({ ts: Date.now() - 120_000, values: { depth: 3.5 } }), { qos: 1 })
    await eventually(async () => (await t.admin('/api/alerts?mine=mine-a&level=red')).body.count === 1)
    const warning = (await t.admin('/api/alerts?mine=mine-a&level=red')).body.alerts[0]
    const sign = () => t.platform.app.inject({ method: 'POST', url: `/api/alerts/${warning.id}/acknowledge`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })

    const device = await t.connect('a-rain')
    const ts = Date.now() - 60_000
    await device.publishAsync(topic, body(ts), { qos: 1 })

    free = 100 * 1024 * 1024
    await eventually(async () => (await t.admin('/api/health')).body.journal.ok === false)
    const health = (await t.admin('/api/health')).body
    expect(health.status).toBe('degraded')
    expect(health.journal.refusing).toMatch(/^JOURNAL_FULL: only 100 MiB free .*\(minimum 1024 MiB\)/)

    // the publish gets no PUBACK: the connection is closed instead, and the reading is not stored
    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()))
    device.publish(topic, body(ts + 1000), { qos: 1 })
    await closed
    expect((await t.admin('/metrics')).text).toMatch(/minewatch_journal_refused_total\{code="JOURNAL_FULL"\} 1/)

    // a sign-off the platform cannot make durable is not confirmed, and does not take effect
    const notKept = await sign()
    expect(notKept.statusCode).toBe(503)
    expect(notKept.json().error).toMatchObject({ code: 'MW_NOT_DURABLE', message: expect.stringContaining('重试') })
    expect((await t.admin(`/api/alerts?mine=mine-a&level=red`)).body.alerts[0]).toMatchObject({ id: warning.id, state: 'open' })
    expect((await t.admin('/metrics')).text).toMatch(/minewatch_journal_refusing 1/)

    // a device is turned away at the door with CONNACK 3; an integration account still gets in
    const refused = await mqtt.connectAsync(t.mqttUrl, { username: 'a-rain', password: secretOf('a-rain'), reconnectPeriod: 0, clientId: 'again' }).catch((e: { code?: number }) => e)
    expect(refused).toMatchObject({ code: 3 })
    const svc = await t.connect('svc-a')
    await svc.endAsync()

    free = 50 * 1024 * 1024 * 1024
    await eventually(async () => (await t.admin('/api/health')).body.journal.ok)
    expect((await sign()).statusCode).toBe(200)
    const back = await t.connect('a-rain')
    await back.publishAsync(topic, body(ts + 2000), { qos: 1 })
    await t.platform.writer.flush()
    const stored = await t.platform.store.range({ deviceId: 'a-rain', metric: 'rainfall', from: ts, to: ts + 10_000, limit: 10 })
    expect(stored.map((p) => p.ts)).toEqual([ts, ts + 2000])
    await back.endAsync()
  })
})
