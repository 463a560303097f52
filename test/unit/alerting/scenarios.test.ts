import { describe, expect, it } from 'vitest'
import { AlertBook } from '../../../alerting/book/book.js'
import { engineDevices, engineItems } from '../../../alerting/config.js'
import { AlertEngine } from '../../../alerting/engine.js'
import { DEMO_SITE } from '../../../infra/config/env.js'
import { loadSiteFile } from '../../../infra/config/site-file.js'
import type { Reading } from '../../../ingest/reading.js'
import { seeded } from '../../../simulators/random.js'

/**
 * The demo site's rules against reading sequences of each scenario (README, "Warnings (alerting)"):
 * each raises exactly the warnings it should, at the level it should, and nothing else.
 */
const loaded = loadSiteFile(DEMO_SITE)
if (!loaded.ok) throw new Error(loaded.errors.join('\n'))
const site = loaded.site
const MIN = 60_000
const HOUR = 60 * MIN
// 2026-11-20 09:00 in Shanghai (Baotou shares the zone)
const T0 = Date.parse('2026-11-20T09:00:00+08:00')

const deviceOf = (id: string) => {
  for (const m of site.mines) for (const d of m.devices) if (d.id === id) return { mineId: m.id, kind: d.kind }
  throw new Error(`no device ${id}`)
}
const at = (id: string, ts: number, values: Reading['values']): Reading => ({ ...deviceOf(id), deviceId: id, ts, values })

/** Runs readings (in time order) through the engine; returns "subject rule peak" of every warning raised. */
function run(readings: Reading[], tickAt: number[] = []) {
  let n = 0
  const book = new AlertBook(() => `a${++n}`)
  const engine = new AlertEngine(engineDevices(site), book, T0, {}, engineItems(site))
  const events = [...readings.sort((a, b) => a.ts - b.ts)].flatMap((r) => engine.onReadings([r], r.ts))
  for (const t of tickAt) events.push(...engine.tick(t))
  const raised = [...new Set(book.all().map((a) => `${a.subject.id} ${a.rule} ${a.peak}`))].sort()
  return { raised, events, book }
}

/** Every yt-jinshan device reporting a calm value every `every` for `hours`. */
function calm(hours: number, every = 10 * MIN, skip: string[] = []): Reading[] {
  const rnd = seeded(11)
  const out: Reading[] = []
  for (let t = T0; t < T0 + hours * HOUR; t += every) {
    const add = (id: string, values: Reading['values']) => !skip.includes(id) && out.push(at(id, t, values))
    add('yt-prism-p07', { dN: rnd.gaussian(0.3), dE: rnd.gaussian(0.3), dH: rnd.gaussian(0.3) })
    add('yt-prism-p08', { dN: rnd.gaussian(0.3), dE: rnd.gaussian(0.3), dH: rnd.gaussian(0.3) })
    add('yt-gnss-g01', { dN: rnd.gaussian(1), dE: rnd.gaussian(1), dU: rnd.gaussian(2), fix: 4, sats: 18 })
    add('yt-piezo-zk03', { depth: 6.2 + rnd.gaussian(0.02) })
    add('yt-reservoir-01', { level: 97.8 + rnd.gaussian(0.01) })
    add('yt-beach-01', { length: 120 + rnd.gaussian(0.5), freeboard: 2.1 })
    add('yt-rain-01', { rainfall: 0 })
    add('yt-pump-01', { running: false, flow: 0 })
    add('yt-power-01', { power: 420 + rnd.gaussian(10) })
    add('yt-video-01', { online: true, recording: true, fps: 25 })
    // the suspended mine: standby draw, cameras on
    add('bt-prism-p01', { dN: rnd.gaussian(0.3), dE: rnd.gaussian(0.3), dH: rnd.gaussian(0.3) })
    add('bt-gnss-g01', { dN: rnd.gaussian(1), dE: rnd.gaussian(1), dU: rnd.gaussian(2), fix: 4, sats: 16 })
    add('bt-piezo-zk01', { depth: 8.1 + rnd.gaussian(0.02) })
    add('bt-reservoir-01', { level: 1201.3 })
    add('bt-beach-01', { length: 150, freeboard: 2.5 })
    add('bt-rain-01', { rainfall: 0 })
    add('bt-pump-01', { running: true, flow: 60 })
    add('bt-power-01', { power: 35 + rnd.gaussian(2) })
    add('bt-video-01', { online: true, recording: true, fps: 25 })
  }
  return out
}

