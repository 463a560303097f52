/**
 * The mine board (README, "The web screens"): devices grouped by kind, in the order of the device contract
 * (docs/device-contract.md), each with the metric its sparkline draws.
 */
export interface BoardDevice {
  readonly id: string
  readonly name: string
  readonly kind: string
  readonly kindLabel: string
  readonly state: 'online' | 'waiting' | 'stale' | 'offline'
}

const KIND_ORDER = ['prism', 'gnss', 'piezometer', 'reservoir', 'beach', 'rain', 'pump', 'power', 'video']

/**
 * What a device's sparkline draws: the quantity its warnings are mostly about. A slope's is its
 * total displacement from the components (a prism moving east showed a calm line of dN).
 */
export const SPARK_METRIC: Record<string, string | readonly string[]> = {
  prism: ['dN', 'dE', 'dH'],
  gnss: ['dN', 'dE', 'dU'],
  piezometer: 'depth',
  reservoir: 'level',
  beach: 'length',
  rain: 'rainfall',
  pump: 'flow',
  power: 'power',
  video: 'fps',
}

export function byKind<D extends BoardDevice>(devices: readonly D[]): { kind: string; label: string; devices: D[] }[] {
  const groups = new Map<string, D[]>()
  for (const d of devices) groups.set(d.kind, [...(groups.get(d.kind) ?? []), d])
  const rank = (k: string) => (KIND_ORDER.includes(k) ? KIND_ORDER.indexOf(k) : KIND_ORDER.length)
  return [...groups].sort((a, b) => rank(a[0]) - rank(b[0])).map(([kind, list]) => ({ kind, label: list[0]!.kindLabel, devices: list }))
}

export const STATE_NAME = { online: '在线', waiting: '等待首次数据', stale: '数据迟滞', offline: '离线' } as const

export function health(devices: readonly BoardDevice[]): Record<BoardDevice['state'], number> {
  const out = { online: 0, waiting: 0, stale: 0, offline: 0 }
  for (const d of devices) out[d.state]++
  return out
}
