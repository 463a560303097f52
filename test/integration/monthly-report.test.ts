import ExcelJS from 'exceljs'
import { describe, expect, inject, it } from 'vitest'
import { AlertBook } from '../../alerting/book/book.js'
import type { AlertEvent } from '../../alerting/book/alert.js'
import type { AlertEventStore } from '../../alerting/store.js'
import { monthRange, nearestRank } from '../../dashboard/monthly.js'
import { startTestPlatform } from '../helpers/platform.js'
import { launchChromium, screenshot, watchErrors } from '../helpers/browser.js'
import { secretOf, testSite } from '../helpers/site.js'
import { parseSite } from '../../infra/config/site-file.js'
import { readPdf } from '../helpers/pdf.js'
import { reportedOf } from '../../ingest/uplink/reported.js'

const MIN = 60_000

/** A warning of mine-a raised, signed after `signAfter` minutes and resolved after `resolveAfter`, as the book writes it. */
function warning(id: string, ruleKind: string, level: 'yellow' | 'orange' | 'red', raisedAt: number, signAfter: number, resolveAfter: number): AlertEvent[] {
  const book = new AlertBook(() => id)
  const ctx = { mineId: 'mine-a', subject: { type: 'device' as const, id: 'a-piezo', name: 'a-piezo' }, ruleKind, class: 'warning' as const, timeZone: 'Asia/Shanghai', message: id }
  const events = book.onLevel(ctx, { type: 'level', rule: 'r', from: null, to: level, value: 1, unit: 'm', ts: raisedAt }, raisedAt)
  const ack = book.acknowledge(id, 'disp-a', raisedAt + signAfter * MIN)
  const done = book.resolve(id, 'disp-a', '已处置', raisedAt + resolveAfter * MIN)
  if (!ack.ok || !done.ok) throw new Error('the book refused')
  return [...events, ack.event, done.event]
}

/**
 * 月报 (issue 15 item 5) against the record: a month of warnings written as the alert writer
 * writes them, readings published over MQTT, and the report's figures compared with the ones
 * worked out here from the same inputs; CSV and .xlsx carry the same figures.
 */
