import type { MqttClient } from 'mqtt'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { launchChromium, screenshot, signIn } from '../helpers/browser.js'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { secretOf } from '../helpers/site.js'

/**
 * The web UI in Debian's Chromium against the real platform (README, "Tests"): warnings published
 * over MQTT reach the 预警专席 without a reload, are signed and resolved there, and colour the
 * regulators' map. Screenshots go to test-artifacts/screenshots.
 */
const piezoTopic = 'mines/mine-a/devices/a-piezo/telemetry'
let t: TestPlatform
let browser: Browser
let base: string
let piezo: MqttClient
let ts = Date.now() - 30 * 60_000

/** A phreatic depth in metres (PIEZO_RULE: orange ≤ 4.4, red ≤ 4.0), a minute after the last. */
async function depth(value: number): Promise<void> {
  ts += 60_000
  await piezo.publishAsync(piezoTopic, JSON.stringify({ ts, values: { depth: value } }), { qos: 1 })
}

const login = (user: string, size?: { width: number; height: number }) => signIn(browser, base, user, secretOf(user), size)

beforeAll(async () => {
  t = await startTestPlatform({ webRoot: inject('webRoot') })
  base = `http://127.0.0.1:${t.platform.ports.http}`
  browser = await launchChromium()
  piezo = await t.connect('a-piezo')
})

afterAll(async () => {
  await browser?.close()
  await t?.stop()
})

