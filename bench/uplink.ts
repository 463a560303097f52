import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse, stringify } from 'yaml'
import { hashSecret } from '../ingest/secrets.js'
import type { TestInflux } from '../test/helpers/influxdb.js'
import { COMPILED_ENTRY, runPlatform, testEnv, type PlatformProcess } from '../test/helpers/process.js'
import { startTcpProxy } from '../test/helpers/tcp-proxy.js'
import { closeFleet, connectFleet, runLoad } from './fleet.js'
import { BENCH_COST, writeBenchSite } from './site.js'
import { fmt, progress } from './stats.js'

/**
 * `npm run bench -- uplink` (issue 16, "Done when"): a mine platform and the regulator's, both the
 * compiled platform storing in InfluxDB, the mine's uplink through a proxy on loopback. Devices
 * publish to the mine for the whole run; a minute in, the line goes dead (bytes dropped, nobody
 * told) and then down, for `cutMinutes`; then it comes back. Figures: what was acknowledged at the
 * mine and what the regulator's store holds (lost, doubled), how many readings the regulator's
 * intake took more than once (resent chunks), how long the backlog took to go, and when the
 * regulator's 联网 warning came and went.
 */
export interface UplinkFigures {
  readonly devices: number
  readonly readingsPerSecond: number
  readonly cutMinutes: number
  readonly acked: number
  readonly storedAtMine: number
  readonly storedAtRegulator: number
  readonly regulatorAccepted: number
  readonly backlogPeakMiB: number
  readonly catchUpSeconds: number
  readonly warningAfterCutSeconds: number | null
  readonly warningNormalAfterRestoreSeconds: number | null
}

const TOKEN = 'bench-uplink-admin-token-0123456'
const ACCOUNT = 'up-bench'

