import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { afterAll, describe, expect, it } from 'vitest'
import type { AlertEvent } from '../../alerting/book/alert.js'
import { eventually } from '../helpers/eventually.js'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'

/**
 * Alerting over real MQTT: readings published by a device cross thresholds, and the warning
 * events appear on the in-process bus and on `mines/{mineId}/alerts`, in order, in Chinese.
 */
const dirs: string[] = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

const piezoTopic = 'mines/mine-a/devices/a-piezo/telemetry'

/** Collects what an integration account receives on a mine's alerts topic. */
async function listen(t: TestPlatform, mine = 'mine-a'): Promise<{ client: MqttClient; got: AlertEvent[] }> {
  const client = await t.connect('svc-a')
  const got: AlertEvent[] = []
  client.on('message', (topic, payload) => {
    if (topic === `mines/${mine}/alerts`) got.push(JSON.parse(payload.toString()))
  })
  await client.subscribeAsync(`mines/${mine}/alerts`, { qos: 1 })
  return { client, got }
}

describe('warnings from readings, over MQTT', () => {
  it('raises, escalates and marks normal as the phreatic depth crosses its thresholds', async () => {
    const t = await startTestPlatform()
    const bus: AlertEvent[] = []
    t.platform.alertBus.on((e) => bus.push(e))
    const { got } = await listen(t)
    const device = await t.connect('a-piezo')
    const t0 = Date.now() - 10 * 60_000
    for (const [i, depth] of [5.0, 4.3, 3.9, 4.6].entries()) {
      await device.publishAsync(piezoTopic, JSON.stringify({ ts: t0 + i * 60_000, values: { depth } }), { qos: 1 })
    }
    await eventually(() => got.length >= 3)
    const mine = got.filter((e) => e.alert.rule === 'phreatic-depth')
    expect(mine.map((e) => [e.type, e.alert.level, e.notify])).toEqual([
      ['raised', 'orange', true],
      ['level', 'red', true],
      ['normal', 'red', false],
    ])
    expect(mine[0]!.alert.message).toBe('测试 a-piezo 浸润线埋深 4.3 m，低于橙色预警值 4.4 m')
    expect(mine[1]!.alert).toMatchObject({ state: 'open', value: 3.9, threshold: 4, unit: 'm', class: 'warning', subject: { id: 'a-piezo' } })
    expect((mine[0] as unknown as { time: string }).time).toMatch(/\+08:00$/)
    // the bus saw the same events, in the same order
    expect(bus.filter((e) => e.alert.rule === 'phreatic-depth').map((e) => e.type)).toEqual(['raised', 'level', 'normal'])

    // people act on it: each step goes out too
    const id = mine[0]!.alertId
    expect(await t.platform.alerting.resolve(id, 'wang', '已处置')).toMatchObject({ ok: false, error: { code: 'MW_ALERT_NOT_ACKNOWLEDGED' } })
    expect((await t.platform.alerting.acknowledge(id, 'wang')).ok).toBe(true)
    await eventually(() => got.some((e) => e.type === 'acknowledged' && e.actor === 'wang'))

    const list = await t.admin('/api/alerts?mine=mine-a')
    expect(list.status).toBe(200)
    expect(list.body.alerts).toMatchObject([{ id, state: 'acknowledged', level: 'red', normal: true, deadlineTime: expect.stringMatching(/T00:00:00\.000\+08:00$/) }])
    expect((await t.admin('/api/alerts?state=bogus')).body.error.code).toBe('MW_BAD_QUERY')
    await t.stop()
  })

  it('says how many committed readings the rule thread has not judged yet, and since when, until it has', async () => {
    let clock = Date.now()
    const t = await startTestPlatform({ now: () => clock })
    const readings = [4.9, 4.8, 4.7].map((depth, i) => ({ mineId: 'mine-a', deviceId: 'a-piezo', kind: 'piezometer' as const, ts: clock - 60_000 + i, values: { depth } }))
    // as the journal's commit hands them over; the rule thread gets them at the end of this turn
    await t.platform.journal.append(readings)
    clock += 5000
    expect(t.platform.alerting.lag()).toEqual({ readings: 3, oldestMs: 5000 })
    // tick resolves once everything committed before it has been judged
    await t.platform.alerting.tick()
    expect(t.platform.alerting.lag()).toEqual({ readings: 0, oldestMs: 0 })
    expect((await t.admin('/api/health')).body.alerts).toMatchObject({ rulesPending: 0, rulesLagSeconds: 0 })
    const metrics = (await t.admin('/metrics')).text
    expect(metrics).toMatch(/^minewatch_rules_pending_readings 0$/m)
    expect(metrics).toMatch(/^minewatch_rules_lag_seconds 0$/m)
    await t.stop()
  })

  it('raises 断线 when a device stops reporting for 3 intervals, and clears it when it is back', async () => {
    let clock = Date.now()
    const t = await startTestPlatform({ now: () => clock, alertTickMs: 20 })
    const { got } = await listen(t)
    const rain = await t.connect('a-rain')
    await rain.publishAsync('mines/mine-a/devices/a-rain/telemetry', JSON.stringify({ ts: clock - 1000, values: { rainfall: 0 } }), { qos: 1 })
    clock += 3 * 60_000 + 1000 // test devices report every 60 s
    await eventually(() => got.some((e) => e.alert.subject.id === 'a-rain' && e.alert.class === 'offline'))
    const offline = got.find((e) => e.alert.subject.id === 'a-rain')!
    expect(offline).toMatchObject({ type: 'raised', alert: { level: 'yellow', rule: 'silence', message: expect.stringContaining('无数据，断线黄色预警') } })
    await rain.publishAsync('mines/mine-a/devices/a-rain/telemetry', JSON.stringify({ ts: clock - 1000, values: { rainfall: 0 } }), { qos: 1 })
    await eventually(() => got.some((e) => e.alert.subject.id === 'a-rain' && e.type === 'normal'))
    await t.stop()
  })
})

