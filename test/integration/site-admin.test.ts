import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { parse as parseYaml } from 'yaml'
import { afterAll, describe, expect, it } from 'vitest'
import { eventually } from '../helpers/eventually.js'
import { ADMIN_TOKEN, startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { testSite } from '../helpers/site.js'
import { flatPng } from '../helpers/png.js'

/**
 * 站点管理 (issue 14 item 5) on the real platform: a device added through the API connects over
 * real MQTT with the secret it was given once and raises a warning, with no restart; a rule edited
 * with its basis judges the next reading; a secret reset or a retirement closes the device's
 * connection and refuses the old secret; people added sign in and retired ones are signed out;
 * every change is audited without secrets, survives a restart, and a site file edited by hand
 * wins over the screen's changes at the next start.
 */
const dirs: string[] = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

async function call(t: TestPlatform, method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, body?: object, token = ADMIN_TOKEN) {
  const res = await t.platform.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(body ? { payload: body } : {}) })
  return { status: res.statusCode, body: res.json() as any }
}

const NEW_PIEZO = {
  id: 'a-piezo-9',
  kind: 'piezometer',
  name: '新增浸润线 ZK-9',
  position: { lat: 37.351, lon: 120.851 },
  interval: 60,
  rules: [{ kind: 'threshold', id: 'depth', source: { metric: 'depth' }, direction: 'below', thresholds: { red: 3.0 }, basis: '设计院: 浸润线最小埋深 3.0 m (GB 39496-2020 §5.5.4)' }],
}

const connectAs = (t: TestPlatform, id: string, password: string) =>
  mqtt.connectAsync(t.mqttUrl, { username: id, password, clientId: `${id}-${Math.random().toString(36).slice(2)}`, reconnectPeriod: 0, connectTimeout: 5000 })

/** Waits for the warning of a device's rule in the book: the rules see a reading once it is committed. */
async function warningOf(t: TestPlatform, deviceId: string, rule: string) {
  return eventually(async () => {
    await t.platform.alerting.tick()
    return t.platform.alerting.book.all().find((a) => a.subject.id === deviceId && a.rule === rule)
  })
}

