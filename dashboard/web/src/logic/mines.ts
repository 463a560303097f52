import { RANK, worst, type Level } from './levels.js'

/**
 * The regulators' map (README, "The web screens"): each connected mine coloured by its worst open warning, with
 * markers for a mine whose devices are offline, one declared suspended, and 明停暗开 (power drawn
 * while declared suspended: the powerDuringSuspension rule, README, "Warnings"). Computed from the live
 * warning book on the screen, so the map changes the moment a push arrives.
 */
export interface MapMine {
  readonly id: string
  readonly name: string
  readonly regionName: string
  readonly status: 'producing' | 'suspended'
  readonly location: { readonly lat: number; readonly lon: number }
  readonly devices: { readonly known: number; readonly connected: number }
  /** 上报预警: what the mine's own platform reported and has not resolved (a regulator's); the map's colour stays the regulator's own judgement. */
  readonly reported?: { readonly open: number; readonly overdue: number }
}

export interface MapAlert {
  readonly mineId: string
  readonly level: Level
  readonly state: string
  readonly overdue: boolean
  readonly class: 'warning' | 'offline' | 'quality'
  readonly ruleKind: string
}

export interface MineMark {
  readonly id: string
  readonly name: string
  readonly regionName: string
  readonly lon: number
  readonly lat: number
  readonly worst: Level | null
  readonly open: number
  readonly overdue: number
  readonly suspended: boolean
  readonly secretProduction: boolean
  /** Devices not connected, of those the site file lists. */
  readonly offline: number
  readonly known: number
  /** What the marker says, in words (tooltip and the list beside the map). */
  readonly flags: readonly string[]
}

export function mineMarks(mines: readonly MapMine[], alerts: Iterable<MapAlert>): MineMark[] {
  // the open warnings by mine, gathered once: a province's hundreds of mines each filtering the whole book was quadratic
  const byMine = new Map<string, MapAlert[]>()
  for (const a of alerts) if (a.state !== 'resolved') byMine.set(a.mineId, [...(byMine.get(a.mineId) ?? []), a])
  return mines
    .map((m) => {
      const mine = byMine.get(m.id) ?? []
      const offline = m.devices.known - m.devices.connected
      const secretProduction = mine.some((a) => a.ruleKind === 'powerDuringSuspension')
      const overdue = mine.filter((a) => a.overdue).length
      const flags = [
        ...(secretProduction ? ['明停暗开'] : []),
        ...(m.status === 'suspended' ? ['停产'] : []),
        ...(offline > 0 ? [`${offline} 台设备离线`] : []),
        ...(overdue > 0 ? [`${overdue} 条超期`] : []),
        ...(m.reported && m.reported.open > 0 ? [`矿山上报 ${m.reported.open} 条未处置${m.reported.overdue > 0 ? ` (${m.reported.overdue} 条超期)` : ''}`] : []),
      ]
      return {
        id: m.id,
        name: m.name,
        regionName: m.regionName,
        lon: m.location.lon,
        lat: m.location.lat,
        worst: worst(mine.filter((a) => a.class === 'warning').map((a) => a.level)),
        open: mine.length,
        overdue,
        suspended: m.status === 'suspended',
        secretProduction,
        offline,
        known: m.devices.known,
        flags,
      }
    })
    .sort((a, b) => (b.worst ? RANK[b.worst] : 0) - (a.worst ? RANK[a.worst] : 0) || b.overdue - a.overdue || a.name.localeCompare(b.name, 'zh-CN'))
}

/**
 * A province's hundreds of mines on one map (issue 14: "a view that stays usable with hundreds of
 * mines"): past this many, the calm mines are drawn small and the mines at risk the larger the
 * higher their level, and names that would overlap are hidden (ECharts keeps the labels of the
 * larger symbols), so that the red and orange mines and their names stand out.
 */
export const CROWDED = 60

export function markSize(m: Pick<MineMark, 'worst' | 'secretProduction'>, crowded: boolean): number {
  if (m.secretProduction) return 30
  if (!crowded) return 18
  return m.worst ? 10 + 2 * RANK[m.worst] : 8
}

/** The heat layer: each mine with an open warning, weighted by its worst level (蓝 1 … 红 4). */
export function heatPoints(marks: readonly Pick<MineMark, 'lon' | 'lat' | 'worst'>[]): [number, number, number][] {
  return marks.filter((m) => m.worst !== null).map((m) => [m.lon, m.lat, RANK[m.worst!]])
}

/**
 * Where to write each region's (city's) name on the map: at the centre of its mines. The map has
 * the provinces' outlines and names; the cities a regulator covers are named where their mines are
 * (no city outlines for every province ship with the platform, and none are fetched).
 */
export function regionLabels(marks: readonly Pick<MineMark, 'lon' | 'lat' | 'regionName'>[]): { name: string; lon: number; lat: number; mines: number }[] {
  const sums = new Map<string, { lon: number; lat: number; n: number }>()
  for (const m of marks) {
    const s = sums.get(m.regionName) ?? { lon: 0, lat: 0, n: 0 }
    sums.set(m.regionName, { lon: s.lon + m.lon, lat: s.lat + m.lat, n: s.n + 1 })
  }
  return [...sums].map(([name, s]) => ({ name, lon: s.lon / s.n, lat: s.lat / s.n, mines: s.n }))
}
