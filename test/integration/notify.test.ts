import { createHmac } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { notifySchema } from '../../alerting/notify/policy.js'
import { eventually } from '../helpers/eventually.js'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { secretOf, testSite } from '../helpers/site.js'
import { launchChromium, screenshot } from '../helpers/browser.js'

/**
 * 叫应 on real servers on loopback (issue 15, "Done when"): an HTTP receiver stands in for each
 * vendor's robot and checks the request bodies and signatures as each vendor documents them
 * (the signatures recomputed here from the vendor's algorithm, not by the platform's code), a
 * real SMTP server (the smtp-server package) receives the e-mail; an unsigned warning walks the
 * chain on an injected clock and stops when signed; a restart in the middle sends nothing twice.
 */
const MIN = 60_000
const DING_SECRET = 'SECtest-dingtalk-secret'
const FEISHU_SECRET = 'feishu-test-secret'
type Got = { path: string; query: URLSearchParams; headers: IncomingMessage['headers']; body: any; at: number }
const got: Got[] = []
/** While set, the 企业微信 robot answers 502 (a gateway down). */
let wecomDown = false
const mails: { to: string[]; data: string }[] = []
let http: Server
let smtp: SMTPServer
let httpBase: string
let smtpPort: number
const dirs: string[] = []

beforeAll(async () => {
  http = createServer((req, res) => {
    let text = ''
    req.on('data', (c: Buffer) => (text += c.toString('utf8')))
    req.on('end', () => {
      const url = new URL(req.url!, 'http://x')
      if (wecomDown && url.pathname.startsWith('/wecom')) {
        res.statusCode = 502
        res.end('bad gateway')
        return
      }
      got.push({ path: url.pathname, query: url.searchParams, headers: req.headers, body: JSON.parse(text), at: Date.now() })
      res.setHeader('content-type', 'application/json')
      // each robot answers as its vendor does
      res.end(url.pathname.startsWith('/feishu') ? '{"code":0,"msg":"success","data":{}}' : '{"errcode":0,"errmsg":"ok"}')
    })
  })
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
  httpBase = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, done) {
      let data = ''
      stream.on('data', (c: Buffer) => (data += c.toString('utf8')))
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), data })
        done()
      })
    },
  })
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r))
  smtpPort = (smtp.server.address() as AddressInfo).port
  process.env.MW_TEST_WECOM_URL = `${httpBase}/wecom/send?key=test-key`
  process.env.MW_TEST_DING_URL = `${httpBase}/dingtalk/robot/send?access_token=test-token`
  process.env.MW_TEST_DING_SECRET = DING_SECRET
  process.env.MW_TEST_FEISHU_URL = `${httpBase}/feishu/hook/test`
  process.env.MW_TEST_FEISHU_SECRET = FEISHU_SECRET
})

afterAll(async () => {
  await new Promise((r) => http.close(r))
  await new Promise((r) => smtp.close(r as () => void))
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }))
})

const notify = () =>
  notifySchema.parse({
    publicUrl: 'https://minewatch.example.cn',
    channels: [
      { id: 'wecom', type: 'wecom', url: { env: 'MW_TEST_WECOM_URL' } },
      { id: 'ding', type: 'dingtalk', url: { env: 'MW_TEST_DING_URL' }, secret: { env: 'MW_TEST_DING_SECRET' } },
      { id: 'feishu', type: 'feishu', url: { env: 'MW_TEST_FEISHU_URL' }, secret: { env: 'MW_TEST_FEISHU_SECRET' } },
      { id: 'hook', type: 'webhook', url: `${httpBase}/hook` },
      { id: 'mail', type: 'email', host: '127.0.0.1', port: smtpPort, from: 'minewatch@example.cn' },
    ],
    contacts: [
      { id: 'duty', name: '专席值班 王', via: [{ channel: 'wecom', to: '13800000001' }] },
      {
        id: 'director',
        name: '安全负责人 李',
        via: [
          { channel: 'ding', to: '13800000002' },
          { channel: 'mail', to: 'li@example.cn' },
        ],
      },
      { id: 'regulator', name: '市应急局值班', via: [{ channel: 'feishu' }, { channel: 'hook' }] },
    ],
    policies: [
      {
        id: 'chain',
        levels: ['orange', 'red'],
        steps: [
          { after: 0, notify: ['duty'] },
          { after: 15, notify: ['director'] },
          { after: 30, notify: ['regulator'] },
        ],
      },
    ],
  })

