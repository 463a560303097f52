import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { parseDuration } from '../../simulators/duration.js'
import { simDevices } from '../../simulators/plan.js'
import { SimRunner } from '../../simulators/runner.js'
import { defaultSpeed, loadScenario, scenarioNames } from '../../simulators/scenario.js'
import { World } from '../../simulators/world.js'
import { DEMO_SITE } from '../config/env.js'
import { loadSiteFile } from '../config/site-file.js'
import { isoInZone } from '../../ingest/zone-time.js'
import { runProvince } from './sim-province.js'

/**
 * `npm run sim -- --scenario slope-failure --speed 600`: every device of the site as its own MQTT
 * client, running a scenario in compressed time against a platform (README, "Simulators").
 */
const usage = `usage: npm run sim -- [--scenario ${scenarioNames().join('|')}] [--speed N] [--seed 7]
                    [--duration 6h] [--url mqtt://127.0.0.1:1883] [--site infra/sites/demo.yaml]
                    [--mine <id>] [--password-pattern '{id}-demo']
       npm run sim -- --load <readings/s per device> [--duration 60s] …   (load mode)
       npm run sim -- --province 500x50 [--out province] [--interval 60] [--duration 10m] [--url …]
                    (a generated province: its site file, then its mine platforms reporting to it)`

const say = (line: string) => process.stdout.write(`${line}\n`)

function fail(message: string): never {
  process.stderr.write(`minewatch sim: ${message}\n${usage}\n`)
  process.exit(2)
}

let args
try {
  args = parseArgs({
    options: {
      scenario: { type: 'string', default: 'normal' },
      speed: { type: 'string' },
      seed: { type: 'string', default: '7' },
      duration: { type: 'string' },
      url: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
      site: { type: 'string', default: DEMO_SITE },
      mine: { type: 'string' },
      'password-pattern': { type: 'string', default: '{id}-demo' },
      load: { type: 'string' },
      province: { type: 'string' },
      out: { type: 'string', default: 'province' },
      interval: { type: 'string', default: '60' },
      help: { type: 'boolean', default: false },
    },
  }).values
} catch (err) {
  fail((err as Error).message)
}
if (args.help) {
  process.stdout.write(`${usage}\n`)
  process.exit(0)
}

const seed = Number(args.seed)
if (!Number.isInteger(seed)) fail(`--seed ${args.seed}: expected an integer`)
if (args.province !== undefined) {
  const interval = Number(args.interval)
  if (!(interval >= 1)) fail(`--interval ${args.interval}: expected seconds ≥ 1`)
  const durationMs = args.duration === undefined ? 10 * 60_000 : parseDuration(args.duration)
  if (durationMs === undefined || durationMs <= 0) fail(`--duration ${args.duration}: expected a duration such as 90s, 30m, 6h or 3d`)
  await runProvince(args.province, { out: args.out, url: args.url, interval, durationMs, seed }, say, fail)
  process.exit(0)
}
let scenario
try {
  scenario = loadScenario(args.scenario)
} catch (err) {
  fail((err as Error).message)
}
const durationMs = args.duration === undefined ? scenario.duration : parseDuration(args.duration)
if (durationMs === undefined || durationMs <= 0) fail(`--duration ${args.duration}: expected a duration such as 90s, 30m, 6h or 3d`)
// by default a run takes about three minutes, and never goes faster than a simulated minute a second
const speed = args.speed === undefined ? defaultSpeed(durationMs) : Number(args.speed)
if (!(speed >= 1)) fail(`--speed ${args.speed}: expected a number ≥ 1 (60 = one simulated minute per second)`)
const site = loadSiteFile(resolve(args.site))
if (!site.ok) fail(`the site file ${args.site} has problems:\n  - ${site.errors.join('\n  - ')}`)
const devices = simDevices(site.site).filter((d) => args.mine === undefined || d.mineId === args.mine)
if (devices.length === 0) fail(`no devices${args.mine ? ` in mine "${args.mine}"` : ''}`)