describe('site administration', () => {
  it('adds a device that connects with its one-time secret and raises a warning, without a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'minewatch-admin-'))
    dirs.push(dataDir)
    const t = await startTestPlatform({ dataDir })
    const added = await call(t, 'POST', '/api/admin/mines/mine-a/devices', NEW_PIEZO)
    expect(added.status).toBe(200)
    expect(added.body.secret).toMatch(/^[A-Za-z0-9_-]{32}$/)
    // the secret is shown once: the site and the audit hold its hash only, and the view not even that
    const view = await call(t, 'GET', '/api/admin/site')
    const shown = view.body.mines[0].devices.find((d: any) => d.id === 'a-piezo-9')
    expect(shown).toMatchObject({ name: '新增浸润线 ZK-9', interval: 60 })
    expect(shown.secretHash).toBeUndefined()
    expect(shown.effective.find((r: any) => r.id === 'depth')).toMatchObject({ from: 'device', basis: NEW_PIEZO.rules[0]!.basis })
    expect(JSON.stringify((await call(t, 'GET', '/api/admin/audit')).body)).not.toContain(added.body.secret)
    expect(readFileSync(join(dataDir, 'site', 'site.json'), 'utf8')).not.toContain(added.body.secret)

    const device = await connectAs(t, 'a-piezo-9', added.body.secret)
    await device.publishAsync('mines/mine-a/devices/a-piezo-9/telemetry', JSON.stringify({ ts: Date.now() - 1000, values: { depth: 2.8 } }), { qos: 1 })
    const warning = await warningOf(t, 'a-piezo-9', 'depth')
    expect(warning).toMatchObject({ level: 'red', mineId: 'mine-a', basis: NEW_PIEZO.rules[0]!.basis })
    // the new device is on the dispatcher's board of its mine
    const board = (await t.admin('/api/mines/mine-a/devices')).body
    expect(JSON.stringify(board)).toContain('a-piezo-9')
    await device.endAsync()
    await t.stop()
  })

  it('refuses a change the site file would refuse, with its path, and changes nothing', async () => {
    const t = await startTestPlatform()
    const bad = await call(t, 'POST', '/api/admin/mines/mine-a/devices', { ...NEW_PIEZO, interval: -5 })
    expect(bad.status).toBe(400)
    expect(bad.body.error.code).toBe('MW_SITE_INVALID')
    expect(bad.body.error.message).toMatch(/mines\[0\]\.devices\[\d+\]\.interval: expected a positive number/)
    const taken = await call(t, 'POST', '/api/admin/mines/mine-a/devices', { ...NEW_PIEZO, id: 'b-prism' })
    expect(taken.body.error.message).toContain('already used')
    const wrongMetric = await call(t, 'PUT', '/api/admin/mines/mine-a/rules/piezometer', { rules: [{ kind: 'threshold', id: 'x', source: { metric: 'level' }, thresholds: { red: 1 } }] })
    expect(wrongMetric.status).toBe(400)
    expect(wrongMetric.body.error.message).toContain('a piezometer has no metric "level"')
    // a PATCH cannot set a secret's hash: only a reset makes one
    const sneaky = await call(t, 'PATCH', '/api/admin/devices/a-prism', { secretHash: 'scrypt$1$1$1$AA==$AA==' })
    expect(sneaky.status).toBe(400)
    expect((await call(t, 'GET', '/api/admin/audit')).body.entries).toEqual([])
    expect((await call(t, 'GET', '/api/admin/site')).body.mines[0].devices.map((d: any) => d.id)).not.toContain('a-piezo-9')
    // only an admin administers
    const login = await t.platform.app.inject({ method: 'POST', url: '/api/login', payload: { username: 'disp-a', password: 'disp-a-secret' } })
    const dispatcher = await call(t, 'GET', '/api/admin/site', undefined, login.json().token)
    expect(dispatcher.status).toBe(403)
    await t.stop()
  })

  it("applies a mine's rule edit to the next reading, and audits who changed what, before and after", async () => {
    const t = await startTestPlatform()
    const device = await t.connect('a-reservoir')
    const topic = 'mines/mine-a/devices/a-reservoir/telemetry'
    const rule = { kind: 'threshold', id: 'pond-level', source: { metric: 'level' }, direction: 'above', thresholds: { red: 99.8 }, basis: '设计最高洪水位 99.8 m (设计值)' }
    expect((await call(t, 'PUT', '/api/admin/mines/mine-a/rules/reservoir', { rules: [rule] })).status).toBe(200)
    await device.publishAsync(topic, JSON.stringify({ ts: Date.now() - 2000, values: { level: 99.5 } }), { qos: 1 })
    await t.platform.alerting.tick()
    expect(t.platform.alerting.book.all().filter((a) => a.subject.id === 'a-reservoir')).toEqual([])
    // lowered to 99.4 m: the next reading at 99.5 m is red
    const lowered = { ...rule, thresholds: { red: 99.4 }, basis: '设计院复核: 99.4 m' }
    expect((await call(t, 'PUT', '/api/admin/mines/mine-a/rules/reservoir', { rules: [lowered] })).status).toBe(200)
    await device.publishAsync(topic, JSON.stringify({ ts: Date.now() - 1000, values: { level: 99.5 } }), { qos: 1 })
    expect(await warningOf(t, 'a-reservoir', 'pond-level')).toMatchObject({ level: 'red', basis: '设计院复核: 99.4 m' })
    const [last, first] = (await call(t, 'GET', '/api/admin/audit')).body.entries
    expect(first).toMatchObject({ actor: 'admin-token', op: 'mine.rules', target: 'rules:mine-a/reservoir', before: [], after: [rule] })
    expect(last).toMatchObject({ op: 'mine.rules', before: [rule], after: [lowered], actorName: '管理令牌 (admin token)' })
    expect(typeof last.at).toBe('number')
    await t.stop()
  })

  it('a secret reset or a retirement closes the device and refuses the old secret; its warnings stay', async () => {
    const t = await startTestPlatform()
    const old = await t.connect('a-piezo')
    const closed = new Promise<void>((resolve) => old.once('close', () => resolve()))
    const reset = await call(t, 'POST', '/api/admin/devices/a-piezo/secret')
    expect(reset.status).toBe(200)
    await closed
    await expect(connectAs(t, 'a-piezo', 'a-piezo-secret')).rejects.toThrow(/Not authorized|Bad username or password/)
    const renewed = await connectAs(t, 'a-piezo', reset.body.secret)
    await renewed.publishAsync('mines/mine-a/devices/a-piezo/telemetry', JSON.stringify({ ts: Date.now() - 1000, values: { depth: 3.9 } }), { qos: 1 })
    await warningOf(t, 'a-piezo', 'phreatic-depth')
    const gone = new Promise<void>((resolve) => renewed.once('close', () => resolve()))
    expect((await call(t, 'DELETE', '/api/admin/devices/a-piezo')).status).toBe(200)
    await gone
    await expect(connectAs(t, 'a-piezo', reset.body.secret)).rejects.toThrow(/Not authorized|Bad username or password/)
    // its open warning is still there to be handled: only people close warnings
    expect(t.platform.alerting.book.unresolved().some((a) => a.subject.id === 'a-piezo')).toBe(true)
    const retired = (await call(t, 'GET', '/api/admin/audit')).body.entries[0]
    expect(retired).toMatchObject({ op: 'device.retire', target: 'device:a-piezo', after: null, before: { id: 'a-piezo', secretHash: '(已设置)' } })
    await t.stop()
  })

  it('adds a person who signs in with the one-time password; a password reset or a retirement signs them out', async () => {
    const t = await startTestPlatform()
    const added = await call(t, 'POST', '/api/admin/users', { id: 'zhang-san', name: '张三', role: 'dispatcher', mines: ['mine-a'] })
    expect(added.status).toBe(200)
    const login = await t.platform.app.inject({ method: 'POST', url: '/api/login', payload: { username: 'zhang-san', password: added.body.secret } })
    expect(login.statusCode).toBe(200)
    const token = login.json().token as string
    expect((await call(t, 'GET', '/api/me', undefined, token)).body).toMatchObject({ name: '张三', mines: ['mine-a'] })
    expect((await call(t, 'PATCH', '/api/admin/users/zhang-san', { mines: ['mine-b'] })).status).toBe(200)
    expect((await call(t, 'GET', '/api/me', undefined, token)).body.mines).toEqual(['mine-b'])
    expect((await call(t, 'PATCH', '/api/admin/users/zhang-san', { mines: ['mine-z'] })).body.error.message).toContain('unknown mine "mine-z"')
    // a new password ends the sessions signed in with the old one
    const reset = await call(t, 'POST', '/api/admin/users/zhang-san/password')
    expect((await call(t, 'GET', '/api/me', undefined, token)).status).toBe(401)
    const again = (await t.platform.app.inject({ method: 'POST', url: '/api/login', payload: { username: 'zhang-san', password: reset.body.secret } })).json().token as string
    expect((await call(t, 'GET', '/api/me', undefined, again)).status).toBe(200)
    expect((await call(t, 'DELETE', '/api/admin/users/zhang-san')).status).toBe(200)
    expect((await call(t, 'GET', '/api/me', undefined, again)).status).toBe(401)
    await t.stop()
  })

  it('keeps the changes across a restart; a site file edited since wins, and the audit says so', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'minewatch-admin-'))
    dirs.push(dataDir)
    const site = await testSite()
    const first = await startTestPlatform({ dataDir, site })
    const added = await call(first, 'POST', '/api/admin/mines/mine-a/devices', NEW_PIEZO)
    await first.stop()

    const second = await startTestPlatform({ dataDir, site })
    expect(second.platform.siteAdmin.current().mines[0]!.devices.map((d) => d.id)).toContain('a-piezo-9')
    const device = await connectAs(second, 'a-piezo-9', added.body.secret)
    await device.endAsync()
    // the export is a site file the platform reads back as it is
    const exported = await second.platform.app.inject({ method: 'GET', url: '/api/admin/site/export?format=yaml', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    expect(exported.headers['content-disposition']).toContain('site.yaml')
    expect(parseYaml(exported.body).mines[0].devices.map((d: any) => d.id)).toContain('a-piezo-9')
    await second.stop()

    // the site file changed by hand (another seed): it wins, and the screen's change is in the audit
    const third = await startTestPlatform({ dataDir, site, siteSeed: 'edited-by-hand' })
    expect(third.platform.siteAdmin.current().mines[0]!.devices.map((d) => d.id)).not.toContain('a-piezo-9')
    const entries = (await call(third, 'GET', '/api/admin/audit')).body.entries
    expect(entries.map((e: any) => e.op)).toEqual(['site.file', 'device.add'])
    expect(entries[0]).toMatchObject({ actorName: '站点文件', before: { devices: 11 }, after: { devices: 10 } })
    // and an import brings the exported file back
    const imported = await call(third, 'PUT', '/api/admin/site', { text: exported.body })
    expect(imported.status).toBe(200)
    expect(third.platform.siteAdmin.current().mines[0]!.devices.map((d) => d.id)).toContain('a-piezo-9')
    const broken = await call(third, 'PUT', '/api/admin/site', { text: 'mines: [' })
    expect(broken.body.error).toMatchObject({ code: 'MW_SITE_INVALID' })
    await third.stop()
  })

  it('writes the audit line a crash cut off at the next start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'minewatch-admin-'))
    dirs.push(dataDir)
    const site = await testSite()
    const first = await startTestPlatform({ dataDir, site })
    await call(first, 'POST', '/api/admin/users', { id: 'li-si', name: '李四', role: 'director', mines: ['mine-a'] })
    await first.stop()
    // as if killed after site.json was replaced and before the audit line was whole
    const audit = join(dataDir, 'site', 'audit.jsonl')
    writeFileSync(audit, readFileSync(audit, 'utf8').slice(0, 40))
    const second = await startTestPlatform({ dataDir, site })
    const entries = (await call(second, 'GET', '/api/admin/audit')).body.entries
    expect(entries).toHaveLength(1)
    expect(entries[0]).toMatchObject({ op: 'user.add', target: 'user:li-si' })
    await call(second, 'DELETE', '/api/admin/users/li-si')
    expect((await call(second, 'GET', '/api/admin/audit')).body.entries.map((e: any) => e.op)).toEqual(['user.retire', 'user.add'])
    await second.stop()
  })

  it('keeps an uploaded site plan drawing, serves it to the people of its mine only, and checks the places on it', async () => {
    const t = await startTestPlatform()
    const png = flatPng(800, 600)
    const put = (body: Buffer, type = 'image/png') =>
      t.platform.app.inject({ method: 'PUT', url: '/api/admin/mines/mine-a/plan', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': type }, payload: body })
    const uploaded = await put(png)
    expect(uploaded.statusCode).toBe(200)
    // an HTML page or an SVG sent as a PNG is refused by its own bytes
    const html = await put(Buffer.from('<html><script>alert(1)</script></html>'))
    expect(html.json().error.code).toBe('MW_BAD_IMAGE')
    expect((await put(Buffer.from('<svg/>'), 'image/svg+xml')).statusCode).toBe(415)
    expect((await put(Buffer.alloc(9 * 1024 * 1024, 1))).statusCode).toBe(413)

    expect((await call(t, 'PUT', '/api/admin/mines/mine-a/plan/positions', { positions: { 'a-prism': { x: 0.25, y: 0.5 }, 'a-piezo': { x: 0.75, y: 0.2 } } })).status).toBe(200)
    const refused = await call(t, 'PUT', '/api/admin/mines/mine-a/plan/positions', { positions: { 'b-prism': { x: 0.1, y: 0.1 } } })
    expect(refused.body.error.message).toContain('"b-prism" is not a device of this mine')

    const mine = (await t.admin('/api/mines')).body.find((m: any) => m.id === 'mine-a')
    expect(mine.plan).toMatchObject({ width: 800, height: 600, positions: { 'a-prism': { x: 0.25, y: 0.5 } } })
    expect(mine.plan.image).toMatch(/^mine-a-[0-9a-f]{12}\.png$/)
    const login = async (user: string) => (await t.platform.app.inject({ method: 'POST', url: '/api/login', payload: { username: user, password: `${user}-secret` } })).json().token
    const mineA = await t.platform.app.inject({ method: 'GET', url: '/api/mines/mine-a/plan', headers: { authorization: `Bearer ${await login('disp-a')}` } })
    expect(mineA.statusCode).toBe(200)
    expect(mineA.headers['content-type']).toBe('image/png')
    expect(Buffer.compare(mineA.rawPayload, png)).toBe(0)
    const mineB = await t.platform.app.inject({ method: 'GET', url: '/api/mines/mine-a/plan', headers: { authorization: `Bearer ${await login('disp-b')}` } })
    expect(mineB.statusCode).toBe(404)
    // a retired device leaves the drawing
    await call(t, 'DELETE', '/api/admin/devices/a-prism')
    expect(t.platform.siteAdmin.current().mines[0]!.plan!.positions).toEqual({ 'a-piezo': { x: 0.75, y: 0.2 } })
    await call(t, 'DELETE', '/api/admin/mines/mine-a/plan')
    expect((await t.admin('/api/mines/mine-a/plan')).status).toBe(404)
    await t.stop()
  })
})