async function platform(dataDir: string, clock: { now: number }): Promise<TestPlatform> {
  const site = await testSite()
  return startTestPlatform({ dataDir, site: { ...site, notify: notify() }, now: () => clock.now, notifyTickMs: 60_000 })
}

/** A phreatic depth of the test piezometer (PIEZO_RULE: orange ≤ 4.4 m, red ≤ 4.0 m), published over MQTT. */
async function publishDepth(t: TestPlatform, depth: number, ts: number): Promise<void> {
  const piezo = await t.connect('a-piezo')
  await piezo.publishAsync('mines/mine-a/devices/a-piezo/telemetry', JSON.stringify({ ts, values: { depth } }), { qos: 1 })
  await piezo.endAsync()
}

/**
 * 10:00 on the mine's clock (Asia/Shanghai) at or before now: the chains below walk up to 46
 * minutes on, and from a real now in the late evening they would cross midnight, where a warning
 * goes overdue (an event in its record, a call of its own) and the test would depend on the hour.
 */
function lastMorning(): number {
  const today = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10)
  const at = Date.parse(`${today}T10:00:00+08:00`)
  return at <= Date.now() ? at : at - 86_400_000
}

function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'minewatch-notify-'))
  dirs.push(dir)
  return dir
}

/** One turn: the rules caught up, the calls due decided and sent. */
async function turn(t: TestPlatform): Promise<void> {
  await t.platform.alerting.tick()
  await t.platform.notifier.turn()
}

/** The test chain on a fresh platform at a morning of the mine's clock, a piezometer depth published, turned until `until`. */
async function raised(depth: number, until: (t: TestPlatform) => boolean): Promise<{ t: TestPlatform; clock: { now: number }; dataDir: string }> {
  const dataDir = freshDir()
  const clock = { now: lastMorning() }
  const t = await platform(dataDir, clock)
  await publishDepth(t, depth, clock.now - 1000)
  await eventually(async () => {
    await turn(t)
    return until(t)
  })
  return { t, clock, dataDir }
}