if (args.load !== undefined) {
  // load mode: every device at a fixed rate, in real time, from now
  const rate = Number(args.load)
  if (!(rate > 0)) fail(`--load ${args.load}: expected readings per second per device, e.g. 1`)
  const seconds = args.duration === undefined ? 60 : (parseDuration(args.duration) ?? 60_000) / 1000
  const loadRunner = new SimRunner({
    url: args.url,
    devices,
    world: new World(devices, loadScenario('normal'), seed, Date.now() - seconds * 1000),
    speed: 1,
    durationMs: seconds * 1000,
    password: (id) => args['password-pattern'].replaceAll('{id}', id),
    clientSuffix: '-load',
  })
  try {
    await loadRunner.connect()
  } catch (err) {
    fail(`could not connect to ${args.url}: ${(err as Error).message}`)
  }
  say(`[load] ${devices.length} devices × ${rate}/s for ${seconds} s`)
  let before = { t: Date.now(), acked: 0 }
  let lastLine = 0
  const stats = await loadRunner.load(rate, seconds, () => {
    if (Date.now() - lastLine < 1000) return
    lastLine = Date.now()
    const s = loadRunner.stats
    say(`[load] sent ${s.sent} · acked ${s.acked} · ${(((s.acked - before.acked) * 1000) / Math.max(1, Date.now() - before.t)).toFixed(0)}/s`)
    before = { t: Date.now(), acked: s.acked }
  })
  await loadRunner.close()
  say(`done: sent ${stats.sent}, acknowledged ${stats.acked} (${(stats.acked / seconds).toFixed(0)}/s), errors ${stats.errors}`)
  process.exit(stats.errors > 0 ? 1 : 0)
}

// at speed > 1 the run is set in the past, so that no timestamp runs ahead of the real clock
const now = Date.now()
const start = speed > 1 ? now - durationMs : now
const world = new World(devices, scenario, seed, start)
const runner = new SimRunner({ url: args.url, devices, world, speed, durationMs, password: (id) => args['password-pattern'].replaceAll('{id}', id) })
const tz = site.site.mines[0]?.timezone ?? 'Asia/Shanghai'
const hours = (ms: number) => `${(ms / 3_600_000).toFixed(1)} h`

say(`minewatch 模拟器 · ${scenario.title} · ${devices.length} devices → ${args.url}`)
say(`simulated ${hours(durationMs)} from ${isoInZone(start, tz)} at ×${speed} (about ${Math.ceil(durationMs / speed / 1000)} s), seed ${seed}`)
if (scenario.expect.length > 0) say(`expected warnings: ${scenario.expect.map((e) => `${e.device} ${e.rule} ≥ ${e.level}`).join('; ')}`)

let connectTimer: NodeJS.Timeout | undefined
try {
  connectTimer = setInterval(() => say(`[sim] connecting ${runner.stats.connected}/${devices.length}`), 1000)
  await runner.connect()
} catch (err) {
  const e = err as Error & { code?: number }
  fail(`could not connect to ${args.url}: ${e.message}${e.code === 4 || e.code === 5 ? ' (check --password-pattern and the site file)' : ' (is the platform running? npm start)'}`)
} finally {
  clearInterval(connectTimer)
}
say(`[sim] ${devices.length} devices connected`)

let last = { t: Date.now(), acked: 0 }
const progress = setInterval(() => {
  const s = runner.stats
  const rate = ((s.acked - last.acked) * 1000) / Math.max(1, Date.now() - last.t)
  last = { t: Date.now(), acked: s.acked }
  say(
    `[sim] ${isoInZone(runner.simTime, tz).slice(0, 16)} (+${hours(runner.simTime - start)} of ${hours(durationMs)}) · ` +
      `sent ${s.sent} · acked ${s.acked} · refused ${s.refused} · ${rate.toFixed(1)}/s · errors ${s.errors}${s.lastError ? ` (${s.lastError})` : ''}`,
  )
}, 1000)
let stopping = false
process.on('SIGINT', () => {
  if (stopping) process.exit(130)
  stopping = true
  say('[sim] stopping')
  clearInterval(progress)
  void runner.close().then(() => process.exit(130))
})

const stats = await runner.run()
clearInterval(progress)
await runner.close()
say(`done: sent ${stats.sent}, acknowledged ${stats.acked}, refused by the platform ${stats.refused}, errors ${stats.errors}`)
say(`warnings: GET /api/alerts on the platform (admin token), or the 预警 log lines`)
process.exit(stats.errors > 0 ? 1 : 0)
