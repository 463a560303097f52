import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../helpers/eventually.js'
import { ADMIN_TOKEN, startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { secretOf } from '../helpers/site.js'

/**
 * People and what they may see and do, through the real HTTP app (fastify inject): a dispatcher
 * of mine A cannot read or sign anything of mine B; a regulator watches but does not sign.
 * The warnings come from the platform itself: every device falls silent on the simulated clock.
 */
let t: TestPlatform
/** Reads the first sheet of an .xlsx on stdin into rows of cell texts (shared strings resolved). */
const READ_XLSX = `
import sys, io, zipfile, json, xml.etree.ElementTree as ET
z = zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read()))
ns = {'m': 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'}
shared = [''.join(t.text or '' for t in si.iter('{%s}t' % ns['m'])) for si in ET.fromstring(z.read('xl/sharedStrings.xml')).findall('m:si', ns)] if 'xl/sharedStrings.xml' in z.namelist() else []
rows = []
for r in ET.fromstring(z.read('xl/worksheets/sheet1.xml')).iter('{%s}row' % ns['m']):
    row = []
    for c in r.findall('m:c', ns):
        v = c.find('m:v', ns)
        inline = c.find('m:is', ns)
        text = ''.join(t.text or '' for t in inline.iter('{%s}t' % ns['m'])) if inline is not None else (v.text if v is not None else '')
        row.append(shared[int(text)] if c.get('t') == 's' else text)
    rows.append(row)
print(json.dumps(rows, ensure_ascii=False))
`
let clock = Date.parse('2026-11-23T09:00:00+08:00')
beforeAll(async () => {
  t = await startTestPlatform({ now: () => clock, alertTickMs: 10 })
  clock += 4 * 60_000 // test devices report every minute: 3 minutes of silence is 断线 for all
  await eventually(() => t.platform.alerting.book.unresolved().length >= 10)
})
afterAll(async () => {
  await t?.stop()
})

async function login(user: string, password = secretOf(user), ip = '10.0.0.1') {
  return t.platform.app.inject({ method: 'POST', url: '/api/login', payload: { username: user, password }, remoteAddress: ip })
}
async function as(user: string) {
  const res = await login(user)
  expect(res.statusCode).toBe(200)
  return res.json().token as string
}
const get = (token: string, url: string) => t.platform.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } })
const post = (token: string, url: string, payload: object = {}) => t.platform.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}` }, payload })
const alertOf = (mine: string) => t.platform.alerting.book.unresolved().find((a) => a.mineId === mine)!

describe('signing in', () => {
  it('gives a session as an httpOnly cookie and a bearer token, and says who you are', async () => {
    const res = await login('disp-a')
    expect(res.statusCode).toBe(200)
    expect(String(res.headers['set-cookie'])).toMatch(/^mw_session=[\w-]+; HttpOnly; SameSite=Strict; Path=\/; Max-Age=43200$/)
    const cookie = String(res.headers['set-cookie']).split(';')[0]!
    const me = await t.platform.app.inject({ method: 'GET', url: '/api/me', headers: { cookie } })
    expect(me.json()).toEqual({ id: 'disp-a', name: '测试 disp-a', role: 'dispatcher', mines: ['mine-a'] })
    expect(res.body).not.toContain(secretOf('disp-a'))
  })

  it('refuses a wrong password and an unknown user alike, then limits the tries', async () => {
    const wrong = await login('reg-all', 'nope', '10.9.9.9')
    expect(wrong.statusCode).toBe(401)
    expect(wrong.json().error.code).toBe('MW_UNAUTHORIZED')
    expect((await login('ghost', 'nope', '10.9.9.9')).json().error).toEqual(wrong.json().error)
    for (let i = 0; i < 4; i++) await login('reg-all', 'nope', '10.9.9.9')
    const limited = await login('reg-all', secretOf('reg-all'), '10.9.9.9')
    expect(limited.statusCode).toBe(429)
    expect(limited.json().error.code).toBe('MW_TOO_MANY_ATTEMPTS')
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
    // from another address the right password still works
    expect((await login('reg-all', secretOf('reg-all'), '10.8.8.8')).statusCode).toBe(200)
  })

  it('counts guesses still being checked: 60 at once for one user get 5 password checks', async () => {
    const answers = await Promise.all(Array.from({ length: 60 }, () => login('reg-a', 'guess', '10.7.7.7')))
    const codes = answers.map((r) => r.statusCode)
    expect([codes.filter((c) => c === 401).length, codes.filter((c) => c === 429).length]).toEqual([5, 55])
  })

  it('limits one address however many user names it tries, and not the other addresses', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `nobody-${i}`)
    const codes: number[] = []
    for (const name of names) codes.push((await login(name, 'guess', '10.6.6.6')).statusCode)
    // 20 failures from the address, then it waits, whatever name comes next
    expect([codes.filter((c) => c === 401).length, codes.slice(20).every((c) => c === 429)]).toEqual([20, true])
    expect((await login('disp-b', secretOf('disp-b'), '10.6.6.6')).statusCode).toBe(429)
    expect((await login('disp-b', secretOf('disp-b'), '10.5.5.5')).statusCode).toBe(200)
  })

  it('refuses requests without a session', async () => {
    const res = await t.platform.app.inject({ method: 'GET', url: '/api/alerts' })
    expect(res.statusCode).toBe(401)
    expect(res.json().error.code).toBe('MW_UNAUTHORIZED')
  })
})

describe('a dispatcher of mine A', () => {
  it('sees only mine A’s warnings', async () => {
    const token = await as('disp-a')
    const body = (await get(token, '/api/alerts')).json()
    expect(body.count).toBeGreaterThan(0)
    expect(new Set(body.alerts.map((a: { mineId: string }) => a.mineId))).toEqual(new Set(['mine-a']))
    expect((await get(token, '/api/alerts?mine=mine-b')).json().count).toBe(0)
  })

  it('cannot sign, assign or resolve a warning of mine B: for them it does not exist', async () => {
    const token = await as('disp-a')
    const b = alertOf('mine-b')
    for (const [path, body] of [
      ['acknowledge', {}],
      ['assign', { to: 'x' }],
      ['resolve', { note: 'x' }],
    ] as const) {
      const res = await post(token, `/api/alerts/${b.id}/${path}`, body)
      expect(res.statusCode).toBe(404)
      expect(res.json().error.code).toBe('MW_ALERT_NOT_FOUND')
    }
    expect(t.platform.alerting.book.get(b.id)!.state).toBe('open')
  })

  it('reads the trend of mine A’s warnings only', async () => {
    const token = await as('disp-a')
    const res = await get(token, `/api/alerts/${alertOf('mine-a').id}/trend`)
    expect(res.statusCode).toBe(200)
    // a 断线 warning watches no series: no chart, said plainly
    expect(res.json()).toMatchObject({ trend: null, points: [], alert: { mineId: 'mine-a' } })
    const other = await get(token, `/api/alerts/${alertOf('mine-b').id}/trend`)
    expect(other.statusCode).toBe(404)
    expect(other.json().error.code).toBe('MW_ALERT_NOT_FOUND')
  })

  it('signs, assigns and resolves mine A’s warning, each step by name, with clear refusals', async () => {
    const token = await as('disp-a')
    const a = alertOf('mine-a')
    const early = await post(token, `/api/alerts/${a.id}/resolve`, { note: '已处置' })
    expect([early.statusCode, early.json().error.code]).toEqual([409, 'MW_ALERT_NOT_ACKNOWLEDGED'])
    const ack = await post(token, `/api/alerts/${a.id}/acknowledge`)
    expect(ack.statusCode).toBe(200)
    expect(ack.json()).toMatchObject({ state: 'acknowledged', acknowledged: { by: 'disp-a' }, deadlineTime: expect.stringMatching(/\+08:00$/) })
    const again = await post(token, `/api/alerts/${a.id}/acknowledge`)
    expect([again.statusCode, again.json().error.code]).toEqual([409, 'MW_ALERT_ALREADY_ACKNOWLEDGED'])
    expect((await post(token, `/api/alerts/${a.id}/assign`, { to: '安全总监 李' })).json()).toMatchObject({ state: 'assigned', assigned: { to: '安全总监 李', by: 'disp-a' } })
    const noNote = await post(token, `/api/alerts/${a.id}/resolve`, { note: ' ' })
    expect([noNote.statusCode, noNote.json().error.code]).toEqual([400, 'MW_NOTE_REQUIRED'])
    const bad = await post(token, `/api/alerts/${a.id}/resolve`, { remark: 'x' })
    expect(bad.json().error.code).toBe('MW_BAD_QUERY')
    const done = await post(await as('dir-a'), `/api/alerts/${a.id}/resolve`, { note: '已恢复供电, 设备重新上线' })
    expect(done.json()).toMatchObject({ state: 'resolved', resolved: { by: 'dir-a', note: '已恢复供电, 设备重新上线' } })
  })
})

describe('regulators', () => {
  it('see the mines of their region (or all), and do not sign', async () => {
    const regA = await as('reg-a')
    const seen = (await get(regA, '/api/alerts?state=all')).json()
    expect(new Set(seen.alerts.map((a: { mineId: string }) => a.mineId))).toEqual(new Set(['mine-a']))
    const all = (await get(await as('reg-all'), '/api/alerts')).json()
    expect(new Set(all.alerts.map((a: { mineId: string }) => a.mineId))).toEqual(new Set(['mine-a', 'mine-b']))
    const res = await post(regA, `/api/alerts/${seen.alerts.find((a: { state: string }) => a.state === 'open').id}/acknowledge`)
    expect([res.statusCode, res.json().error.code]).toEqual([403, 'MW_FORBIDDEN'])
  })
})

describe('the record of resolved warnings', () => {
  it('pages resolved warnings from the record, its own mine’s only', async () => {
    // mine B's people resolve one of theirs too
    const b = alertOf('mine-b')
    const dispB = await as('disp-b')
    expect((await post(dispB, `/api/alerts/${b.id}/acknowledge`)).statusCode).toBe(200)
    expect((await post(dispB, `/api/alerts/${b.id}/resolve`, { note: '已复测' })).statusCode).toBe(200)
    const token = await as('disp-a')
    // the record is written from the journal a moment after the answer
    await eventually(async () => (await get(token, '/api/alerts/resolved')).json().count >= 1)
    const page = (await get(token, '/api/alerts/resolved?limit=1')).json()
    expect(page.alerts).toHaveLength(1)
    expect(page.alerts[0]).toMatchObject({ mineId: 'mine-a', state: 'resolved', resolved: { by: 'dir-a' }, updatedTime: expect.stringMatching(/\+08:00$/) })
    // a full page says where the next starts; the next holds nothing of mine B
    expect(page.next).toBe(page.alerts[0].updatedAt)
    expect((await get(token, `/api/alerts/resolved?before=${page.next}`)).json().alerts.filter((x: { mineId: string }) => x.mineId !== 'mine-a')).toEqual([])
    // asking for mine B gives nothing: it is not theirs to see
    expect((await get(token, '/api/alerts/resolved?mine=mine-b')).json()).toEqual({ count: 0, alerts: [], next: null })
    // a regulator of all mines sees both
    await eventually(async () => (await get(await as('reg-all'), '/api/alerts/resolved')).json().count >= 2)
    const bad = await get(token, '/api/alerts/resolved?limit=1000')
    expect(bad.json().error.code).toBe('MW_BAD_QUERY')
  })
})

describe('mines, devices and the daily report', () => {
  it('lists the mines a user may see, with their worst open warning and devices', async () => {
    const mines = (await get(await as('disp-a'), '/api/mines')).json()
    expect(mines).toHaveLength(1)
    expect(mines[0]).toMatchObject({ id: 'mine-a', status: 'producing', regionName: '甲市', alerts: { worst: 'yellow', offline: expect.any(Number) }, devices: { known: 9 } })
    expect((await get(await as('reg-all'), '/api/mines')).json().map((m: { id: string }) => m.id)).toEqual(['mine-a', 'mine-b'])
  })

  it('shows a mine’s devices to its people only', async () => {
    expect((await get(await as('disp-a'), '/api/mines/mine-b/devices')).statusCode).toBe(404)
    const devices = (await get(await as('disp-b'), '/api/mines/mine-b/devices')).json()
    expect(devices).toMatchObject([{ id: 'b-prism', kind: 'prism', kindLabel: expect.any(String), state: 'offline', connected: false, last: null }])
  })

  it('shows a device that has just connected as waiting for its first reading, not late; late after two intervals of nothing; online once it reports', async () => {
    const token = await as('disp-b')
    const stateOf = async () => (await get(token, '/api/mines/mine-b/devices')).json()[0].state as string
    const prism = await t.connect('b-prism')
    try {
      await eventually(async () => (await stateOf()) === 'waiting')
      clock += 2 * 60_000 + 1 // two reporting intervals of one minute, and nothing
      expect(await stateOf()).toBe('stale')
      await prism.publishAsync('mines/mine-b/devices/b-prism/telemetry', JSON.stringify({ ts: clock - 1000, values: { dN: 0.1, dE: 0.1, dH: 0 } }), { qos: 1 })
      await eventually(async () => (await stateOf()) === 'online')
    } finally {
      await prism.endAsync()
    }
  })

  it('reports the day: raised by level, signed, handled the same day, overdue, open; as JSON and CSV', async () => {
    const token = await as('disp-a')
    const date = '2026-11-23'
    const report = (await get(token, `/api/reports/daily?mine=mine-a&date=${date}`)).json()
    expect(report).toMatchObject({ mineId: 'mine-a', date, timeZone: 'Asia/Shanghai', raised: expect.any(Number), byLevel: { yellow: expect.any(Number) } })
    expect(report.raised).toBe(report.byLevel.blue + report.byLevel.yellow + report.byLevel.orange + report.byLevel.red)
    const csv = await get(token, `/api/reports/daily?mine=mine-a&date=${date}&format=csv`)
    expect(csv.headers['content-type']).toMatch(/^text\/csv/)
    const [head, row] = csv.body.trim().split('\n')
    expect(head).toBe('mine,date,time_zone,raised,raised_blue,raised_yellow,raised_orange,raised_red,acknowledged,resolved_same_day,overdue,open')
    expect(row!.split(',').slice(0, 4)).toEqual(['mine-a', date, 'Asia/Shanghai', String(report.raised)])
    expect((await get(token, `/api/reports/daily?mine=mine-b&date=${date}`)).statusCode).toBe(404)
    expect((await get(token, `/api/reports/daily?mine=mine-a&date=23.11.2026`)).json().error.code).toBe('MW_BAD_QUERY')
  })
})

describe('the API document', () => {
  it('describes the routes with their zod schemas at /docs/json, and serves its UI at /docs without the internet', async () => {
    const doc = (await t.platform.app.inject({ method: 'GET', url: '/docs/json' })).json()
    expect(doc.openapi).toMatch(/^3\./)
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/login', '/api/alerts', '/api/alerts/{id}/resolve', '/api/mines', '/api/reports/daily', '/api/readings']))
    const alerts = doc.paths['/api/alerts'].get
    expect(alerts.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['mine', 'state', 'level', 'overdue']))
    expect(doc.paths['/api/alerts/{id}/resolve'].post.requestBody.content['application/json'].schema.required).toEqual(['note'])
    const listed = doc.paths['/api/alerts'].get.responses['200'].content['application/json'].schema
    expect(listed.properties.alerts.items.properties.level.enum).toEqual(['blue', 'yellow', 'orange', 'red'])
    expect(doc.paths['/api/me'].get.responses['401']).toBeDefined()
    const ui = await t.platform.app.inject({ method: 'GET', url: '/docs' })
    expect(ui.statusCode).toBe(200)
    expect(ui.body).toContain('swagger-ui')
    expect(ui.body).not.toMatch(/https?:\/\/(unpkg|cdn)/)
  })

  it('answers a body that does not match its schema with MW_BAD_QUERY and where', async () => {
    const res = await t.platform.app.inject({ method: 'POST', url: '/api/login', payload: { username: 'disp-a' } })
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toMatchObject({ code: 'MW_BAD_QUERY', message: expect.stringMatching(/^body/) })
  })
})

describe('readings and the quarantine, per user', () => {
  it('gives a mine’s readings to its people only', async () => {
    const client = await t.connect('a-rain')
    await client.publishAsync('mines/mine-a/devices/a-rain/telemetry', JSON.stringify({ ts: clock - 1000, values: { rainfall: 1.5 } }), { qos: 1 })
    await client.publishAsync('mines/mine-a/devices/a-rain/telemetry', '{"ts": NaN}', { qos: 1 })
    await t.platform.writer.flush()
    const mine = await get(await as('disp-a'), `/api/readings?device=a-rain&metric=rainfall&from=${clock - 60_000}&to=${clock + 1}`)
    expect(mine.json().points).toMatchObject([{ ts: clock - 1000, value: 1.5 }])
    const other = await get(await as('disp-b'), `/api/readings?device=a-rain&metric=rainfall`)
    expect([other.statusCode, other.json().error.code]).toEqual([404, 'MW_UNKNOWN_DEVICE'])
    expect((await t.platform.app.inject({ method: 'GET', url: '/api/readings?device=a-rain&metric=rainfall' })).statusCode).toBe(401)
  })

  it('exports a device’s history as CSV and as an Excel workbook another reader opens, times in the mine’s zone and units in the header', async () => {
    const token = await as('disp-a')
    const range = `from=${clock - 60_000}&to=${clock + 1}`
    const csv = await get(token, `/api/readings/export?device=a-rain&metric=rainfall&${range}`)
    expect(csv.headers['content-type']).toMatch(/^text\/csv; charset=utf-8/)
    expect(csv.headers['content-disposition']).toMatch(/attachment; filename="minewatch-a-rain-rainfall-2026-11-23_2026-11-23\.csv"/)
    const [head, row] = csv.body.split('\r\n')
    // the byte-order mark makes Excel read the UTF-8 as UTF-8
    expect(head).toBe('\uFEFF时间 (Asia/Shanghai),降雨量(自上次读数) (mm)')
    expect(row).toMatch(/^2026-11-23T09:\d\d:\d\d\.\d{3}\+08:00,1\.5$/)
    // the same as a workbook: read with Python's zipfile and XML parser, not with the library that wrote it
    const xlsx = await t.platform.app.inject({ method: 'GET', url: `/api/readings/export?device=a-rain&metric=rainfall&${range}&format=xlsx`, headers: { authorization: `Bearer ${token}` } })
    expect(xlsx.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
    const cells = execFileSync('python3', ['-c', READ_XLSX], { input: xlsx.rawPayload }).toString()
    expect(JSON.parse(cells)).toEqual([['测试 a-rain 降雨量(自上次读数)'], ['时间 (Asia/Shanghai)', '降雨量(自上次读数) (mm)'], [expect.stringMatching(/^2026-11-23T09:.*\+08:00$/), '1.5']])
    // a mine the user may not see: no such device
    expect((await get(await as('disp-b'), `/api/readings/export?device=a-rain&metric=rainfall&format=xlsx`)).json().error.code).toBe('MW_UNKNOWN_DEVICE')
  })

  it('shows the quarantine to admins only', async () => {
    expect((await get(await as('disp-a'), '/api/quarantine')).json().error.code).toBe('MW_FORBIDDEN')
    const res = await t.platform.app.inject({ method: 'GET', url: '/api/quarantine?limit=5', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ count: expect.any(Number), entries: [{ deviceId: 'a-rain', problems: [{ code: 'NOT_FINITE' }] }] })
  })
})