export async function uplink(influx: TestInflux, work: string, say: (line?: string) => void, opts: { devices: number; cutMinutes: number; downAfter: number }): Promise<UplinkFigures> {
  say(`== uplink: ${fmt(opts.devices)} devices at 1 reading/s into the mine platform; the line to the regulator cut for ${opts.cutMinutes} min`)
  const { file: mineSite, devices } = await writeBenchSite(work, opts.devices, BENCH_COST, 1)
  const site = parse(readFileSync(mineSite, 'utf8')) as { mines: { id: string }[]; gateways?: object[] }
  site.gateways = [
    {
      id: ACCOUNT,
      name: '基准矿山平台 联网',
      secretHash: await hashSecret(`${ACCOUNT}-secret`, BENCH_COST),
      mines: site.mines.map((m) => m.id),
      link: { downAfter: opts.downAfter, lagAfter: opts.downAfter },
    },
  ]
  const regulatorSite = join(work, 'regulator-site.yaml')
  writeFileSync(regulatorSite, stringify(site))
  await influx.query('CREATE DATABASE "uplink_mine"')
  await influx.query('CREATE DATABASE "uplink_regulator"')
  const start = async (name: string, siteFile: string, extra: Record<string, string>) => {
    const dataDir = join(work, `data-${name}`)
    const proc = runPlatform(
      testEnv(dataDir, { MINEWATCH_SITE: siteFile, MINEWATCH_DEMO: '0', MINEWATCH_ADMIN_TOKEN: TOKEN, MINEWATCH_INFLUX_URL: influx.url, MINEWATCH_INFLUX_BUCKET: `uplink_${name}`, ...extra }),
      [],
      COMPILED_ENTRY,
    )
    const ports = await proc.started(60_000)
    return { proc, ports }
  }
  const get = async (p: { ports: { http: number } }, path: string) => (await (await fetch(`http://127.0.0.1:${p.ports.http}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as any
  const regulator = await start('regulator', regulatorSite, {})
  const proxy = await startTcpProxy(regulator.ports.mqtt)
  const mine = await start('mine', mineSite, {
    MINEWATCH_UPLINK_URL: `mqtt://127.0.0.1:${proxy.port}`,
    MINEWATCH_UPLINK_USERNAME: ACCOUNT,
    MINEWATCH_UPLINK_PASSWORD: `${ACCOUNT}-secret`,
  })
  const fleet = await connectFleet('uplink', mine.ports.mqtt, devices)
  const t0 = Date.now() - 3_600_000
  const loadSeconds = 60 + opts.cutMinutes * 60 + 60
  const loading = runLoad('  load', fleet.clients, devices, { seconds: loadSeconds, window: 1, ratePerDevice: 1, t0 })

  let backlogPeak = 0
  let warningAt: number | null = null
  let normalAt: number | null = null
  let cutAt = 0
  let restoredAt = 0
  let caughtUpAt = 0
  const linkWarning = async () => ((await get(regulator, '/api/alerts')).alerts as { rule: string; normal: boolean }[]).find((a) => a.rule === 'uplink-down')
  const watch = async (until: () => boolean) => {
    while (!until()) {
      await new Promise((r) => setTimeout(r, 5000))
      const up = (await get(mine, '/api/health')).uplink as { backlogBytes: number; backlogAgeSeconds: number }
      backlogPeak = Math.max(backlogPeak, up.backlogBytes)
      // caught up: what waits to go upstream is seconds old again
      if (restoredAt > 0 && caughtUpAt === 0 && up.backlogAgeSeconds <= 5) caughtUpAt = Date.now()
      const w = await linkWarning()
      if (w && !w.normal && warningAt === null) warningAt = Date.now()
      if (w?.normal && restoredAt > 0 && normalAt === null) normalAt = Date.now()
    }
  }
  const phase = (seconds: number) => {
    const end = Date.now() + seconds * 1000
    return watch(() => Date.now() >= end)
  }
  await phase(60)
  say('  the line goes dead (bytes dropped), then down')
  cutAt = Date.now()
  proxy.blackhole()
  await phase(20)
  proxy.cut()
  await phase(opts.cutMinutes * 60 - 20)
  say('  the line is back')
  proxy.restore()
  restoredAt = Date.now()
  const load = await loading
  await closeFleet(fleet.clients)
  const stop = progress('  the backlog going upstream', () => `${fmt(backlogPeak / 2 ** 20)} MiB at most`)
  // until the backlog is gone and the warning back to normal
  for (;;) {
    const up = (await get(mine, '/api/health')).uplink as { backlogBytes: number }
    const w = await linkWarning()
    if (w?.normal && normalAt === null) normalAt = Date.now()
    if (up.backlogBytes === 0 && caughtUpAt === 0) caughtUpAt = Date.now()
    if (up.backlogBytes === 0 && normalAt !== null) break
    await new Promise((r) => setTimeout(r, 1000))
  }
  stop()
  const count = async (db: string) => {
    const answer = await influx.query('SELECT count("dN") FROM "prism"', db)
    return (answer.results?.[0]?.series?.[0]?.values?.[0]?.[1] as number | undefined) ?? 0
  }
  // both stores written out: each platform's writer flushes at its pace
  let storedAtMine = 0
  let storedAtRegulator = 0
  for (let i = 0; i < 60; i++) {
    storedAtMine = await count('uplink_mine')
    storedAtRegulator = await count('uplink_regulator')
    if (storedAtMine >= load.acked && storedAtRegulator >= load.acked) break
    await new Promise((r) => setTimeout(r, 1000))
  }
  const regulatorAccepted = (await get(regulator, '/api/health')).counts.readingsAccepted as number
  for (const p of [mine.proc, regulator.proc] as PlatformProcess[]) {
    p.child.kill('SIGTERM')
    await p.exited
  }
  await proxy.close()
  const figures: UplinkFigures = {
    devices: devices.length,
    readingsPerSecond: devices.length,
    cutMinutes: opts.cutMinutes,
    acked: load.acked,
    storedAtMine,
    storedAtRegulator,
    regulatorAccepted,
    backlogPeakMiB: backlogPeak / 2 ** 20,
    catchUpSeconds: (caughtUpAt - restoredAt) / 1000,
    warningAfterCutSeconds: warningAt === null ? null : (warningAt - cutAt) / 1000,
    warningNormalAfterRestoreSeconds: normalAt === null ? null : (normalAt - restoredAt) / 1000,
  }
  say()
  say('| figure | value |')
  say('|---|---:|')
  say(`| devices × 1 reading/s | ${fmt(devices.length)} |`)
  say(`| line cut (dead 20 s, then down) | ${opts.cutMinutes} min |`)
  say(`| readings acknowledged by the mine's broker | ${fmt(load.acked)} |`)
  say(`| in the mine's store / in the regulator's store | ${fmt(storedAtMine)} / ${fmt(storedAtRegulator)} |`)
  say(`| lost upstream (acknowledged, not at the regulator) | ${fmt(load.acked - storedAtRegulator)} |`)
  say(`| taken twice by the regulator's intake (resent chunks; stored once) | ${fmt(regulatorAccepted - storedAtRegulator)} |`)
  say(`| backlog at most | ${fmt(figures.backlogPeakMiB, 1)} MiB |`)
  say(`| caught up after the line came back (the oldest unsent reading 5 s old or less; sampled every 5 s) | ${fmt(figures.catchUpSeconds)} s |`)
  say(`| 联网 warning raised after the cut (downAfter ${opts.downAfter} s; sampled every 5 s) | ${warningAt === null ? 'never' : `${fmt(figures.warningAfterCutSeconds!)} s`} |`)
  say(`| back to normal after the line came back | ${normalAt === null ? 'never' : `${fmt(figures.warningNormalAfterRestoreSeconds!)} s`} |`)
  return figures
}
