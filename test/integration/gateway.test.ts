import { spawn, spawnSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { launchChromium, screenshot, signIn } from '../helpers/browser.js'
import { hashSecret } from '../../ingest/secrets.js'
import { parseSite } from '../../infra/config/site-file.js'
import { aptInstall } from '../helpers/apt.js'
import { eventually } from '../helpers/eventually.js'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { secretOf, testSite } from '../helpers/site.js'

/**
 * Gateways (issue 16 item 1, "Done when": a gateway publishes for its devices and is refused for
 * others), on the real broker over real MQTT: one account, a 数据采集仪 of mine-a, that publishes
 * for the pump and the power meter under their own topics, with their own contract, validation,
 * quarantine and rejects; refused, quarantined and counted for a device it does not list; its
 * connection shown apart from its devices', which are reachable while it is connected.
 */
const GATEWAY = 'dtu-a'
let t: TestPlatform

beforeAll(async () => {
  const site = await testSite()
  const hash = (id: string) => hashSecret(secretOf(id), { N: 1024, r: 8, p: 1 })
  const parsed = parseSite({
    ...site,
    gateways: [
      { id: GATEWAY, name: '1号数据采集仪', secretHash: await hash(GATEWAY), devices: ['a-pump', 'a-power'] },
      // a mine platform's uplink account on this (provincial) platform: every device of mine-b
      { id: 'uplink-b', name: '乙矿平台 联网', secretHash: await hash('uplink-b'), mines: ['mine-b'] },
    ],
  })
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'))
  t = await startTestPlatform({ site: parsed.site, webRoot: inject('webRoot') })
})

afterAll(async () => {
  await t?.stop()
})

/** mosquitto_pub, a client the project did not write, as the gateway; asynchronously, since the platform runs in this process. */
function mosquittoPub(topic: string, message: string): Promise<{ status: number | null; stderr: string }> {
  if (spawnSync('mosquitto_pub', ['--help']).error) aptInstall(['mosquitto-clients'], 'the gateway test publishes with mosquitto_pub')
  return new Promise((resolve) => {
    const port = String(t.platform.ports.mqtt)
    const child = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '-u', GATEWAY, '-P', secretOf(GATEWAY), '-i', `${GATEWAY}-cli`, '-q', '1', '-t', topic, '-m', message])
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.on('close', (status) => resolve({ status, stderr }))
  })
}