describe('叫应: calls until someone signs', () => {
  it('walks an unsigned orange warning up the chain on each vendor’s documented format, and stops when it is signed', async () => {
    const { t, clock } = await raised(4.3, () => got.some((g) => g.path === '/wecom/send'))
    // 企业微信: text with the @-mentioned mobile, the key on the URL
    const wecom = got.find((g) => g.path === '/wecom/send')!
    expect(wecom.query.get('key')).toBe('test-key')
    expect(wecom.body).toMatchObject({ msgtype: 'text', text: { mentioned_mobile_list: ['13800000001'] } })
    expect(wecom.body.text.content).toMatch(/^【橙色预警】测试矿山 mine-a: 测试 a-piezo 浸润线埋深 4.3 m.*尚未签收, 请立即签收处置: https:\/\/minewatch\.example\.cn\/s\/[A-Za-z0-9_-]{22}$/)
    expect(got).toHaveLength(1)

    // 15 minutes unsigned: the director, on 钉钉 (signed) and by e-mail
    clock.now += 15 * MIN
    await eventually(async () => {
      await turn(t)
      return got.some((g) => g.path.startsWith('/dingtalk')) && mails.length === 1
    })
    const ding = got.find((g) => g.path.startsWith('/dingtalk'))!
    const ts = ding.query.get('timestamp')!
    expect(Math.abs(Number(ts) - clock.now)).toBeLessThan(5000)
    // 钉钉 加签: base64(HmacSHA256(secret, timestamp + "\n" + secret)), sent URL-encoded
    expect(ding.query.get('sign')).toBe(createHmac('sha256', DING_SECRET).update(`${ts}\n${DING_SECRET}`).digest('base64'))
    expect(ding.query.get('access_token')).toBe('test-token')
    expect(ding.body).toMatchObject({ msgtype: 'text', at: { atMobiles: ['13800000002'], isAtAll: false } })
    expect(mails[0]!.to).toEqual(['li@example.cn'])
    // the e-mail as a mail client reads it: from, to, the subject and the text in Chinese
    const mail = await simpleParser(mails[0]!.data)
    expect(mail.from?.text).toBe('minewatch@example.cn')
    expect(mail.subject).toMatch(/^【橙色预警】测试矿山 mine-a/)
    expect(mail.text).toMatch(/尚未签收, 请立即签收处置: https:\/\/minewatch\.example\.cn\/s\/[A-Za-z0-9_-]{22}\s*$/)

    // signed (签收) a minute later: the chain stops; half an hour later the regulator is not called
    clock.now += MIN
    const alert = t.platform.alerting.book.unresolved().find((a) => a.subject.id === 'a-piezo')!
    expect((await t.platform.alerting.acknowledge(alert.id, 'disp-a')).ok).toBe(true)
    clock.now += 30 * MIN
    await turn(t)
    await turn(t)
    expect(got.some((g) => g.path.startsWith('/feishu') || g.path === '/hook')).toBe(false)
    // the warning's calls, as its history shows them: who, on what, delivered
    const calls = t.platform.notifier.of(alert.id)
    expect(calls.map((c) => [c.contactName, c.channel, c.status])).toEqual([
      ['专席值班 王', 'wecom', 'delivered'],
      ['安全负责人 李', 'ding', 'delivered'],
      ['安全负责人 李', 'mail', 'delivered'],
    ])
    const api = await t.admin(`/api/alerts/${alert.id}/notifications`)
    expect(api.body.notifications).toHaveLength(3)
    // 处置记录: the book's events and each call's steps, one timeline in time order
    const record = (await t.admin(`/api/alerts/${alert.id}/record`)).body
    const entries: { at: number; type: string; text: string; time: string }[] = record.entries
    expect(entries.map((e) => e.at)).toEqual([...entries.map((e) => e.at)].sort((a, b) => a - b))
    expect(entries.filter((e) => e.type !== 'call.delivered').map((e) => e.type)).toEqual(['raised', 'call.queued', 'call.queued', 'call.queued', 'acknowledged'])
    expect(entries.filter((e) => e.type === 'call.delivered')).toHaveLength(3)
    expect(entries.find((e) => e.type === 'raised')!.text).toMatch(/^发布橙色预警: 测试 a-piezo 浸润线埋深 4.3 m/)
    expect(entries.filter((e) => e.type === 'call.queued').map((e) => e.text)).toEqual([
      '叫应: 通知 专席值班 王 (wecom, 第 1 步)',
      '叫应: 通知 安全负责人 李 (ding, 第 2 步)',
      '叫应: 通知 安全负责人 李 (mail, 第 2 步)',
    ])
    expect(entries.at(-1)).toMatchObject({ type: 'acknowledged', text: expect.stringMatching(/ 签收$/) })
    // times in the mine's zone (the test mine's: +08:00)
    expect(entries[0]!.time).toMatch(/\+08:00$/)
    // another mine's dispatcher: the warning does not exist for them
    for (const user of ['disp-b', 'disp-a']) {
      const login = await t.platform.app.inject({ method: 'POST', url: '/api/login', payload: { username: user, password: secretOf(user) } })
      const res = await t.platform.app.inject({ method: 'GET', url: `/api/alerts/${alert.id}/record`, headers: { authorization: `Bearer ${login.json().token}` } })
      expect([user, res.statusCode]).toEqual([user, user === 'disp-b' ? 404 : 200])
    }
    await t.stop()
  })

  it('calls the whole chain at once for red, with 飞书’s signature and the webhook’s idempotency key; a restart sends nothing twice', async () => {
    got.length = 0
    const first = await raised(3.8, () => got.length >= 4)
    const { clock, dataDir } = first
    let t = first.t
    // red never waits: every step's people at once, on every channel
    await eventually(() => mails.length === 2)
    expect((await simpleParser(mails[1]!.data)).subject).toMatch(/^【红色预警】/)
    expect(new Set(got.map((g) => g.path.split('/')[1]))).toEqual(new Set(['wecom', 'dingtalk', 'feishu', 'hook']))
    const feishu = got.find((g) => g.path.startsWith('/feishu'))!
    // 飞书 签名校验: base64(HmacSHA256(key = timestamp + "\n" + secret, "")), timestamp in seconds
    expect(feishu.body.sign).toBe(createHmac('sha256', `${feishu.body.timestamp}\n${FEISHU_SECRET}`).update('').digest('base64'))
    expect(Math.abs(Number(feishu.body.timestamp) - clock.now / 1000)).toBeLessThan(5)
    expect(feishu.body).toMatchObject({ msg_type: 'text', content: { text: expect.stringContaining('【红色预警】') } })
    const hook = got.find((g) => g.path === '/hook')!
    expect(hook.headers['idempotency-key']).toBe(hook.body.id)
    expect(hook.body.alert).toMatchObject({ mineId: 'mine-a', level: 'red', subject: { id: 'a-piezo' } })
    const before = got.length
    const mailsBefore = mails.length
    // a restart: the outbox is read back, the same calls are decided again and not sent again
    await t.stop()
    t = await platform(dataDir, clock)
    await turn(t)
    await turn(t)
    expect(got.length).toBe(before)
    expect(mails.length).toBe(mailsBefore)
    await t.stop()
  })

  it('shows on the seat whom the selected warning has called and whether it reached them', async () => {
    const dataDir = freshDir()
    const clock = { now: Date.now() }
    const site = await testSite()
    const t = await startTestPlatform({ dataDir, site: { ...site, notify: notify() }, now: () => clock.now, notifyTickMs: 60_000, webRoot: inject('webRoot') })
    await publishDepth(t, 4.3, clock.now - 1000)
    await eventually(async () => {
      await turn(t)
      return t.platform.alerting.book.unresolved().some((a) => t.platform.notifier.of(a.id).some((c) => c.status === 'delivered'))
    })
    const browser = await launchChromium()
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN' })
    await page.goto(`http://127.0.0.1:${t.platform.ports.http}`)
    await page.fill('input[name=user]', 'disp-a')
    await page.fill('input[name=password]', secretOf('disp-a'))
    await page.click('button[type=submit]')
    const calls = page.locator('[data-test=calls]')
    await calls.waitFor()
    expect(await calls.textContent()).toContain('专席值班 王 (wecom · 已送达')
    // opened, the record lists the warning's events and the call's steps
    await page.click('[data-test=record] summary')
    const delivered = page.locator('[data-test=record] li[data-type="call.delivered"]')
    await delivered.waitFor()
    expect(await delivered.textContent()).toContain('通知已送达 专席值班 王 (wecom)')
    expect(await page.locator('[data-test=record] li').first().textContent()).toContain('发布橙色预警')
    await screenshot(page, 'seat-1366-calls')
    await browser.close()
    await t.stop()
  })

  it('signs from the message: the one-time link signs as the person called and stops the chain; used again or forged, it is refused', async () => {
    got.length = 0
    const { t, clock, dataDir } = await raised(4.3, () => got.some((g) => g.path === '/wecom/send'))
    const text: string = got.find((g) => g.path === '/wecom/send')!.body.text.content
    const link = /https:\/\/minewatch\.example\.cn(\/s\/[A-Za-z0-9_.-]+)$/.exec(text)![1]!
    // the outbox keeps the message with a placeholder: the token is in the message only
    expect(readFileSync(join(dataDir, 'notify', 'outbox.jsonl'), 'utf8')).not.toContain(link.slice(3))
    const base = `http://127.0.0.1:${t.platform.ports.http}`
    const opened = await fetch(`${base}${link}`)
    expect(opened.status).toBe(200)
    const html = await opened.text()
    expect(html).toContain('测试 a-piezo 浸润线埋深 4.3 m')
    expect(html).toContain('data-test="link-sign"')
    const signed = await (await fetch(`${base}${link}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' })).text()
    expect(signed).toContain('data-test="link-signed"')
    const alert = t.platform.alerting.book.all().find((a) => a.subject.id === 'a-piezo')!
    expect(alert).toMatchObject({ state: 'acknowledged', acknowledged: { by: 'contact:duty' } })
    // the seat names the person who signed from the link
    const listed = (await t.admin('/api/alerts?state=all')).body.alerts.find((a: any) => a.id === alert.id)
    expect(JSON.stringify(listed.people)).toContain('专席值班 王 (通知链接)')
    // the chain stopped: 15 minutes later the director is not called
    clock.now += 16 * MIN
    await turn(t)
    expect(got.some((g) => g.path.startsWith('/dingtalk'))).toBe(false)
    // used once: refused again; a forged token: not found
    expect(await (await fetch(`${base}${link}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' })).text()).toContain('此链接已使用过')
    const forged = link.slice(0, -3) + (link.endsWith('AAA') ? 'BBB' : 'AAA')
    expect((await fetch(`${base}${forged}`)).status).toBe(404)
    await t.stop()
  })

  it('calls whom the roster has on duty on the mine’s date: a date of its own replaces the usual shifts', async () => {
    got.length = 0
    const dataDir = freshDir()
    // 02:30 on the mine's clock (Asia/Shanghai, +08:00) yesterday: its date is not yet UTC's, so a date read on the wrong clock is another day
    const today = new Date(Date.now() - 86_400_000 + 8 * 3_600_000).toISOString().slice(0, 10)
    const clock = { now: Date.parse(`${today}T02:30:00+08:00`) }
    const site = await testSite()
    const rostered = notifySchema.parse({
      channels: [{ id: 'hook', type: 'webhook', url: `${httpBase}/hook` }],
      contacts: [
        { id: 'usual', name: '常规值班', via: [{ channel: 'hook', to: 'usual' }] },
        { id: 'holiday', name: '节日值班', via: [{ channel: 'hook', to: 'holiday' }] },
      ],
      rosters: [{ id: 'duty', shifts: [{ from: '00:00', to: '00:00', contacts: ['usual'] }], dates: [{ date: today, shifts: [{ from: '00:00', to: '00:00', contacts: ['holiday'] }] }] }],
      policies: [{ id: 'p', levels: ['orange', 'red'], steps: [{ after: 0, notify: ['duty'] }] }],
    })
    const t = await startTestPlatform({ dataDir, site: { ...site, notify: rostered }, now: () => clock.now, notifyTickMs: 60_000 })
    await publishDepth(t, 4.3, clock.now - 1000)
    await eventually(async () => {
      await turn(t)
      return got.some((g) => g.path === '/hook')
    })
    expect(got.filter((g) => g.path === '/hook').map((g) => g.body.to)).toEqual(['holiday'])
    await t.stop()
  })

  it('keeps to a channel’s own rate from the site file: the call over it waits for the next minute', async () => {
    got.length = 0
    const dataDir = freshDir()
    const clock = { now: lastMorning() }
    const site = await testSite()
    const slow = notifySchema.parse({
      channels: [{ id: 'hook', type: 'webhook', url: `${httpBase}/hook`, perMinute: 1 }],
      contacts: [
        { id: 'c1', name: '甲', via: [{ channel: 'hook', to: '1' }] },
        { id: 'c2', name: '乙', via: [{ channel: 'hook', to: '2' }] },
      ],
      policies: [{ id: 'p', levels: ['orange'], steps: [{ after: 0, notify: ['c1', 'c2'] }] }],
    })
    const t = await startTestPlatform({ dataDir, site: { ...site, notify: slow }, now: () => clock.now, notifyTickMs: 60_000 })
    await publishDepth(t, 4.3, clock.now - 1000)
    await eventually(async () => {
      await turn(t)
      return got.some((g) => g.path === '/hook')
    })
    // each turn awaits its sends: two more turns in the same minute send nothing more
    await turn(t)
    await turn(t)
    expect(got.filter((g) => g.path === '/hook').map((g) => g.body.to)).toEqual(['1'])
    const alertId = t.platform.alerting.book.unresolved().find((a) => a.subject.id === 'a-piezo')!.id
    expect(t.platform.notifier.of(alertId).map((c) => c.status)).toEqual(['delivered', 'pending'])
    // a minute later, the second
    clock.now += 61_000
    await turn(t)
    expect(got.filter((g) => g.path === '/hook').map((g) => g.body.to)).toEqual(['1', '2'])
    await t.stop()
  })

  it('sends an SMS through a gateway described by a template, the text escaped for JSON', async () => {
    got.length = 0
    const dataDir = freshDir()
    const site = await testSite()
    const sms = notifySchema.parse({
      channels: [{ id: 'sms', type: 'sms', url: `${httpBase}/sms/send`, body: '{"phone":"{{to}}","sign":"矿山预警","content":"{{text}}"}' }],
      contacts: [{ id: 'li', name: '安全负责人 李', via: [{ channel: 'sms', to: '13800000002' }] }],
      policies: [{ id: 'red', levels: ['red'], steps: [{ after: 0, notify: ['li'] }] }],
    })
    const t = await startTestPlatform({ dataDir, site: { ...site, notify: sms } })
    await publishDepth(t, 3.8, Date.now() - 1000)
    await eventually(async () => {
      await turn(t)
      return got.some((g) => g.path === '/sms/send')
    })
    const sent = got.find((g) => g.path === '/sms/send')!
    expect(sent.headers['content-type']).toContain('application/json')
    expect(sent.body).toMatchObject({ phone: '13800000002', sign: '矿山预警', content: expect.stringMatching(/^【红色预警】测试矿山 mine-a: 测试 a-piezo 浸润线埋深 3.8 m/) })
    await t.stop()
  })

  it('drops nothing across a restart: a call its channel refused before the restart is delivered after it, once', async () => {
    got.length = 0
    const dataDir = freshDir()
    const clock = { now: lastMorning() }
    wecomDown = true
    let t = await platform(dataDir, clock)
    await publishDepth(t, 4.3, clock.now - 1000)
    await eventually(async () => {
      await turn(t)
      return t.platform.alerting.book.unresolved().some((a) => t.platform.notifier.of(a.id).some((c) => c.attempts > 0))
    })
    const alertId = t.platform.alerting.book.unresolved().find((a) => a.subject.id === 'a-piezo')!.id
    expect(t.platform.notifier.of(alertId)).toMatchObject([{ status: 'pending', attempts: 1, lastError: expect.stringContaining('HTTP 502') }])
    await t.stop()
    // the robot is back; after the restart and the back-off, the call goes out, once
    wecomDown = false
    t = await platform(dataDir, clock)
    clock.now += 11_000
    await turn(t)
    await turn(t)
    expect(got.filter((g) => g.path === '/wecom/send')).toHaveLength(1)
    expect(t.platform.notifier.of(alertId)).toMatchObject([{ status: 'delivered', attempts: 2 }])
    // the failed attempt before the restart is in the warning's record after it, then the delivery
    const record = (await t.admin(`/api/alerts/${alertId}/record`)).body.entries as { type: string; text: string }[]
    expect(record.filter((e) => e.type.startsWith('call.')).map((e) => e.type)).toEqual(['call.queued', 'call.attempt', 'call.delivered'])
    expect(record.find((e) => e.type === 'call.attempt')!.text).toMatch(/^通知 专席值班 王 第 1 次发送失败, 稍后重试: .*HTTP 502/)
    await t.stop()
  })
})
