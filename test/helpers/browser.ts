import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { aptInstall } from './apt.js'

/** Debian's Chromium (README, "Tests"): playwright-core drives it; no browser is downloaded. */
export const CHROMIUM = '/usr/bin/chromium'
export const ARTIFACTS = 'test-artifacts/screenshots'

/** Chromium, and a CJK font so that screenshots show Chinese rather than boxes. */
export function ensureChromium(): void {
  const font = '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc'
  if (existsSync(CHROMIUM) && existsSync(font)) return
  aptInstall(['chromium', 'fonts-wqy-microhei'], 'chromium or a CJK font not found')
}

export function launchChromium(): Promise<Browser> {
  // as root there is no sandbox; without the background-networking flags Chromium keeps calling
  // Google's hosts, which a closed network refuses (the machine notes)
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  })
}

/** Saves a screenshot as a test artifact (CI keeps test-artifacts/). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) })
}

/** Page errors, blocked content and failed requests other than the expected 401 before login: a broken screen shows here. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`))
  // what the security headers' Content-Security-Policy blocks is reported only on the console
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) errors.push(`csp: ${m.text()}`)
  })
  page.on('response', (r) => {
    if (r.status() >= 400 && !(r.status() === 401 && r.url().endsWith('/api/me'))) errors.push(`${r.status()} ${r.url()}`)
  })
  return errors
}

/**
 * A person signed in on a page of its own context (a screen of its own): the size, zh-CN, a
 * browser zone far from the mine's (times must come out in the mine's zone whatever the screen's).
 */
export async function signIn(browser: Browser, base: string, user: string, password: string, size = { width: 1920, height: 1080 }): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: size, locale: 'zh-CN', timezoneId: 'Europe/London' })
  const page = await context.newPage()
  const errors = watchErrors(page)
  await page.goto(base)
  await page.fill('input[name=user]', user)
  await page.fill('input[name=password]', password)
  await page.click('button[type=submit]')
  await page.waitForSelector('.shell')
  return { page, errors }
}