describe('the warning book across a restart', () => {
  it('comes back with its open warnings, and goes on updating them', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'minewatch-book-'))
    dirs.push(dataDir)
    const first = await startTestPlatform({ dataDir })
    const device = await first.connect('a-piezo')
    const t0 = Date.now() - 10 * 60_000
    await device.publishAsync(piezoTopic, JSON.stringify({ ts: t0, values: { depth: 4.2 } }), { qos: 1 })
    await eventually(() => first.platform.alerting.book.unresolved().some((a) => a.rule === 'phreatic-depth'))
    const before = first.platform.alerting.book.unresolved().find((a) => a.rule === 'phreatic-depth')!
    await first.stop()

    const second = await startTestPlatform({ dataDir })
    const after = second.platform.alerting.book.unresolved().find((a) => a.rule === 'phreatic-depth')
    expect(after).toEqual(before)
    // and the next reading updates that same warning instead of opening another
    const again = await second.connect('a-piezo')
    await again.publishAsync(piezoTopic, JSON.stringify({ ts: t0 + 60_000, values: { depth: 3.8 } }), { qos: 1 })
    await eventually(() => second.platform.alerting.book.get(before.id)?.level === 'red')
    expect(second.platform.alerting.book.unresolved().filter((a) => a.rule === 'phreatic-depth')).toHaveLength(1)
    await second.stop()
  })
})

describe('the rules across a crash: the last snapshot plus the journal', () => {
  it('replays the readings after the snapshot into the rules, so a window that was filling goes on filling', async () => {
    const { copyFileSync, existsSync, readFileSync } = await import('node:fs')
    const dataDir = mkdtempSync(join(tmpdir(), 'minewatch-rules-'))
    dirs.push(dataDir)
    const stateFile = join(dataDir, 'alerting-rule-state.json')
    const rainTopic = 'mines/mine-a/devices/a-rain/telemetry'
    const t0 = Date.now() - 3 * 3_600_000
    const rain = (c: MqttClient, i: number, mm: number) => c.publishAsync(rainTopic, JSON.stringify({ ts: t0 + i * 60_000, values: { rainfall: mm } }), { qos: 1 })

    const first = await startTestPlatform({ dataDir, alertSnapshotMs: 50 })
    const gauge = await first.connect('a-rain')
    for (let i = 0; i < 3; i++) await rain(gauge, i, 10) // 30 mm
    const position = first.platform.journal.head
    await eventually(() => existsSync(stateFile) && JSON.parse(readFileSync(stateFile, 'utf8')).position >= position)
    copyFileSync(stateFile, `${stateFile}.older`)
    for (let i = 3; i < 5; i++) await rain(gauge, i, 7.5) // 45 mm
    await first.stop()
    // as if the process had died before saving again: only the older snapshot is there
    copyFileSync(`${stateFile}.older`, stateFile)

    const second = await startTestPlatform({ dataDir })
    const got: AlertEvent[] = []
    second.platform.alertBus.on((e) => got.push(e))
    const again = await second.connect('a-rain')
    await rain(again, 5, 6) // 51 mm in the day only if the 15 mm after the snapshot were replayed
    await eventually(() => got.some((e) => e.alert.rule === 'rain-24h'))
    expect(got.find((e) => e.alert.rule === 'rain-24h')).toMatchObject({ type: 'raised', alert: { level: 'yellow', value: 51 } })
    await second.stop()
  })
})