describe('the monthly report', () => {
  it('counts the month’s warnings by level and rule, the time to sign, 当天处置率, 数据到报率, 联网在线率 and the warnings the mine platform reported, as JSON, CSV, .xlsx, a PDF with its Chinese text and on the 月报 screen', async () => {
    // mine-a reports to this (a regulator's) platform through its mine platform's link too, never connected this month
    const site = await testSite()
    const parsed = parseSite({ ...site, gateways: [{ id: 'up-a', name: '甲矿平台联网', secretHash: site.mines[0]!.devices[0]!.secretHash, mines: ['mine-a'] }] })
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'))
    const t = await startTestPlatform({ webRoot: inject('webRoot'), site: parsed.site })
    const now = Date.now()
    const month = new Date(now + 8 * 3_600_000).toISOString().slice(0, 7)
    const { from } = monthRange(month, 'Asia/Shanghai')
    const events: AlertEvent[] = []
    // ten warnings in the month's first hours, signed after 1…10 minutes; the first six resolved within the hour (same day), the rest 30 h later
    for (let i = 1; i <= 10; i++) events.push(...warning(`w${i}`, i <= 7 ? 'threshold' : 'rate', i <= 3 ? 'red' : 'orange', from + i * MIN, i, i <= 6 ? 60 : 30 * 60))
    // one of the month before: not counted
    events.push(...warning('before', 'threshold', 'red', from - 60 * MIN, 5, 50))
    await (t.platform.store as unknown as AlertEventStore).appendAlertEvents(events)
    // what mine-a's own platform reported through its link: a red warning resolved the same day, and an orange one still open
    await t.platform.reported.append(
      'up-a',
      [...warning('mine-r1', 'threshold', 'red', from + 90 * MIN, 3, 20), ...warning('mine-r2', 'rate', 'orange', from + 95 * MIN, 3, 20).slice(0, 2)].map(reportedOf),
    )
    // the rain gauge (every 60 s) reports 30 times this month
    const rain = await t.connect('a-rain')
    for (let i = 0; i < 30; i++)
      await rain.publishAsync('mines/mine-a/devices/a-rain/telemetry', JSON.stringify({ ts: Math.max(from, now - 3_600_000) + i * 1000, values: { rainfall: 0 } }), { qos: 1 })
    await rain.endAsync()
    await t.platform.writer.flush()

    const r = (await t.admin(`/api/reports/monthly?mine=mine-a&month=${month}`)).body
    expect(r).toMatchObject({ month, raised: 10, byLevel: { red: 3, orange: 7, yellow: 0, blue: 0 }, resolvedSameDay: 6, handledRate: 0.6, recordComplete: true })
    expect(r.byRule).toEqual([
      { ruleKind: 'threshold', name: '阈值', count: 7 },
      { ruleKind: 'rate', name: '位移速率', count: 3 },
    ])
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    expect(r.signMinutes).toEqual({ signed: 10, median: nearestRank(delays, 0.5), p95: nearestRank(delays, 0.95) })
    expect(r.signMinutes).toMatchObject({ median: 5, p95: 10 })
    // 联网在线率: the link was never connected
    expect(r.links).toEqual([{ id: 'up-a', name: '甲矿平台联网', online: 0 }])
    expect(r.reported).toEqual({ raised: 2, byLevel: { red: 1, orange: 1, yellow: 0, blue: 0 }, resolved: 1, resolvedSameDay: 1, overdue: 0 })
    const rainRow = r.devices.find((d: any) => d.id === 'a-rain')
    expect(rainRow.received).toBe(30)
    const expected = Math.floor((now - from) / 60_000)
    expect(Math.abs(rainRow.expected - expected)).toBeLessThanOrEqual(1)
    expect(rainRow.rate).toBeCloseTo(30 / rainRow.expected, 6)

    const csv = (await t.admin(`/api/reports/monthly?mine=mine-a&month=${month}&format=csv`)).text
    expect(csv.startsWith('\uFEFF项目,数值')).toBe(true)
    expect(csv).toContain('签收用时中位数 (分钟),5')
    expect(csv).toContain('当天处置率,60.0%')
    expect(csv).toContain('矿山平台上报预警 (条),2\r\n上报红色预警 (条),1\r\n上报橙色预警 (条),1')
    const xlsx = await t.platform.app.inject({ method: 'GET', url: `/api/reports/monthly?mine=mine-a&month=${month}&format=xlsx`, headers: { authorization: 'Bearer test-admin-token-0123456789' } })
    const book = new ExcelJS.Workbook()
    await book.xlsx.load(xlsx.rawPayload as never)
    const rows = (book.getWorksheet('月报')!.getSheetValues() as unknown[][]).filter(Boolean).map((row) => [row[1], row[2]])
    expect(rows).toContainEqual(['签收用时 95% 分位 (分钟)', 10])
    expect(rows).toContainEqual(['红色预警 (条)', 3])
    expect(rows).toContainEqual(['规则 阈值 (threshold) (条)', 7])
    // the PDF, read back by Poppler: the same figures, in Chinese text, with the CJK font embedded
    const pdf = await t.platform.app.inject({ method: 'GET', url: `/api/reports/monthly?mine=mine-a&month=${month}&format=pdf`, headers: { authorization: 'Bearer test-admin-token-0123456789' } })
    expect([pdf.statusCode, pdf.headers['content-type']]).toEqual([200, 'application/pdf'])
    expect(pdf.headers['content-disposition']).toBe(`attachment; filename="minewatch-mine-a-${month}.pdf"`)
    const read = readPdf(pdf.rawPayload)
    // compared without white space: pdftotext lays the page out in columns of spaces, and may leave out the space between 汉字 and a figure
    const flat = read.text.replace(/\s+/g, '')
    for (const line of [
      `测试矿山mine-a${month}安全风险监测预警月报`,
      `统计区间${month}-01至${month}-${String(new Date(Date.UTC(Number(month.slice(0, 4)), Number(month.slice(5, 7)), 0)).getUTCDate())}(截至`,
      '(Asia/Shanghai)·生成于',
      '红色预警3条',
      '橙色预警7条',
      '阈值(threshold)7',
      '位移速率(rate)3',
      '签收用时中位数5.0分钟',
      '签收用时95%分位10.0分钟',
      '当天处置率60.0%',
      `测试a-rain${rainRow.expected}30${(100 * rainRow.rate).toFixed(1)}%`,
      '第1页共2页',
      '第2页共2页',
    ])
      expect(flat).toContain(line)
    // every device's row is there, the table continued on the second page
    expect(read.pages).toBe(2)
    expect(flat).toContain('设备(续)')
    expect(flat).toContain('六、联网在线率矿山平台联网在线率甲矿平台联网0.0%')
    expect(flat).toContain('七、矿山平台上报预警项目数值上报预警(条)2红色预警(条)1橙色预警(条)1')
    expect(flat.match(/测试[ab]-[a-z]+\d+\d+\d+\.\d%/g)).toHaveLength(9)
    // a CJK font, embedded as a subset with its Unicode map (pdffonts: emb, sub, uni all yes)
    expect(read.fonts).toMatch(/\+WenQuanYiMicroHei\s+CID TrueType\s+Identity-H\s+yes yes yes/)
    // the region's mines together (region-a has mine-a alone): the same figures, under the region's name
    const region = (await t.admin(`/api/reports/monthly?region=region-a&month=${month}`)).body
    expect(region).toMatchObject({ mineId: 'region-a', mineName: '甲市', raised: 10, resolvedSameDay: 6, signMinutes: { median: 5, p95: 10 } })
    const login = await t.platform.app.inject({ method: 'POST', url: '/api/login', payload: { username: 'disp-a', password: 'disp-a-secret' } })
    const other = await t.platform.app.inject({ method: 'GET', url: `/api/reports/monthly?region=region-b&month=${month}`, headers: { authorization: `Bearer ${login.json().token}` } })
    expect(other.statusCode).toBe(404)
    // a month written wrong is refused with what to write
    expect((await t.admin('/api/reports/monthly?mine=mine-a&month=2026-13')).body.error.code).toBe('MW_BAD_QUERY')

    // the 月报 screen of a regulator of region-a, at both sizes: the region's figures, nothing cut off sideways
    const browser = await launchChromium()
    for (const size of [
      { width: 1920, height: 1080 },
      { width: 1366, height: 768 },
    ]) {
      const page = await browser.newPage({ viewport: size, locale: 'zh-CN', timezoneId: 'Europe/London' })
      const errors = watchErrors(page)
      await page.goto(`http://127.0.0.1:${t.platform.ports.http}`)
      await page.fill('input[name=user]', 'reg-a')
      await page.fill('input[name=password]', secretOf('reg-a'))
      await page.click('button[type=submit]')
      await page.waitForSelector('.shell')
      await page.click('[data-test=nav-report]')
      await page.waitForSelector('[data-test=report][data-raised="10"]')
      expect(await page.inputValue('[data-test=report-scope]')).toBe('region:region-a')
      expect(await page.textContent('[data-test=report-handled]')).toBe('60.0%')
      expect(await page.textContent('[data-test=report-median]')).toBe('5.0 分钟')
      // the rules by the names the platform gives them
      expect(await page.textContent('[data-test=report]')).toMatch(/阈值 \(threshold\)\s*7 条/)
      expect(await page.textContent('[data-test=report-devices] [data-device=a-rain]')).toContain('30 /')
      expect(await page.textContent('[data-test=report-links] [data-link=up-a]')).toMatch(/甲矿平台联网\s*0\.0%/)
      expect(await page.textContent('[data-test=report-reported] [data-field=raised]')).toBe('2 条')
      expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true)
      // the PDF link, fetched as the signed-in regulator: the region's PDF
      const pdfHref = (await page.getAttribute('[data-test=report-pdf]', 'href'))!
      expect(pdfHref).toBe(`/api/reports/monthly?region=region-a&month=${month}&format=pdf`)
      expect(await page.evaluate(async (href) => (await fetch(href)).headers.get('content-type'), pdfHref)).toBe('application/pdf')
      await screenshot(page, `report-${size.width}`)
      expect(errors).toEqual([])
      await page.close()
    }
    await browser.close()
    await t.stop()
  })

  it('refuses the PDF with what to install when no CJK font is there, and still answers the other formats', async () => {
    const t = await startTestPlatform({ pdfFont: '/nonexistent/font.ttf' })
    const month = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 7)
    const pdf = await t.admin(`/api/reports/monthly?mine=mine-a&month=${month}&format=pdf`)
    expect(pdf.status).toBe(503)
    expect(pdf.body.error).toMatchObject({ code: 'MW_PDF_NO_FONT', message: expect.stringContaining('apt-get install fonts-wqy-microhei') })
    expect((await t.admin(`/api/reports/monthly?mine=mine-a&month=${month}`)).status).toBe(200)
    await t.stop()
  })
})