describe('a gateway (数据采集仪) publishing for its devices', () => {
  it('publishes for each of its devices under their own topics, and its readings are theirs', async () => {
    const ts = Date.now() - 2000
    const pub = await mosquittoPub('mines/mine-a/devices/a-pump/telemetry', JSON.stringify({ ts, values: { running: true, flow: 120.5, current: 31.2 } }))
    expect(pub).toEqual({ status: 0, stderr: '' })
    const gw = await t.connect(GATEWAY)
    await gw.publishAsync('mines/mine-a/devices/a-power/telemetry', JSON.stringify({ ts, values: { voltage: 398, current: 52, power: 28.4, energy: 1203.5 } }), { qos: 1 })
    await t.platform.writer.flush()
    expect(await t.platform.store.latest('a-pump')).toMatchObject({ ts, values: { running: true, flow: 120.5 } })
    expect(await t.platform.store.latest('a-power')).toMatchObject({ ts, values: { power: 28.4 } })
    await gw.endAsync()
  })

  it('is refused for a device it does not list, its own or another mine’s: acknowledged, routed nowhere, quarantined and counted', async () => {
    const gw = await t.connect(GATEWAY)
    const before = (await t.admin('/metrics')).text
    const refusedBefore = Number(/minewatch_readings_refused_total\{code="TOPIC_FORBIDDEN"\} (\d+)/.exec(before)?.[1] ?? 0)
    const ts = Date.now() - 1000
    await gw.publishAsync('mines/mine-a/devices/a-piezo/telemetry', JSON.stringify({ ts, values: { depth: 3.0 } }), { qos: 1 })
    await gw.publishAsync('mines/mine-b/devices/b-prism/telemetry', JSON.stringify({ ts, values: { dN: 1, dE: 1, dH: 1 } }), { qos: 1 })
    const after = (await t.admin('/metrics')).text
    expect(Number(/minewatch_readings_refused_total\{code="TOPIC_FORBIDDEN"\} (\d+)/.exec(after)?.[1])).toBe(refusedBefore + 2)
    await t.platform.writer.flush()
    expect(await t.platform.store.latest('a-piezo')).toBeUndefined()
    expect(await t.platform.store.latest('b-prism')).toBeUndefined()
    const quarantined = async () => JSON.stringify((await t.admin('/api/quarantine?limit=10')).body.entries)
    await eventually(async () => (await quarantined()).includes('mines/mine-b/devices/b-prism/telemetry'))
    expect(await quarantined()).toContain('"principal":"dtu-a"')
    // the gateway keeps its connection: a refusal is not a disconnect
    expect(gw.connected).toBe(true)
    await gw.endAsync()
  })

  it('gets a device’s rejects for a bad reading it sent, quarantined under that device', async () => {
    const gw = await t.connect(GATEWAY)
    const notices: { topic: string; body: { code: string; topic: string } }[] = []
    gw.on('message', (topic, payload) => notices.push({ topic, body: JSON.parse(payload.toString()) }))
    await gw.subscribeAsync('mines/+/devices/+/rejects', { qos: 1 })
    // a flow below zero: the pump's contract refuses it
    await gw.publishAsync('mines/mine-a/devices/a-pump/telemetry', JSON.stringify({ ts: Date.now() - 500, values: { running: true, flow: -5, current: 10 } }), { qos: 1 })
    await eventually(() => notices.length > 0)
    expect(notices[0]).toMatchObject({ topic: 'mines/mine-a/devices/a-pump/rejects', body: { topic: 'mines/mine-a/devices/a-pump/telemetry' } })
    const record = async () =>
      ((await t.admin('/api/quarantine?limit=50')).body.entries as { principal: string; deviceId: string | null; topic: string }[]).find((r) => r.topic === 'mines/mine-a/devices/a-pump/telemetry')
    await eventually(record)
    expect(await record()).toMatchObject({ principal: GATEWAY, deviceId: 'a-pump' })
    // another device's rejects are not its to read
    await expect(gw.subscribeAsync('mines/mine-a/devices/a-piezo/rejects', { qos: 1 })).rejects.toThrow(/Subscribe error/)
    await gw.endAsync()
  })

  it('shows its own connection apart from its devices’, which are reachable through it while it is connected', async () => {
    const gatewaysOf = async () => (await t.admin('/api/mines/mine-a/gateways')).body
    const devices = async () => Object.fromEntries(((await t.admin('/api/mines/mine-a/devices')).body as { id: string; connected: boolean }[]).map((d) => [d.id, d.connected]))
    await eventually(async () => (await gatewaysOf())[0]?.connected === false)
    const gw = await t.connect(GATEWAY)
    await eventually(async () => (await gatewaysOf())[0]?.connected === true)
    expect(await gatewaysOf()).toEqual([expect.objectContaining({ id: GATEWAY, name: '1号数据采集仪', connected: true, devices: ['a-pump', 'a-power'] })])
    expect(await devices()).toMatchObject({ 'a-pump': true, 'a-power': true, 'a-piezo': false })
    expect((await t.admin('/api/health')).body.broker.gateways).toEqual([
      { id: GATEWAY, name: '1号数据采集仪', connected: true, devices: 2 },
      { id: 'uplink-b', name: '乙矿平台 联网', connected: false, devices: 1 },
    ])
    expect((await t.admin('/metrics')).text).toMatch(/minewatch_gateways_connected 1/)
    // mine-b's gateways are not mine-a's
    expect((await t.admin('/api/mines/mine-b/gateways')).body.map((g: { id: string }) => g.id)).toEqual(['uplink-b'])
    await gw.endAsync()
    await eventually(async () => (await gatewaysOf())[0]?.connected === false)
    expect(await devices()).toMatchObject({ 'a-pump': false, 'a-power': false })
  })

  it('shows the gateway on the mine board, apart from the devices, at 1366×768', async () => {
    const gw = await t.connect(GATEWAY)
    const browser = await launchChromium()
    const { page, errors } = await signIn(browser, `http://127.0.0.1:${t.platform.ports.http}`, 'disp-a', secretOf('disp-a'), { width: 1366, height: 768 })
    await page.goto(`http://127.0.0.1:${t.platform.ports.http}/#/mine/mine-a`)
    const chip = page.locator('[data-test=gateway][data-gateway=dtu-a]')
    await chip.waitFor()
    expect(await chip.getAttribute('data-connected')).toBe('true')
    expect(await chip.textContent()).toContain('网关 1号数据采集仪 在线 · 2 台')
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true)
    await screenshot(page, 'board-1366-gateway')
    // gone: after a reload the board says so
    await gw.endAsync()
    await eventually(async () => (await t.admin('/api/mines/mine-a/gateways')).body[0].connected === false)
    await page.reload()
    await page.locator('[data-test=gateway][data-connected=false]').waitFor()
    expect(errors).toEqual([])
    await browser.close()
  })

  it('lists the warnings mine-b’s platform reported on mine-b’s board for a regulator, as the mine handled them, at 1366×768', async () => {
    const at = Date.now() - 3_600_000
    const alert = (id: string, level: 'red' | 'blue', state: 'open' | 'resolved', overdue = false) => ({
      id,
      mineId: 'mine-b',
      subject: { type: 'device' as const, id: 'b-piezo', name: `乙矿 浸润线 ${id}` },
      rule: 'phreatic-depth',
      ruleKind: 'threshold',
      class: 'warning' as const,
      level,
      peak: level,
      state,
      normal: false,
      raisedAt: at,
      updatedAt: at,
      deadline: at + 3_600_000,
      overdue,
      value: 3.9,
      unit: 'm',
      message: '浸润线埋深 3.9 m',
    })
    await t.platform.reported.append('uplink-b', [
      { type: 'raised', alertId: 'mb-1', mineId: 'mine-b', at, actor: 'system', alert: alert('mb-1', 'red', 'open', true) },
      { type: 'resolved', alertId: 'mb-2', mineId: 'mine-b', at, actor: 'disp-x', alert: alert('mb-2', 'blue', 'resolved') },
    ])
    expect((await t.admin('/api/mines')).body.find((m: { id: string }) => m.id === 'mine-b').reported).toEqual({ open: 1, worst: 'red', overdue: 1 })
    const browser = await launchChromium()
    const { page, errors } = await signIn(browser, `http://127.0.0.1:${t.platform.ports.http}`, 'reg-all', secretOf('reg-all'), { width: 1366, height: 768 })
    await page.goto(`http://127.0.0.1:${t.platform.ports.http}/#/mine/mine-b`)
    const list = page.locator('[data-test=reported]')
    await list.waitFor()
    // not yet resolved first
    expect(await list.locator('li').evaluateAll((items) => items.map((li) => [li.getAttribute('data-alert'), li.getAttribute('data-state')]))).toEqual([
      ['mb-1', 'open'],
      ['mb-2', 'resolved'],
    ])
    expect(await list.locator('li[data-alert=mb-1]').textContent()).toMatch(/乙矿 浸润线 mb-1 · 红色 · 待签收 · 超期/)
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true)
    await screenshot(page, 'board-1366-reported')
    expect(errors).toEqual([])
    await browser.close()
  })

  it('carries every device of the mines it names (a mine platform’s uplink account), and none of another mine', async () => {
    const uplink = await t.connect('uplink-b')
    const ts = Date.now() - 1500
    await uplink.publishAsync('mines/mine-b/devices/b-prism/telemetry', JSON.stringify({ ts, values: { dN: 1.5, dE: -0.5, dH: 0.2 } }), { qos: 1 })
    await uplink.publishAsync('mines/mine-a/devices/a-prism/telemetry', JSON.stringify({ ts, values: { dN: 9, dE: 9, dH: 9 } }), { qos: 1 })
    await t.platform.writer.flush()
    expect(await t.platform.store.latest('b-prism')).toMatchObject({ ts, values: { dN: 1.5 } })
    expect(await t.platform.store.latest('a-prism')).toBeUndefined()
    expect((await t.admin('/api/mines/mine-b/gateways')).body).toMatchObject([{ id: 'uplink-b', connected: true, devices: ['b-prism'] }])
    await uplink.endAsync()
  })

  it('refuses a gateway that lists a device the site does not have, with its path', async () => {
    const site = await testSite()
    const parsed = parseSite({ ...site, gateways: [{ id: 'dtu-x', name: 'X', secretHash: site.mines[0]!.devices[0]!.secretHash, devices: ['a-pump', 'a-nope', 'a-pump'] }] })
    expect(parsed.ok).toBe(false)
    if (!parsed.ok)
      expect(parsed.errors).toEqual(
        expect.arrayContaining([expect.stringContaining('gateways[0].devices[1]: unknown device "a-nope"'), expect.stringContaining('gateways[0].devices[2]: device "a-pump" is listed twice')]),
      )
  })
})
