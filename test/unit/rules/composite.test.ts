import { describe, expect, it } from 'vitest'
import { dataQualityRuleSchema, evaluateDataQuality, initialDataQuality } from '../../../alerting/rules/data-quality.js'
import { evaluatePowerDuringSuspension, inHours, initialPowerDuringSuspension, powerDuringSuspensionRuleSchema } from '../../../alerting/rules/power-during-suspension.js'
import { evaluatePumpFailure, initialPumpFailure, pumpFailureRuleSchema } from '../../../alerting/rules/pump-failure.js'
import type { Evaluate, RuleContext } from '../../../alerting/rules/types.js'
import { evaluateVideoOffline, initialVideoOffline, videoOfflineRuleSchema } from '../../../alerting/rules/video-offline.js'
import type { DeviceKind } from '../../../ingest/contract/kinds.js'
import type { Reading } from '../../../ingest/reading.js'

const T0 = Date.parse('2026-11-20T12:00:00+08:00')
const MIN = 60_000
const PRODUCING: RuleContext = { mineStatus: 'producing', timeZone: 'Asia/Shanghai' }
const SUSPENDED: RuleContext = { mineStatus: 'suspended', timeZone: 'Asia/Shanghai' }

const r = (deviceId: string, kind: DeviceKind, ts: number, values: Reading['values']): Reading => ({ mineId: 'm', deviceId, kind, ts, values })

function changes<C, S>(evaluate: Evaluate<C, S>, initial: S, rule: C, readings: Reading[], ctx = PRODUCING): string[] {
  let state = initial
  const out: string[] = []
  readings.forEach((reading, i) => {
    const res = evaluate(state, reading, rule, reading.ts, ctx)
    state = res.state
    for (const e of res.events) out.push(`${e.from ?? '-'}→${e.to ?? '-'}@${i}`)
  })
  return out
}

describe('pump failure', () => {
  const rule = pumpFailureRuleSchema.parse({ kind: 'pumpFailure', id: 'pump', watch: { device: 'sump', above: 99 } })
  const pump = (i: number, values: Reading['values']) => r('pump-1', 'pump', T0 + i * MIN, values)
  const sump = (i: number, level: number) => r('sump', 'reservoir', T0 + i * MIN, { level })

  it.each([
    ['a stopped pump while the water rises past the level', [pump(0, { running: false }), sump(1, 98), sump(2, 99.5)], ['-→orange@2']],
    ['a pump running with no flow counts as failed', [sump(0, 99.5), pump(1, { running: true, flow: 0.2 })], ['-→orange@1']],
    ['a running pump with flow is fine', [sump(0, 99.5), pump(1, { running: true, flow: 120 })], []],
    ['high water alone is not a pump failure', [sump(0, 99.5)], []],
    ['it clears when the pump runs again', [pump(0, { running: false }), sump(1, 99.5), pump(2, { running: true, flow: 80 })], ['-→orange@1', 'orange→-@2']],
    // the pump polled every minute, the gauge's reading of 10:02 arriving after the pump's 10:03: still the latest level
    ['a level read before the pump’s last reading still counts', [pump(0, { running: false }), pump(3, { running: false }), sump(2, 99.5)], ['-→orange@2']],
    ['a level older than the level already judged is late', [pump(0, { running: false }), sump(3, 98), sump(2, 99.5)], []],
  ])('%s', (_name, readings, expected) => {
    expect(changes(evaluatePumpFailure, initialPumpFailure(), rule, readings)).toEqual(expected)
  })
})

