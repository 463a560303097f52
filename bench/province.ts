import { mkdtempSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'vite'
import { stringify } from 'yaml'
import { hashSecret } from '../ingest/secrets.js'
import { connectMines, startProvinceLoad } from '../simulators/province-load.js'
import { provinceMines, provinceSite, type ProvinceOptions } from '../simulators/province.js'
import type { TestInflux } from '../test/helpers/influxdb.js'
import { ensureChromium, launchChromium, signIn } from '../test/helpers/browser.js'
import { COMPILED_ENTRY, runPlatform, testEnv } from '../test/helpers/process.js'
import { BENCH_COST } from './site.js'
import { fmt, percentile, progress, rssOf } from './stats.js'

/**
 * `npm run bench -- province` (issue 16 item 5): a generated province, 500 mines of 50 devices,
 * each mine platform an uplink account of the province's platform, against one regulator instance
 * on this machine storing in InfluxDB. Figures: the start, memory idle and under load, ingest lag
 * (PUBACK delay, the store's and the rules' backlog), and how long the regulator's screens take
 * to load with the whole province in them.
 */
export interface ProvinceFigures {
  readonly mines: number
  readonly devices: number
  readonly interval: number
  readonly readingsPerSecond: number
  readonly startSeconds: number
  readonly rssIdleMiB: number
  readonly rssConnectedMiB: number
  readonly rssPeakMiB: number
  readonly connectSeconds: number
  readonly acked: number
  readonly failed: number
  readonly pubackMs: { p50: number; p99: number; max: number }
  readonly storeBacklogMaxSeconds: number
  readonly rulesLagMaxSeconds: number
  readonly screens: Record<string, { p50: number; max: number }>
}

const TOKEN = 'bench-province-admin-token-0123'
const USER_PASSWORD = 'province-regulator-bench'

export async function province(influx: TestInflux, work: string, say: (line?: string) => void, opts: ProvinceOptions & { minutes: number }): Promise<ProvinceFigures> {
  const devices = opts.mines * opts.devicesPerMine
  say(
    `== province: ${fmt(opts.mines)} mines × ${fmt(opts.devicesPerMine)} devices = ${fmt(devices)} devices, a reading each every ${opts.interval} s (${fmt(devices / opts.interval)} readings/s), ${opts.minutes} min`,
  )
  const mines = provinceMines(opts)
  const password = (account: string) => `${account}-bench`
  const accountHashes = new Map(await Promise.all(mines.map(async (m) => [m.account, await hashSecret(password(m.account), BENCH_COST)] as const)))
  const site = provinceSite(opts, {
    // the devices never connect here (their mine platforms do): one hash of a secret nobody knows
    device: await hashSecret(`unused-${Math.random()}`, BENCH_COST),
    account: (a) => accountHashes.get(a)!,
    user: await hashSecret(USER_PASSWORD, BENCH_COST),
  })
  const siteFile = join(work, 'province.yaml')
  writeFileSync(siteFile, stringify(site))
  // the screens as `npm start` serves them: the web UI built from this tree into dashboard/web/dist
  await build({ configFile: 'dashboard/web/vite.config.ts', logLevel: 'warn' })

  const dataDir = mkdtempSync(join(work, 'province-data-'))
  await influx.query('CREATE DATABASE "province"')
  const started = performance.now()
  const proc = runPlatform(
    testEnv(dataDir, {
      MINEWATCH_SITE: siteFile,
      MINEWATCH_DEMO: '0',
      MINEWATCH_ADMIN_TOKEN: TOKEN,
      MINEWATCH_INFLUX_URL: influx.url,
      MINEWATCH_INFLUX_BUCKET: 'province',
    }),
    [],
    COMPILED_ENTRY,
  )
  const ports = await proc.started(120_000)
  const base = `http://127.0.0.1:${ports.http}`
  const health = async () =>
    (await (await fetch(`${base}/api/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { store: { backlogAgeSeconds: number }; alerts: { rulesLagSeconds: number } }
  await health()
  const startSeconds = (performance.now() - started) / 1000
  const pid = proc.child.pid!
  const rssIdle = (await rssOf(pid)).now
  say(`  started in ${fmt(startSeconds, 1)} s; RSS idle ${fmt(rssIdle / 2 ** 20)} MiB`)

  const connectStarted = performance.now()
  const clients = await connectMines(`mqtt://127.0.0.1:${ports.mqtt}`, mines, password)
  const connectSeconds = (performance.now() - connectStarted) / 1000
  const rssConnected = (await rssOf(pid)).now
  say(`  ${fmt(mines.length)} mine platforms connected in ${fmt(connectSeconds, 1)} s; RSS ${fmt(rssConnected / 2 ** 20)} MiB`)

  const load = startProvinceLoad(clients, mines, opts.interval, opts.seed)
  const latencies: number[] = []
  let storeBacklogMax = 0
  let rulesLagMax = 0
  const end = Date.now() + opts.minutes * 60_000
  const stop = progress('  load', () => `${fmt(load.acked)} readings acknowledged, store backlog ≤ ${fmt(storeBacklogMax, 1)} s, rules lag ≤ ${fmt(rulesLagMax, 1)} s`)
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 5000))
    const h = await health()
    storeBacklogMax = Math.max(storeBacklogMax, h.store.backlogAgeSeconds)
    rulesLagMax = Math.max(rulesLagMax, h.alerts.rulesLagSeconds)
    for (const l of load.drainLatencies()) latencies.push(l)
  }
  stop()

  // the screens, while the load goes on: the regulator's API, then the 大屏 in Chromium
  const login = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'province-regulator', password: USER_PASSWORD }) })
  const { token } = (await login.json()) as { token: string }
  const screens: Record<string, { p50: number; max: number }> = {}
  const timeGet = async (name: string, path: string, repeats = 10) => {
    const t: number[] = []
    for (let i = 0; i < repeats; i++) {
      const s = performance.now()
      const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } })
      await res.arrayBuffer()
      if (!res.ok) throw new Error(`${path}: ${res.status}`)
      t.push(performance.now() - s)
    }
    t.sort((a, b) => a - b)
    screens[name] = { p50: percentile(t, 50), max: t.at(-1)! }
  }
  await timeGet(`GET /api/mines (the map, ${fmt(mines.length)} mines)`, '/api/mines')
  await timeGet('GET /api/overview (the 大屏 figures)', '/api/overview')
  await timeGet('GET /api/alerts (open warnings)', '/api/alerts')
  await timeGet(`GET /api/mines/${mines[0]!.id}/devices (a mine board)`, `/api/mines/${mines[0]!.id}/devices`)
  ensureChromium()
  const browser = await launchChromium()
  try {
    const t: number[] = []
    for (let i = 0; i < 3; i++) {
      const { page } = await signIn(browser, base, 'province-regulator', USER_PASSWORD)
      const s = performance.now()
      await page.goto(`${base}/#/map`)
      await page.locator(`[data-test=map][data-mines="${mines.length}"]`).waitFor({ timeout: 120_000 })
      await page.locator('[data-test=kpi-mines][data-value]').waitFor({ timeout: 120_000 })
      t.push(performance.now() - s)
      await page.context().close()
    }
    t.sort((a, b) => a - b)
    screens[`大屏 in Chromium (the map of ${fmt(mines.length)} mines drawn, figures shown)`] = { p50: percentile(t, 50), max: t.at(-1)! }
  } finally {
    await browser.close()
  }
  for (const l of load.drainLatencies()) latencies.push(l)
  const rssPeak = (await rssOf(pid)).peak
  const acked = load.acked
  const failed = load.failed
  await load.stop()
  proc.child.kill('SIGTERM')
  await proc.exited
  latencies.sort((a, b) => a - b)
  const figures: ProvinceFigures = {
    mines: opts.mines,
    devices,
    interval: opts.interval,
    readingsPerSecond: devices / opts.interval,
    startSeconds,
    rssIdleMiB: rssIdle / 2 ** 20,
    rssConnectedMiB: rssConnected / 2 ** 20,
    rssPeakMiB: rssPeak / 2 ** 20,
    connectSeconds,
    acked,
    failed,
    pubackMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? 0 },
    storeBacklogMaxSeconds: storeBacklogMax,
    rulesLagMaxSeconds: rulesLagMax,
    screens,
  }
  say()
  say(`| figure | value |`)
  say(`|---|---:|`)
  say(`| devices (mines × devices) | ${fmt(devices)} (${fmt(opts.mines)} × ${fmt(opts.devicesPerMine)}) |`)
  say(`| readings/s (one each every ${opts.interval} s) | ${fmt(figures.readingsPerSecond)} |`)
  say(`| start to healthy | ${fmt(startSeconds, 1)} s |`)
  say(`| RSS idle / ${fmt(mines.length)} accounts connected / peak | ${fmt(figures.rssIdleMiB)} / ${fmt(figures.rssConnectedMiB)} / ${fmt(figures.rssPeakMiB)} MiB |`)
  say(`| readings acknowledged / failed | ${fmt(acked)} / ${fmt(failed)} |`)
  say(`| PUBACK p50 / p99 / max | ${fmt(figures.pubackMs.p50, 1)} / ${fmt(figures.pubackMs.p99, 1)} / ${fmt(figures.pubackMs.max, 1)} ms |`)
  say(`| store backlog age, max | ${fmt(storeBacklogMax, 1)} s |`)
  say(`| rules lag, max | ${fmt(rulesLagMax, 1)} s |`)
  for (const [name, s] of Object.entries(screens)) say(`| ${name}, p50 / max | ${fmt(s.p50)} / ${fmt(s.max)} ms |`)
  return figures
}
