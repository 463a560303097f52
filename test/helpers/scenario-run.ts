import type { Alert } from '../../alerting/book/alert.js'
import { AlertBook } from '../../alerting/book/book.js'
import { engineDevices, engineItems } from '../../alerting/config.js'
import { AlertEngine } from '../../alerting/engine.js'
import { RANK, type Level } from '../../alerting/rules/levels.js'
import { DEMO_SITE } from '../../infra/config/env.js'
import { loadSiteFile, type Site } from '../../infra/config/site-file.js'
import { decodeTelemetry } from '../../ingest/decode.js'
import { between, simDevices } from '../../simulators/plan.js'
import type { Scenario } from '../../simulators/scenario.js'
import { World } from '../../simulators/world.js'

export function demoSite(): Site {
  const loaded = loadSiteFile(DEMO_SITE)
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'))
  return loaded.site
}

export const LIMITS = { maxPayloadBytes: 256 * 1024, maxFutureMs: 5 * 60_000, maxAgeMs: 30 * 86_400_000 }

/**
 * A scenario through the platform's own decoder and rule engine, in simulated time (no broker):
 * what the simulator sent, what was refused, and the warnings raised.
 */
export function runScenario(scenario: Scenario, seed: number, start: number, site = demoSite()) {
  const devices = simDevices(site)
  const world = new World(devices, scenario, seed, start)
  const messages = between(world, devices, start, start + scenario.duration)
  let n = 0
  const book = new AlertBook(() => `a${++n}`)
  const engine = new AlertEngine(engineDevices(site), book, start, {}, engineItems(site))
  const kindOf = new Map(devices.map((d) => [d.id, d]))
  let refused = 0
  let misjudged = 0
  const codes = new Set<string>()
  let nextTick = start
  /** Every time the seat was made to ring by a reading, in order. */
  const rings: { at: number; subject: string; rule: string; level: Level }[] = []
  for (const m of messages) {
    for (; nextTick <= m.t; nextTick += 5 * 60_000) engine.tick(nextTick)
    const d = kindOf.get(m.deviceId)!
    const decoded = decodeTelemetry(Buffer.from(m.payload), { mineId: d.mineId, deviceId: d.id, kind: d.kind }, m.t, LIMITS)
    if (decoded.problems.length > 0) refused++
    for (const p of decoded.problems) codes.add(p.code)
    if ((decoded.problems.length === 0) !== m.valid) misjudged++
    for (const e of engine.onReadings(decoded.readings, m.t)) if (e.notify) rings.push({ at: e.at, subject: e.alert.subject.id, rule: e.alert.rule, level: e.alert.level })
  }
  engine.tick(start + scenario.duration)
  return { messages, refused, misjudged, codes, peaks: peaksOf(book.all()), book, rings }
}

/** The highest level each (subject, rule) reached, as "subject rule" → level. */
export function peaksOf(alerts: readonly Alert[]): Map<string, Level> {
  const peaks = new Map<string, Level>()
  for (const a of alerts) {
    const key = `${a.subject.id} ${a.rule}`
    const prev = peaks.get(key)
    if (!prev || RANK[a.peak] > RANK[prev]) peaks.set(key, a.peak)
  }
  return peaks
}

/** What a scenario's manifest says about the warnings: what is missing, what should not be there. */
export function checkManifest(scenario: Scenario, peaks: ReadonlyMap<string, Level>) {
  // the manifest names the level each warning peaks at: lower is missing, higher is as wrong
  const missing = scenario.expect.filter((e) => peaks.get(`${e.device} ${e.rule}`) !== e.level).map((e) => `${e.device} ${e.rule} ${e.level} (got ${peaks.get(`${e.device} ${e.rule}`) ?? 'none'})`)
  const expected = new Set(scenario.expect.map((e) => `${e.device} ${e.rule}`))
  // any other warning, at any level, unless the scenario tolerates its rule
  const unexpected = [...peaks].filter(([key]) => !expected.has(key) && !scenario.tolerate.includes(key.split(' ')[1]!)).map(([key, level]) => `${key} ${level}`)
  return { missing, unexpected }
}
