import { describe, expect, it } from 'vitest'
import { rulesFor } from '../../../alerting/config.js'
import { RuleRunner, type EngineDevice } from '../../../alerting/runner.js'
import { ruleSchema } from '../../../alerting/rules/index.js'
import type { Reading } from '../../../ingest/reading.js'

const H = 3_600_000
const device = (id: string, kind: EngineDevice['kind'], own: unknown[] = []): EngineDevice => ({
  id,
  name: id,
  kind,
  mineId: 'm',
  timeZone: 'Asia/Shanghai',
  intervalMs: 600_000,
  mineStatus: 'producing',
  rules: rulesFor(
    kind,
    {},
    {},
    own.map((r) => ruleSchema.parse(r)),
  ),
})

/**
 * Rules reconfigured while running (站点管理): a slope's days of readings are not thrown away
 * because a neighbour was added or its own unrelated rule changed; a rule whose definition
 * changed starts afresh; a retired device's rules go.
 */
describe('the rules reconfigured without a restart', () => {
  it('keeps the state of unchanged rules, starts changed ones afresh and drops retired devices', () => {
    const prism = device('prism', 'prism')
    const rain = device('rain', 'rain')
    const runner = new RuleRunner([prism, rain], 0)
    const t0 = Date.parse('2026-11-01T00:00:00Z')
    const readings: Reading[] = []
    for (let i = 0; i <= 288; i++) readings.push({ mineId: 'm', deviceId: 'prism', kind: 'prism', ts: t0 + i * 600_000, values: { dN: 0, dE: (20 * i) / 144, dH: 0 } })
    for (let i = 1; i <= 10; i++) readings.push({ mineId: 'm', deviceId: 'rain', kind: 'rain', ts: t0 + i * H, values: { rainfall: 6 } })
    readings.sort((a, b) => a.ts - b.ts)
    runner.onReadings(readings, t0 + 48 * H)
    const daily = runner.judged(['prism']).prism!['rate-day']!.value
    expect(daily).toBeGreaterThan(18)
    expect(runner.pointLevel('rain')).toBe('yellow')

    // a piezometer added, the rain gauge given its own 24-h thresholds
    const piezo = device('piezo', 'piezometer')
    const rain2 = device('rain', 'rain', [{ kind: 'accumulation', id: 'rain-24h', thresholds: { orange: 30 } }])
    runner.configure([prism, rain2, piezo], t0 + 48 * H)
    expect(runner.judged(['prism']).prism!['rate-day']!.value).toBe(daily)
    expect(runner.pointLevel('prism')).not.toBeNull()
    // the rain gauge's changed rule starts afresh: no sum judged yet, no level
    expect(runner.judged(['rain']).rain!['rain-24h']).toBeUndefined()
    expect(runner.pointLevel('rain')).toBeNull()
    expect(Object.keys(runner.pointLevels()).sort()).toEqual(['piezo', 'prism', 'rain'])

    // the prism retired: its rules are gone, its readings feed nothing
    runner.configure([rain2, piezo], t0 + 48 * H)
    expect(runner.judged(['prism'])).toEqual({})
    expect(runner.onReadings([{ mineId: 'm', deviceId: 'prism', kind: 'prism', ts: t0 + 49 * H, values: { dN: 0, dE: 500, dH: 0 } }], t0 + 49 * H)).toEqual([])
  })

  it('loads some devices’ rules from saved states, the others untouched (a mine taken over, cluster mode)', () => {
    const t0 = Date.parse('2026-11-01T00:00:00Z')
    const rainOf = (id: string) => ({ ...device(id, 'rain'), mineId: id })
    const first = new RuleRunner([rainOf('r1'), rainOf('r2')], t0)
    const wet = (id: string, i: number): Reading => ({ mineId: id, deviceId: id, kind: 'rain', ts: t0 + i * H, values: { rainfall: 6 } })
    for (let i = 1; i <= 10; i++) first.onReadings([wet('r1', i), wet('r2', i)], t0 + i * H)
    expect(first.pointLevels()).toEqual({ r1: 'yellow', r2: 'yellow' })

    const second = new RuleRunner([rainOf('r1'), rainOf('r2')], t0)
    second.onReadings([wet('r2', 1)], t0 + H)
    second.load(['r1'], first.snapshot(), t0 + 10 * H)
    expect(second.pointLevels()).toEqual({ r1: 'yellow', r2: null })
    expect(second.judged(['r1'])).toEqual(first.judged(['r1']))
    // nothing saved for a device: its rules start afresh
    second.load(['r2'], {}, t0 + 10 * H)
    expect(second.judged(['r2']).r2).toEqual({})
  })
})