describe('web UI in Chromium', () => {
  it('refuses a wrong password with the reason, in Chinese', async () => {
    const page = await browser.newPage()
    await page.goto(base)
    await page.fill('input[name=user]', 'disp-a')
    await page.fill('input[name=password]', 'not-the-password')
    await page.click('button[type=submit]')
    await expect.poll(() => page.textContent('[role=alert]')).toContain('用户名或密码错误')
    await page.close()
  })

  it('a dispatcher sees a warning published over MQTT without reloading, signs it and resolves it with a note', async () => {
    const { page, errors } = await login('disp-a')
    await page.waitForSelector('text=当前没有未处置的预警')
    await expect.poll(() => page.textContent('[data-test=connection]')).toBe('实时连接')

    await depth(5.0)
    await depth(4.3)
    const card = page.locator('[data-test=alert]')
    await card.first().waitFor()
    expect(await card.count()).toBe(1)
    expect(await card.getAttribute('data-level')).toBe('orange')
    expect(await card.getAttribute('data-state')).toBe('open')
    // unsigned: the header says so (and the seat rings) until someone signs
    await page.waitForSelector('[data-alarm=orange]')
    // the countdown to the end of the mine's day, in Asia/Shanghai whatever the browser's zone
    expect(await card.locator('[data-test=countdown]').textContent()).toMatch(/^剩余 \d+/)
    // the trend chart of the selected warning: the rule's series and its thresholds, on the axis
    await expect.poll(() => page.textContent('[data-test=trend] h2')).toContain('浸润线埋深')
    expect(await page.textContent('[data-test=trend] h2')).toContain('红 ≤ 4 m')
    const trend = page.locator('[data-test=trend]')
    expect(await trend.getAttribute('data-alert')).toBe(await card.getAttribute('data-id'))
    await expect.poll(() => trend.getAttribute('data-lines')).toBe('4.4 4')
    // the red line at 4.0 m is on the axis though every reading so far is above it (both drawn: 5.0 and 4.3 m)
    await page.waitForSelector('[data-test=trend][data-points="2"]')
    const [lo, hi] = (await trend.getAttribute('data-y-range'))!.split(' ').map(Number)
    expect(lo).toBeLessThan(4)
    expect(hi).toBeGreaterThan(5)
    expect(await page.locator('[data-test=trend] canvas').count()).toBeGreaterThan(0)

    // a rise while it waits: the same card climbs to red
    await depth(3.9)
    await expect.poll(() => card.getAttribute('data-level')).toBe('red')
    await page.waitForSelector('[data-alarm=red]')
    // the chart follows: the three readings (5.0, 4.3, 3.9 m) are drawn
    await page.waitForSelector('[data-test=trend][data-points="3"]')
    await screenshot(page, 'seat-1920-unsigned-red')

    await card.locator('[data-test=sign]').click()
    await expect.poll(() => card.getAttribute('data-state')).toBe('acknowledged')
    // the person who signed, by name, not the user id
    expect(await card.textContent()).toContain('测试 disp-a 签收')
    expect(await page.locator('[data-alarm]').count()).toBe(0)

    await card.locator('[data-test=resolve]').click()
    // the note is required: an empty one is refused in the dialog
    await page.click('[data-test=confirm]')
    await expect.poll(() => page.textContent('.dialog [role=alert]')).toContain('请填写处置情况')
    await page.fill('.dialog textarea', '已降低库水位, 加密观测, 浸润线回落')
    await page.click('[data-test=confirm]')
    await page.waitForSelector('[data-test=resolved]')
    expect(await page.locator('[data-test=alert]').count()).toBe(0)
    expect(await page.textContent('[data-test=resolved]')).toContain('已降低库水位')
    expect(await page.textContent('[data-test=resolved]')).toContain('测试 disp-a')
    await screenshot(page, 'seat-1920-resolved')
    // the day's handled warnings are the book's, not the page's: they are still listed after a reload
    await page.reload()
    await page.waitForSelector('[data-test=resolved]')
    expect(await page.textContent('[data-test=resolved]')).toContain('已降低库水位')

    // the book agrees: signed and resolved by the dispatcher, with the note
    const { body } = await t.admin('/api/alerts?state=all&mine=mine-a')
    const alert = body.alerts.find((a: { rule: string }) => a.rule === 'phreatic-depth')
    expect(alert).toMatchObject({ state: 'resolved', peak: 'red', acknowledged: { by: 'disp-a' }, resolved: { by: 'disp-a', note: '已降低库水位, 加密观测, 浸润线回落' } })
    expect(errors).toEqual([])
    await page.context().close()
  })

  it('a regulator sees the mine coloured by its worst open warning on the map, live', async () => {
    await depth(5.0) // back to normal, so the next rise is a new warning
    const { page, errors } = await login('reg-a')
    await page.goto(`${base}/#/map`)
    const mine = page.locator('[data-test=mine][data-mine=mine-a]')
    await mine.waitFor()
    expect(await mine.getAttribute('data-level')).toBe('none')
    // a regulator of region A sees region A's mines only
    expect(await page.locator('[data-test=mine][data-mine=mine-b]').count()).toBe(0)
    expect(await page.locator('.map-chart canvas').count()).toBeGreaterThan(0)

    await depth(4.2)
    await expect.poll(() => mine.getAttribute('data-level')).toBe('orange')
    await depth(3.8)
    await expect.poll(() => mine.getAttribute('data-level')).toBe('red')
    // a regulator watches: signing is the mine's, so no alarm sounds on this screen
    expect(await page.locator('[data-alarm]').count()).toBe(0)
    // the 大屏's figures are the API's (GET /api/overview), live: the red warning is counted
    const shown = async () => {
      const value = (test: string, extra = '') => page.getAttribute(`[data-test=${test}]${extra}`, 'data-value').then(Number)
      return {
        mines: await value('kpi-mines'),
        online: await value('kpi-online'),
        handled: await value('kpi-handled'),
        overdue: await value('kpi-overdue'),
        red: await value('today-level', '[data-level=red]'),
        orange: await value('today-level', '[data-level=orange]'),
      }
    }
    await expect.poll(async () => (await shown()).red).toBeGreaterThan(0)
    // the screen reads the figures again a second after a change: it agrees with the API once it has
    const fromApi = async () => {
      const api = await (await page.context().request.get(`${base}/api/overview`)).json()
      return {
        api,
        figures: { mines: api.mines.connected, online: api.devices.online, handled: api.today.resolvedSameDay, overdue: api.overdue, red: api.today.byLevel.red, orange: api.today.byLevel.orange },
      }
    }
    await expect.poll(async () => JSON.stringify(await shown()) === JSON.stringify((await fromApi()).figures)).toBe(true)
    const { api, figures } = await fromApi()
    expect(await shown()).toEqual(figures)
    // a regulator of region A: mine A only, connected (its piezometer is), with today's red and orange
    expect(api.mines).toEqual({ total: 1, connected: 1 })
    expect(api.today.byLevel.red).toBeGreaterThanOrEqual(1)
    expect(await page.locator('[data-test=recent]').count()).toBe(api.recent.length)
    await screenshot(page, 'map-1920-red')

    // a click opens the mine's board
    await mine.click()
    const tile = page.locator('[data-test=tile][data-device=a-piezo]')
    await tile.waitFor()
    expect(page.url()).toContain('#/mine/mine-a')
    // the card says what the rule judged and where the warning stands, not only the raw metrics
    expect(await tile.locator('[data-test=tile-warning]').textContent()).toBe('红色预警 · 待签收')
    await expect.poll(() => tile.locator('[data-test=judged] dd[data-rule=phreatic-depth]').textContent()).toBe('3.80 m')
    expect(await tile.locator('[data-test=judged] dd[data-rule=phreatic-depth]').getAttribute('class')).toBe('red')
    await screenshot(page, 'board-1920-red')
    expect(errors).toEqual([])
    await page.context().close()
  })

  it('charts a rain warning as the 24-h sum its rule judged, with the threshold line, and shows a device that has not reported yet as waiting, not late', async () => {
    const { page, errors } = await login('disp-a')
    await page.waitForSelector('[data-test=device]')
    // a device that connects and has not sent anything yet: waiting for its first reading
    const gnss = await t.connect('a-gnss')
    try {
      await page.reload()
      await expect.poll(() => page.getAttribute('[data-test=device][data-device=a-gnss]', 'data-state')).toBe('waiting')
      // counted apart from the late ones in the board's header
      const waiting = await page.locator('[data-test=device][data-state=waiting]').count()
      expect(await page.textContent('.health .count')).toContain(`等待首次数据 ${waiting}`)
    } finally {
      await gnss.endAsync()
    }
    // 3 mm every 6 minutes for two hours: 60 mm in 24 h, over the yellow 50 mm
    const rain = await t.connect('a-rain')
    const start = Date.now() - 2 * 3_600_000
    for (let i = 0; i < 20; i++) await rain.publishAsync('mines/mine-a/devices/a-rain/telemetry', JSON.stringify({ ts: start + i * 360_000, values: { rainfall: 3 } }), { qos: 1 })
    await rain.endAsync()
    const card = page.locator('[data-test=alert]', { hasText: '测试 a-rain' })
    await card.waitFor()
    await card.click()
    const trend = page.locator('[data-test=trend]')
    await expect.poll(() => trend.getAttribute('data-alert')).toBe(await card.getAttribute('data-id'))
    // the series is the sum the rule judged (each reading was 3 mm), with its threshold as a line
    expect(await trend.getAttribute('data-series')).toBe('24 h 累计降雨量')
    // (the store may get the last readings after the first read: the chart reads again, at the latest in 15 s)
    await expect.poll(async () => Number(await trend.getAttribute('data-last')), { timeout: 20_000 }).toBe(60)
    expect(await trend.getAttribute('data-lines')).toBe('50')
    expect(await page.textContent('[data-test=trend] h2')).toContain('黄 ≥ 50 mm')
    await screenshot(page, 'seat-1920-rain')
    expect(errors).toEqual([])
    await page.context().close()
  })

  it('shows any device’s history with its thresholds and warnings, and exports it with the times in the mine’s zone', async () => {
    const { page, errors } = await login('disp-a')
    await page.goto(`${base}/#/history/a-piezo`)
    const chart = page.locator('[data-test=history]')
    await expect.poll(async () => Number(await chart.getAttribute('data-points'))).toBeGreaterThan(0)
    // the piezometer's rule judges this very metric: its thresholds are drawn, and its warnings
    expect(await chart.getAttribute('data-lines')).toBe('4.4 4')
    expect(Number(await chart.getAttribute('data-alerts'))).toBeGreaterThanOrEqual(2)
    expect(await page.textContent('.history-chart h2')).toContain('浸润线埋深')
    await screenshot(page, 'history-1920-piezo')
    const href = await page.getAttribute('[data-test=export-csv]', 'href')
    expect(href).toMatch(/^\/api\/readings\/export\?device=a-piezo&metric=depth&from=\d+&to=\d+&every=10m&format=csv$/)
    const csv = await (await page.context().request.get(`${base}${href}`)).text()
    expect(csv.split('\r\n')[0]).toBe('\uFEFF时间 (Asia/Shanghai),均值 (m),最小 (m),最大 (m),读数个数')
    expect(csv.split('\r\n')[1]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000\+08:00,/)
    expect(errors).toEqual([])
    await page.context().close()
  })

  it('names each device with its mine on a seat of two mines', async () => {
    const { page, errors } = await login('reg-all')
    await page.goto(`${base}/#/seat`)
    await page.waitForSelector('[data-test=device][data-device=b-prism]')
    expect(await page.textContent('[data-test=device][data-device=b-prism]')).toContain('测试矿山 mine-b · 测试 b-prism')
    expect(await page.textContent('[data-test=device][data-device=a-prism]')).toContain('测试矿山 mine-a · 测试 a-prism')
    expect(errors).toEqual([])
    await page.context().close()
  })

  it('fits a 1366×768 laptop screen without sideways scrolling', async () => {
    const { page, errors } = await login('dir-a', { width: 1366, height: 768 })
    await page.locator('[data-test=alert]').first().waitFor()
    // each screen measured once its content is drawn: the seat's trend chart, the board's tiles
    for (const [hash, drawn] of [
      ['#/seat', '[data-test=trend] canvas'],
      ['#/mine', '[data-test=tile]'],
      ['#/map', '[data-test=kpi-mines][data-value]'],
      ['#/history/a-piezo', '[data-test=history]:not([data-points="0"])'],
    ] as const) {
      await page.goto(`${base}/${hash}`)
      await page.locator(drawn).first().waitFor()
      // the page's own globals: this runs in the browser
      expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true)
      // the seat's device board shows every device without being cut off at the bottom
      if (hash === '#/seat') expect(await page.evaluate("(() => { const h = document.querySelector('.seat .health'); return h.scrollHeight <= h.clientHeight })()")).toBe(true)
      // the 大屏 fits the screen's height too: nothing below the fold
      if (hash === '#/map') expect(await page.evaluate('document.documentElement.scrollHeight <= window.innerHeight')).toBe(true)
      await screenshot(page, `laptop-1366${hash.replace('#/', '-')}`)
    }
    expect(errors).toEqual([])
    await page.context().close()
  })
})
