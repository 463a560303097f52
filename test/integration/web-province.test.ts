import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { launchChromium, screenshot, signIn } from '../helpers/browser.js'
import { eventually } from '../helpers/eventually.js'
import { ADMIN_TOKEN, startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { secretOf, testSite } from '../helpers/site.js'

/**
 * The regulators' 大屏 with a province's hundreds of mines (issue 14: "a view that stays usable with
 * hundreds of mines"): 300 mines imported through 站点管理, one of them red. The map keeps the red
 * mine's name and draws the calm ones small, the heat layer shows where the warnings are, the
 * ranked list puts the red mine first and its search finds a mine among hundreds.
 */
const MINES = 300
let t: TestPlatform
let browser: Browser
let base: string

/** A deterministic scatter of mines over central and eastern China (inside the country's outline). */
function provinceMines(): object[] {
  let seed = 7
  const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646
  return Array.from({ length: MINES }, (_, i) => {
    const location = { lat: 26 + random() * 12, lon: 104 + random() * 14 }
    // two cities: the northern mines of one, the southern of the other
    return {
      id: `p-${String(i).padStart(3, '0')}`,
      name: `测试省矿山 ${String(i).padStart(3, '0')}`,
      region: location.lat > 32 ? 'region-a' : 'region-b',
      location,
      status: i % 37 === 0 ? 'suspended' : 'producing',
    }
  })
}

const login = (user: string, size?: { width: number; height: number }) => signIn(browser, base, user, secretOf(user), size)

beforeAll(async () => {
  t = await startTestPlatform({ webRoot: inject('webRoot') })
  base = `http://127.0.0.1:${t.platform.ports.http}`
  browser = await launchChromium()
  const site = await testSite()
  const imported = await t.platform.app.inject({
    method: 'PUT',
    url: '/api/admin/site',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    payload: { text: JSON.stringify({ ...site, mines: [...site.mines, ...provinceMines()] }) },
  })
  expect(imported.statusCode).toBe(200)
  // mine-a's piezometer red
  const piezo = await t.connect('a-piezo')
  await piezo.publishAsync('mines/mine-a/devices/a-piezo/telemetry', JSON.stringify({ ts: Date.now() - 1000, values: { depth: 3.9 } }), { qos: 1 })
  await eventually(async () => {
    await t.platform.alerting.tick()
    return t.platform.alerting.book.unresolved().some((a) => a.level === 'red')
  })
})

afterAll(async () => {
  await browser?.close()
  await t?.stop()
})

describe('the 大屏 with a province of mines', () => {
  it('shows 302 mines, the red one first and named, a heat layer of the warnings, and finds a mine by search', async () => {
    const { page, errors } = await login('reg-all')
    await page.goto(`${base}/#/map`)
    const map = page.locator('[data-test=map]')
    await expect.poll(() => map.getAttribute('data-mines')).toBe(String(MINES + 2))
    await expect.poll(() => page.locator('[data-test=mine]').first().getAttribute('data-mine')).toBe('mine-a')
    expect(await page.locator('[data-test=mine]').first().getAttribute('data-level')).toBe('red')
    expect(await page.locator('[data-test=mine]').count()).toBe(MINES + 2)
    await page.locator('[data-test=kpi-mines][data-value]').waitFor()
    expect(await page.getAttribute('[data-test=kpi-mines]', 'data-total')).toBe(String(MINES + 2))
    // the cities named on the map where their mines are (the provinces are named by the map itself)
    expect((await map.getAttribute('data-regions'))!.split(' ').sort()).toEqual(['甲市', '乙市'].sort())
    await screenshot(page, 'province-1920-map')

    await page.click('[data-test=heat]')
    await expect.poll(() => map.getAttribute('data-heat')).toBe('1')
    expect(await page.getAttribute('[data-test=heat]', 'aria-pressed')).toBe('true')
    await screenshot(page, 'province-1920-heat')

    await page.fill('.search', '矿山 123')
    await expect.poll(() => page.locator('[data-test=mine]').count()).toBe(1)
    expect(await page.locator('[data-test=mine]').getAttribute('data-mine')).toBe('p-123')
    // the 大屏 still fits the screen with hundreds of mines in its list
    expect(await page.evaluate('document.documentElement.scrollHeight <= window.innerHeight')).toBe(true)
    expect(errors).toEqual([])
    await page.context().close()
  })

  it('fits a 1366×768 laptop screen with hundreds of mines', async () => {
    const { page, errors } = await login('reg-all', { width: 1366, height: 768 })
    await page.goto(`${base}/#/map`)
    await expect.poll(() => page.locator('[data-test=map]').getAttribute('data-mines')).toBe(String(MINES + 2))
    await page.locator('[data-test=kpi-mines][data-value]').waitFor()
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true)
    expect(await page.evaluate('document.documentElement.scrollHeight <= window.innerHeight')).toBe(true)
    await screenshot(page, 'province-1366-map')
    expect(errors).toEqual([])
    await page.context().close()
  })
})
