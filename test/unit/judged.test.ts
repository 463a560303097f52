import { describe, expect, it } from 'vitest'
import { rulesFor } from '../../alerting/config.js'
import { RuleRunner, type EngineDevice } from '../../alerting/runner.js'
import { judgedViews } from '../../dashboard/judged.js'
import type { Reading } from '../../ingest/reading.js'

const H = 3_600_000
const device = (id: string, kind: EngineDevice['kind']): EngineDevice => ({
  id,
  name: id,
  kind,
  mineId: 'm',
  timeZone: 'Asia/Shanghai',
  intervalMs: 600_000,
  mineStatus: 'producing',
  rules: rulesFor(kind, {}, {}, []),
})

describe('what a board shows of a device: the quantities its rules judged', () => {
  it('gives a rain gauge’s 24-h sum and a prism’s displacement and rates as the rules last judged them, with their levels', () => {
    const rain = device('rain', 'rain')
    const prism = device('prism', 'prism')
    const runner = new RuleRunner([rain, prism], 0)
    const t0 = Date.parse('2026-11-01T00:00:00Z')
    const readings: Reading[] = []
    // 6 mm an hour for 10 hours: 60 mm, over the yellow 50 mm
    for (let i = 1; i <= 10; i++) readings.push({ mineId: 'm', deviceId: 'rain', kind: 'rain', ts: t0 + i * H, values: { rainfall: 6 } })
    // a prism moving east at 20 mm a day for two days, every 10 minutes, its north component still
    for (let i = 0; i <= 288; i++) readings.push({ mineId: 'm', deviceId: 'prism', kind: 'prism', ts: t0 + i * 600_000, values: { dN: 0.03, dE: (20 * i) / 144, dH: 0 } })
    readings.sort((a, b) => a.ts - b.ts)
    runner.onReadings(readings, t0)
    const judged = runner.judged(['rain', 'prism', 'unknown'])
    expect(Object.keys(judged)).toEqual(['rain', 'prism'])

    const rainViews = judgedViews('rain', rain.rules, judged.rain!, { rainfall: 6 })
    expect(rainViews).toEqual([{ rule: 'rain-24h', label: '24 h 累计降雨量', value: 60, unit: 'mm', level: 'yellow' }])

    const prismViews = judgedViews('prism', prism.rules, judged.prism!, { dN: 0.03, dE: 40, dH: 0 })
    // the displacement first, as the rate rules derive it (the components alone showed 0.03 mm north)
    expect(prismViews[0]).toMatchObject({ rule: 'displacement', unit: 'mm', level: null })
    expect(prismViews[0]!.value).toBeCloseTo(40, 1)
    const daily = prismViews.find((v) => v.unit === 'mm/d')!
    expect(daily.value).toBeGreaterThan(18)
    expect(daily.value).toBeLessThan(22)
    expect(daily.level).not.toBeNull()
  })

  it('says a rule has not judged yet rather than showing a number it never computed', () => {
    const prism = device('prism', 'prism')
    const runner = new RuleRunner([prism], 0)
    const views = judgedViews('prism', prism.rules, runner.judged(['prism']).prism!, undefined)
    expect(views.length).toBeGreaterThan(1)
    expect(views.every((v) => v.value === null)).toBe(true)
  })
})