describe('demo-site scenarios through the engine', () => {
  it('normal: a calm day raises nothing, and no device is silent', () => {
    const readings = calm(24)
    expect(run(readings, [T0 + 24 * HOUR - 10 * MIN]).raised).toEqual([])
  })

  it('rainstorm (暴雨): 24 h rain past 50 mm, the pond rising past its control levels, the phreatic line rising', () => {
    const storm: Reading[] = []
    for (let i = 0; i < 36; i++) {
      const t = T0 + 2 * HOUR + i * 5 * MIN
      storm.push(at('yt-rain-01', t + 1, { rainfall: 2 }))
      storm.push(at('yt-reservoir-01', t + 2, { level: 97.8 + i * 0.045 }))
      storm.push(at('yt-piezo-zk03', t + 3, { depth: 6.2 - i * 0.055 }))
      // the drainage pump runs as the water comes (the simulator's pumps do above 0.3 m of rise); this
      // test had it report nothing in the storm, and passed only while the pump-failure rule dropped
      // pump readings that shared a time with the pond's (a pump idle since the calm is a failure)
      storm.push(at('yt-pump-01', t + 4, { running: true, flow: 120 }))
    }
    const { raised } = run([...calm(2, 10 * MIN, []), ...storm])
    expect(raised).toEqual(['yt-piezo-zk03 phreatic-depth orange', 'yt-rain-01 rain-24h yellow', 'yt-reservoir-01 pond-level orange'])
  })

  it('pump failure: the pond above 99.2 m while the drainage pump stands', () => {
    const rising = [0, 1, 2, 3].map((i) => at('yt-reservoir-01', T0 + HOUR + i * 10 * MIN, { level: 98.9 + i * 0.15 }))
    const { raised, events } = run([...calm(1, 10 * MIN), ...rising, at('yt-pump-01', T0 + HOUR + 35 * MIN, { running: false, flow: 0 })])
    expect(raised).toEqual(['yt-pump-01 pump-failure orange', 'yt-reservoir-01 pond-level orange'])
    expect(events.find((e) => e.alert.rule === 'pump-failure')!.alert.message).toBe('-60m 中段 1号排水泵 水泵未运行，尾矿库库水位 99.35 m 超过 99.2 m，橙色预警')
  })

  it('secret production (明停暗开): the suspended mine draws power at night', () => {
    const night = Date.parse('2026-11-20T22:00:00+08:00')
    const readings = [0, 1, 2, 3].map((i) => at('bt-power-01', night + i * 15 * MIN, { power: 180 }))
    const day = [0, 1, 2].map((i) => at('bt-power-01', T0 + i * 15 * MIN, { power: 180 }))
    expect(run(day).raised).toEqual([])
    expect(run(readings).raised).toEqual(['bt-power-01 secret-production orange'])
  })

  it('camera offline while producing (无视频不作业)', () => {
    const { raised } = run([...calm(1, 10 * MIN, ['yt-video-01']), at('yt-video-01', T0 + 30 * MIN, { online: false })])
    expect(raised).toEqual(['yt-video-01 video-offline yellow'])
  })

  it('slope failure: creep, then acceleration to failure — rate warnings and the inverse-velocity forecast climb to red', () => {
    const rnd = seeded(5)
    const failAt = T0 + 6 * 24 * HOUR
    const accelFrom = T0 + 24 * HOUR
    const A = 1 / (10 * ((failAt - accelFrom) / (24 * HOUR))) // 10 mm/d when acceleration starts
    const readings: Reading[] = []
    for (let t = T0; t < failAt - 2 * HOUR; t += 30 * MIN) {
      const days = (t - T0) / (24 * HOUR)
      const creep = Math.min(days, 1) * 0.5
      const accel = t > accelFrom ? (1 / A) * Math.log((failAt - accelFrom) / (failAt - t)) : 0
      const d = creep + accel + rnd.gaussian(0.1)
      readings.push(at('yt-prism-p07', t, { dN: d * 0.6, dE: d * 0.8, dH: 0 }))
    }
    const { raised, book } = run(readings)
    expect(raised).toEqual(['yt-prism-p07 inverse-velocity red', 'yt-prism-p07 rate-day yellow', 'yt-prism-p07 rate-hour orange'])
    const iv = book.all().find((a) => a.rule === 'inverse-velocity')!
    expect(iv.message).toMatch(/^东帮边坡 P-07 加速变形，预测 [\d.]+ h 内失稳 \(Voight 模型中值 [\d.]+ h，区间 [\d.]+–[\d.]+ h\)，进入红色预警 \(< 24 h\)$/)
    expect(iv.evidence).toMatchObject({ reason: 'FORECAST', failureTs: expect.any(Number) })
    // red at least 12 h before the failure, and the failure inside the interval forecast then
    expect(failAt - iv.raisedAt).toBeGreaterThanOrEqual(12 * HOUR)
    expect(iv.evidence!.earliestTs as number).toBeLessThanOrEqual(failAt)
    expect(iv.evidence!.latestTs as number).toBeGreaterThanOrEqual(failAt)
  })

  it('network drop: devices that stop reporting raise 断线 on the clock, and clear when they are back', () => {
    const before = calm(1, 10 * MIN)
    const { events } = run(before, [T0 + 4 * HOUR])
    const offline = events.filter((e) => e.alert.class === 'offline' && e.type === 'raised').map((e) => e.alert.subject.id)
    // every yt device reports every 5–30 min in its site entry: 3 h of silence is 断线 for all of them; bt never reported
    expect(offline).toEqual(expect.arrayContaining(['yt-prism-p07', 'yt-rain-01', 'bt-power-01']))
    // P-07 reports again: its 断线 goes back to normal; the rain gauge, still silent, stays offline
    let n = 0
    const book = new AlertBook(() => `a${++n}`)
    const engine = new AlertEngine(engineDevices(site), book, T0, {}, engineItems(site))
    for (const r of before) engine.onReadings([r], r.ts)
    engine.tick(T0 + 4 * HOUR)
    const back = engine.onReadings([at('yt-prism-p07', T0 + 4 * HOUR + MIN, { dN: 0.1, dE: 0.1, dH: 0.1 })], T0 + 4 * HOUR + MIN)
    expect(back.filter((e) => e.alert.class === 'offline').map((e) => [e.type, e.alert.subject.id])).toEqual([['normal', 'yt-prism-p07']])
    const open = (id: string) => book.all().find((a) => a.class === 'offline' && a.subject.id === id)!
    expect(open('yt-prism-p07').normal).toBe(true)
    expect(open('yt-rain-01').normal).toBe(false)
  })
})
