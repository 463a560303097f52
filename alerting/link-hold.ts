import type { LinkPhase } from './links.js'
import type { Fired } from './runner.js'

/**
 * A regulator's silence (断线) warnings of devices behind a mine platform's link that is down:
 * held, not booked (docs/uplink.md, "The links judged"). With the link down every device behind
 * it falls silent at once, and a seat flooded with 50 断线 warnings a mine says less than the one
 * 联网中断 warning that names the cause. A held silence is dropped when the device is heard from
 * (its backlog arrives); one still silent once the link is back and caught up is booked then, as
 * the device's own fault. Pure: the links' phases are asked of `phaseOf`.
 */
export class LinkHold {
  private readonly held = new Map<string, Fired>()

  constructor(private readonly isSilence: (device: string, rule: string) => boolean) {}

  /** The events to book now: `fired` without the silences of devices behind a link not up. */
  filter(fired: readonly Fired[], phaseOf: (device: string) => LinkPhase | undefined): Fired[] {
    if (fired.length === 0) return []
    const out: Fired[] = []
    for (const f of fired) {
      if (!this.isSilence(f.device, f.rule)) {
        out.push(f)
        continue
      }
      const key = `${f.device}\u0000${f.rule}`
      const phase = phaseOf(f.device)
      if (f.event.to === null) {
        // heard from: nothing held any more; an earlier warning goes back to normal as usual
        this.held.delete(key)
        out.push(f)
      } else if (phase === 'down' || phase === 'catching-up') this.held.set(key, f)
      else out.push(f)
    }
    return out
  }

  /** Held silences whose link is up and caught up: the devices are silent on their own. */
  release(phaseOf: (device: string) => LinkPhase | undefined): Fired[] {
    const out: Fired[] = []
    for (const [key, f] of this.held) {
      const phase = phaseOf(f.device)
      if (phase === 'down' || phase === 'catching-up') continue
      this.held.delete(key)
      out.push(f)
    }
    return out
  }

  get size(): number {
    return this.held.size
  }

  /** The held silences of these devices (cluster mode: saved with their mine's rule state, for the next owner). */
  heldOf(devices: ReadonlySet<string>): Fired[] {
    return [...this.held.values()].filter((f) => devices.has(f.device))
  }

  /** Held silences taken over (cluster mode: a mine's, as its last owner saved them). */
  restore(fired: readonly Fired[]): void {
    for (const f of fired) this.held.set(`${f.device}\u0000${f.rule}`, f)
  }

  /** Lets go of these devices' held silences (their mine went to another node). */
  forget(devices: ReadonlySet<string>): void {
    for (const [key, f] of this.held) if (devices.has(f.device)) this.held.delete(key)
  }
}
