import { describe, expect, it } from 'vitest'
import { parseDuration } from '../../../simulators/duration.js'
import { between, sendTimes, simDevices } from '../../../simulators/plan.js'
import { loadScenario, scenarioSchema } from '../../../simulators/scenario.js'
import { World } from '../../../simulators/world.js'
import { demoSite } from '../../helpers/scenario-run.js'

const START = Date.parse('2026-11-20T00:00:00+08:00')
const devices = simDevices(demoSite())
const run = (seed: number, name = 'rainstorm', hours = 6) => {
  const world = new World(devices, loadScenario(name), seed, START)
  return between(world, devices, START, START + hours * 3_600_000)
}

describe('the simulated world', () => {
  it('is the same for the same seed, and differs for another', () => {
    expect(run(7)).toEqual(run(7))
    expect(run(7)).not.toEqual(run(8))
  })

  it('sends each device at its own interval, from a phase fixed by its id, in time order', () => {
    const msgs = run(7, 'normal', 1)
    expect(msgs.map((m) => m.t)).toEqual([...msgs.map((m) => m.t)].sort((a, b) => a - b))
    const rain = msgs.filter((m) => m.deviceId === 'yt-rain-01')
    expect(rain).toHaveLength(12) // every 5 min for an hour
    expect(rain[1]!.t - rain[0]!.t).toBe(300_000)
    expect(
      sendTimes(
        devices.find((d) => d.id === 'yt-rain-01')!,
        START,
        START + 3_600_000,
        START + 7_200_000,
      ),
    ).toHaveLength(12)
  })

  it('uploads what a dropped-out device kept as one backlog array when it is back (断电续传)', () => {
    const msgs = run(7, 'network-drop', 8).filter((m) => m.deviceId === 'yt-rain-01')
    const backlog = msgs.find((m) => m.readings > 1)!
    expect(backlog.t).toBeGreaterThanOrEqual(START + 6 * 3_600_000)
    expect(JSON.parse(backlog.payload)).toHaveLength(49) // 4 h at 5 min, and the reading of the moment
  })

  it('reads durations and refuses a bad scenario with its path', () => {
    expect([parseDuration('90s'), parseDuration('30m'), parseDuration('1.5h'), parseDuration('2d'), parseDuration('soon')]).toEqual([90_000, 1_800_000, 5_400_000, 172_800_000, undefined])
    const bad = scenarioSchema.safeParse({ name: 'x', title: 'x', duration: 'forever', effects: [{ type: 'rain', devices: [], from: '1h', mmPerHour: -1 }] })
    expect(bad.success).toBe(false)
    expect(bad.error!.issues.map((i) => i.path.join('.'))).toEqual(expect.arrayContaining(['duration', 'effects.0.devices', 'effects.0.mmPerHour']))
  })
})
