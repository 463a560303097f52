import type { World, Message, SimDevice } from './world.js'

/**
 * When each device speaks: every `intervalMs`, from a phase fixed by its id so that devices do not
 * all talk at once. `between` gives every message with a send time in [from, to), in time order;
 * a runner asks window after window.
 */
function phaseOf(device: SimDevice): number {
  let h = 0
  for (let i = 0; i < device.id.length; i++) h = (h * 31 + device.id.charCodeAt(i)) >>> 0
  return h % device.intervalMs
}

export function sendTimes(device: SimDevice, start: number, from: number, to: number): number[] {
  const first = start + phaseOf(device)
  const k0 = Math.max(0, Math.ceil((from - first) / device.intervalMs))
  const out: number[] = []
  for (let t = first + k0 * device.intervalMs; t < to; t += device.intervalMs) out.push(t)
  return out
}

export function between(world: World, devices: readonly SimDevice[], from: number, to: number): Message[] {
  const due = devices.flatMap((d) => sendTimes(d, world.start, from, to).map((t) => ({ d, t })))
  due.sort((a, b) => a.t - b.t || (a.d.id < b.d.id ? -1 : 1))
  return due.flatMap(({ d, t }) => world.emit(d.id, t))
}

/** The simulated devices of a site (as the platform's site file describes them). */
export function simDevices(site: {
  readonly mines: readonly {
    readonly id: string
    readonly timezone: string
    readonly status: 'producing' | 'suspended'
    readonly devices: readonly { readonly id: string; readonly kind: SimDevice['kind']; readonly interval: number }[]
  }[]
}): SimDevice[] {
  return site.mines.flatMap((m) => m.devices.map((d) => ({ id: d.id, kind: d.kind, mineId: m.id, intervalMs: d.interval * 1000, mineStatus: m.status, timeZone: m.timezone })))
}
