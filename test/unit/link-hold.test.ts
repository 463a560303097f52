import { describe, expect, it } from 'vitest'
import { LinkHold } from '../../alerting/link-hold.js'
import { DEFAULT_LINK_LIMITS, linkPhase, type LinkPhase } from '../../alerting/links.js'
import type { Fired } from '../../alerting/runner.js'

const fired = (device: string, rule: string, to: 'yellow' | null): Fired => ({
  device,
  rule,
  event: { type: 'level', rule, from: to ? null : 'yellow', to, value: 3, unit: '个周期', ts: 0 },
  pointLevel: null,
})
const isSilence = (_d: string, rule: string) => rule === 'silence'

describe('silences behind a down link (regulator side)', () => {
  it('holds a silence while the link is down or catching up, drops it when the device is heard, books it once the link is up', () => {
    const hold = new LinkHold(isSilence)
    let phase: LinkPhase = 'down'
    const phaseOf = (d: string) => (d.startsWith('m1-') ? phase : undefined)
    // the link is down: both devices fall silent; a threshold warning and a device not behind a link pass
    const out = hold.filter([fired('m1-a', 'silence', 'yellow'), fired('m1-b', 'silence', 'yellow'), fired('m1-a', 'depth', 'yellow'), fired('x', 'silence', 'yellow')], phaseOf)
    expect(out.map((f) => `${f.device}/${f.rule}`)).toEqual(['m1-a/depth', 'x/silence'])
    expect(hold.size).toBe(2)
    phase = 'catching-up'
    expect(hold.release(phaseOf)).toEqual([])
    // the backlog brings m1-a's readings: heard from, its silence goes
    expect(hold.filter([fired('m1-a', 'silence', null)], phaseOf)).toHaveLength(1)
    expect(hold.size).toBe(1)
    // caught up: m1-b is silent on its own, and booked now
    phase = 'up'
    expect(hold.release(phaseOf).map((f) => f.device)).toEqual(['m1-b'])
    expect(hold.size).toBe(0)
    // with the link up, a silence is booked at once
    expect(hold.filter([fired('m1-a', 'silence', 'yellow')], phaseOf)).toHaveLength(1)
  })

  it('calls a link caught up a minute after it is back (or downAfter, if shorter) with its freshest readings less than a minute late', () => {
    const at = 1_800_000_000_000
    expect(linkPhase({ connected: false, since: at - 5_000, lagMs: undefined }, DEFAULT_LINK_LIMITS, at)).toBe('down')
    expect(linkPhase({ connected: true, since: at - 30_000, lagMs: 1_000 }, DEFAULT_LINK_LIMITS, at)).toBe('catching-up')
    expect(linkPhase({ connected: true, since: at - 30_000, lagMs: 1_000 }, { downAfterMs: 10_000, lagAfterMs: 600_000 }, at)).toBe('up')
    expect(linkPhase({ connected: true, since: at - 600_000, lagMs: 300_000 }, DEFAULT_LINK_LIMITS, at)).toBe('catching-up')
    expect(linkPhase({ connected: true, since: at - 600_000, lagMs: 2_000 }, DEFAULT_LINK_LIMITS, at)).toBe('up')
    expect(linkPhase({ connected: true, since: at - 600_000, lagMs: undefined }, DEFAULT_LINK_LIMITS, at)).toBe('up')
  })
})
