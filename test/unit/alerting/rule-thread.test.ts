import { afterAll, describe, expect, it } from 'vitest'
import { engineDevices } from '../../../alerting/config.js'
import { RuleThread } from '../../../alerting/rule-thread.js'
import { RuleRunner, type Fired } from '../../../alerting/runner.js'
import { decodeTelemetry } from '../../../ingest/decode.js'
import { joinArrays } from '../../../ingest/journal/join.js'
import { encodeRecord, HEADER_BYTES } from '../../../ingest/journal/record.js'
import type { Reading } from '../../../ingest/reading.js'
import { between, simDevices } from '../../../simulators/plan.js'
import { seeded } from '../../../simulators/random.js'
import { loadScenario } from '../../../simulators/scenario.js'
import { World } from '../../../simulators/world.js'
import { eventually } from '../../helpers/eventually.js'
import { LIMITS, demoSite } from '../../helpers/scenario-run.js'

/**
 * The rules on their own thread (issue 13) judge exactly as they do in the caller's thread: the same
 * level changes in the same order, the same state to snapshot, whatever batches the readings come in.
 */
const site = demoSite()
const HOUR = 3_600_000
const START = Date.parse('2026-11-20T09:00:00+08:00')

/** The last 48 hours of a scenario, decoded as the platform decodes them: [time received, readings]. */
function tail(name: string): [number, Reading[]][] {
  const scenario = loadScenario(name)
  const devices = simDevices(site)
  const world = new World(devices, scenario, 7, START)
  const kind = new Map(devices.map((d) => [d.id, d]))
  return between(world, devices, START + scenario.duration - 48 * HOUR, START + scenario.duration).map((m) => {
    const d = kind.get(m.deviceId)!
    return [m.t, decodeTelemetry(Buffer.from(m.payload), { mineId: d.mineId, deviceId: d.id, kind: d.kind }, m.t, LIMITS).readings]
  })
}

const threads: RuleThread[] = []
afterAll(() => Promise.all(threads.map((t) => t.stop())))

describe('the rule thread', () => {
  for (const name of ['slope-failure', 'sensor-faults', 'pump-failure']) {
    it(`fires what the rules fire in one thread, in order, on the ${name} scenario's last 48 h in random batches of journal records`, async () => {
      const messages = tail(name)
      const devices = engineDevices(site)
      const here = new RuleRunner(devices, START)
      const exited: Error[] = []
      const thread = await RuleThread.start(devices, START, {}, (err) => exited.push(err))
      threads.push(thread)
      const expected: Fired[] = []
      const asked: Promise<Fired[]>[] = []
      const random = seeded(11)
      for (let i = 0; i < messages.length;) {
        // batches of 1 to 50 messages, as the commits of a busy or a quiet minute would give them
        const batch = messages.slice(i, (i += 1 + Math.floor(random.next() * 50)))
        const readings = batch.flatMap(([, r]) => r)
        const now = batch.at(-1)![0]
        expected.push(...here.onReadings(readings, now))
        // as the platform sends them: each message's journal record as written, joined into one array
        asked.push(thread.json(joinArrays(batch.map(([, r]) => encodeRecord(r).subarray(HEADER_BYTES))), now))
        if (random.next() < 0.05) {
          expected.push(...here.tick(now))
          asked.push(thread.tick(now))
        }
      }
      const fired = (await Promise.all(asked)).flat()
      // the scenario must move some rule, or equality says nothing
      expect(expected.length).toBeGreaterThan(0)
      expect(fired).toEqual(expected)
      expect(await thread.snapshot()).toEqual(here.snapshot())
      const prism = devices.find((d) => d.kind === 'prism')!
      expect(await thread.peek(prism.id, prism.rules[0]!.id)).toEqual(here.peek(prism.id, prism.rules[0]!.id))
      expect(exited).toEqual([])
    }, 120_000)
  }

  it('tells of a thread that died, and refuses what is asked of it after rather than leave it hanging', async () => {
    const devices = engineDevices(site)
    const exited: Error[] = []
    const thread = await RuleThread.start(devices, START, {}, (err) => exited.push(err))
    // as if the thread crashed (out of memory, a native fault): its worker ends without being asked to
    await (thread as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate()
    await eventually(() => exited.length === 1)
    expect(exited[0]!.message).toMatch(/exited/)
    await expect(thread.snapshot()).rejects.toThrow(/stopped/)
  })

  it('starts from restored states and resets devices to their initial levels', async () => {
    const messages = tail('slope-failure')
    const devices = engineDevices(site)
    const here = new RuleRunner(devices, START)
    for (const [t, r] of messages) here.onReadings(r, t)
    const raised = Object.entries(here.pointLevels()).filter(([, l]) => l !== null)
    expect(raised.length).toBeGreaterThan(0)
    const thread = await RuleThread.start(devices, START, here.snapshot(), () => undefined)
    threads.push(thread)
    expect(thread.levels).toEqual(here.pointLevels())
    const after = await thread.reset(
      raised.map(([id]) => id),
      START,
    )
    for (const [id] of raised) expect(after[id]).toBeNull()
  })
})