describe('power during suspension (明停暗开)', () => {
  const rule = powerDuringSuspensionRuleSchema.parse({ kind: 'powerDuringSuspension', id: 'p', baseline: 40 })
  // local times in Shanghai: 21:00, 21:10, 21:20 (night); 14:00 (day)
  const night = (i: number, power: number) => r('meter', 'power', Date.parse('2026-11-20T21:00:00+08:00') + i * 10 * MIN, { power })

  it('fires at night above 1.5 × baseline for 3 readings in a suspended mine', () => {
    expect(changes(evaluatePowerDuringSuspension, initialPowerDuringSuspension(), rule, [night(0, 150), night(1, 160), night(2, 155), night(3, 30)], SUSPENDED)).toEqual(['-→orange@2', 'orange→-@3'])
  })
  it('not in a producing mine, not under the limit, not by day', () => {
    expect(changes(evaluatePowerDuringSuspension, initialPowerDuringSuspension(), rule, [night(0, 150), night(1, 160), night(2, 155)], PRODUCING)).toEqual([])
    expect(changes(evaluatePowerDuringSuspension, initialPowerDuringSuspension(), rule, [night(0, 59), night(1, 59), night(2, 59)], SUSPENDED)).toEqual([])
    const day = [0, 1, 2].map((i) => r('meter', 'power', Date.parse('2026-11-20T14:00:00+08:00') + i * MIN, { power: 300 }))
    expect(changes(evaluatePowerDuringSuspension, initialPowerDuringSuspension(), rule, day, SUSPENDED)).toEqual([])
  })
  it.each([
    [21, true],
    [3, true],
    [6, false],
    [19, false],
  ])('the 20:00–06:00 window holds hour %i: %s', (hour, inside) => {
    expect(inHours(hour, { from: 20, to: 6 })).toBe(inside)
  })
})

describe('video offline (无视频不作业)', () => {
  const rule = videoOfflineRuleSchema.parse({ kind: 'videoOffline', id: 'v' })
  const cam = (i: number, values: Reading['values']) => r('cam', 'video', T0 + i * MIN, values)
  it('fires while a producing mine has a dark camera, and clears when it is back', () => {
    expect(
      changes(evaluateVideoOffline, initialVideoOffline(), rule, [cam(0, { online: true, fps: 25 }), cam(1, { online: false }), cam(2, { online: true, fps: 0 }), cam(3, { online: true, fps: 25 })]),
    ).toEqual(['-→yellow@1', 'yellow→-@3'])
  })
  it('not in a suspended mine', () => {
    expect(changes(evaluateVideoOffline, initialVideoOffline(), rule, [cam(0, { online: false })], SUSPENDED)).toEqual([])
  })
})

describe('data quality', () => {
  const rule = dataQualityRuleSchema.parse({ kind: 'dataQuality', id: 'q', source: { metric: 'depth' }, flatReadings: 5 })
  const depth = (values: number[]) => values.map((v, i) => r('z', 'piezometer', T0 + i * MIN, { depth: v }))
  it('flags a stuck sensor after N identical readings', () => {
    expect(changes(evaluateDataQuality, initialDataQuality(), rule, depth([6.1, 6.2, 6.3, 6.3, 6.3, 6.3, 6.3, 6.4]))).toEqual(['-→blue@6', 'blue→-@7'])
  })
  it('flags a spike by its robust z-score once the next reading comes back, and judges on against the good data', () => {
    const series = [6.0, 6.02, 5.98, 6.01, 5.99, 6.03, 5.97, 60, 6.0, 6.01]
    expect(changes(evaluateDataQuality, initialDataQuality(), rule, depth(series))).toEqual(['-→blue@8', 'blue→-@9'])
  })
  it('leaves alone a change of pace that goes on (a phreatic line starting to rise in a storm)', () => {
    const rising = [6.0, 6.013, 5.992, 6.004, 6.018, 5.989, 6.007, 5.996, 5.93, 5.84, 5.73, 5.6, 5.45, 5.3]
    expect(changes(evaluateDataQuality, initialDataQuality(), rule, depth(rising))).toEqual([])
  })
  it('leaves ordinary noise alone', () => {
    const noisy = [6.0, 6.05, 5.95, 6.02, 5.97, 6.04, 5.96, 6.01, 5.99, 6.03]
    expect(changes(evaluateDataQuality, initialDataQuality(), rule, depth(noisy))).toEqual([])
  })
})
