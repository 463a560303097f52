import ExcelJS from 'exceljs'
import { describe, expect, inject, it } from 'vitest'
import { AlertBook } from '../../alerting/book/book.js'
import type { AlertEvent } from '../../alerting/book/alert.js'
import type { AlertEventStore } from '../../alerting/store.js'
import { monthRange, nearestRank } from '../../dashboard/monthly.js'
import { startTestPlatform } from '../helpers/platform.js'
import { launchChromium, screenshot, watchErrors } from '../helpers/browser.js'
import { secretOf } from '../helpers/site.js'

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
  it('counts the month’s warnings by level and rule, the time to sign, 当天处置率 and 数据到报率, as JSON, CSV, .xlsx and on the 月报 screen', async () => {
    const t = await startTestPlatform({ webRoot: inject('webRoot') })
    const now = Date.now()
    const month = new Date(now + 8 * 3_600_000).toISOString().slice(0, 7)
    const { from } = monthRange(month, 'Asia/Shanghai')
    const events: AlertEvent[] = []
    // ten warnings in the month's first hours, signed after 1…10 minutes; the first six resolved within the hour (same day), the rest 30 h later
    for (let i = 1; i <= 10; i++) events.push(...warning(`w${i}`, i <= 7 ? 'threshold' : 'rate', i <= 3 ? 'red' : 'orange', from + i * MIN, i, i <= 6 ? 60 : 30 * 60))
    // one of the month before: not counted
    events.push(...warning('before', 'threshold', 'red', from - 60 * MIN, 5, 50))
    await (t.platform.store as unknown as AlertEventStore).appendAlertEvents(events)
    // the rain gauge (every 60 s) reports 30 times this month
    const rain = await t.connect('a-rain')
    for (let i = 0; i < 30; i++)
      await rain.publishAsync('mines/mine-a/devices/a-rain/telemetry', JSON.stringify({ ts: Math.max(from, now - 3_600_000) + i * 1000, values: { rainfall: 0 } }), { qos: 1 })
    await rain.endAsync()
    await t.platform.writer.flush()

    const r = (await t.admin(`/api/reports/monthly?mine=mine-a&month=${month}`)).body
    expect(r).toMatchObject({ month, raised: 10, byLevel: { red: 3, orange: 7, yellow: 0, blue: 0 }, resolvedSameDay: 6, handledRate: 0.6, recordComplete: true })
    expect(r.byRule).toEqual([
      { ruleKind: 'threshold', count: 7 },
      { ruleKind: 'rate', count: 3 },
    ])
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    expect(r.signMinutes).toEqual({ signed: 10, median: nearestRank(delays, 0.5), p95: nearestRank(delays, 0.95) })
    expect(r.signMinutes).toMatchObject({ median: 5, p95: 10 })
    const rainRow = r.devices.find((d: any) => d.id === 'a-rain')
    expect(rainRow.received).toBe(30)
    const expected = Math.floor((now - from) / 60_000)
    expect(Math.abs(rainRow.expected - expected)).toBeLessThanOrEqual(1)
    expect(rainRow.rate).toBeCloseTo(30 / rainRow.expected, 6)

    const csv = (await t.admin(`/api/reports/monthly?mine=mine-a&month=${month}&format=csv`)).text
    expect(csv.startsWith('\uFEFF项目,数值')).toBe(true)
    expect(csv).toContain('签收用时中位数 (分钟),5')
    expect(csv).toContain('当天处置率,60.0%')
    const xlsx = await t.platform.app.inject({ method: 'GET', url: `/api/reports/monthly?mine=mine-a&month=${month}&format=xlsx`, headers: { authorization: 'Bearer test-admin-token-0123456789' } })
    const book = new ExcelJS.Workbook()
    await book.xlsx.load(xlsx.rawPayload as never)
    const rows = (book.getWorksheet('月报')!.getSheetValues() as unknown[][]).filter(Boolean).map((row) => [row[1], row[2]])
    expect(rows).toContainEqual(['签收用时 95% 分位 (分钟)', 10])
    expect(rows).toContainEqual(['红色预警 (条)', 3])
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
      expect(await page.textContent('[data-test=report-devices] [data-device=a-rain]')).toContain('30 /')
      expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true)
      await screenshot(page, `report-${size.width}`)
      expect(errors).toEqual([])
      await page.close()
    }
    await browser.close()
    await t.stop()
  })
})
