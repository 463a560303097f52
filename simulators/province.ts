import type { DeviceKind } from '../ingest/contract/kinds.js'
import type { MetricValue } from '../ingest/reading.js'
import { seeded, type Random } from './random.js'

/**
 * A generated province (issue 16 item 5; docs/benchmarks.md, "A province"): the mines of a
 * province's 16 cities, each with a mine platform reporting to the province's platform through
 * one uplink account (a gateway naming its mine), and devices of every kind in the proportions of
 * an open-pit mine with a tailings pond. Pure: the site as an object, and a device's readings.
 */
export interface ProvinceOptions {
  readonly mines: number
  readonly devicesPerMine: number
  /** Seconds between a device's readings (every device the same). */
  readonly interval: number
  readonly seed: number
}

/** The cities of 山东省, with where their mines lie (a box around each city). */
const CITIES: readonly { id: string; name: string; lat: number; lon: number }[] = [
  { id: 'sd-jinan', name: '济南市', lat: 36.65, lon: 117.0 },
  { id: 'sd-qingdao', name: '青岛市', lat: 36.3, lon: 120.2 },
  { id: 'sd-zibo', name: '淄博市', lat: 36.6, lon: 118.0 },
  { id: 'sd-zaozhuang', name: '枣庄市', lat: 34.9, lon: 117.4 },
  { id: 'sd-dongying', name: '东营市', lat: 37.4, lon: 118.6 },
  { id: 'sd-yantai', name: '烟台市', lat: 37.3, lon: 120.8 },
  { id: 'sd-weifang', name: '潍坊市', lat: 36.5, lon: 119.1 },
  { id: 'sd-jining', name: '济宁市', lat: 35.4, lon: 116.8 },
  { id: 'sd-taian', name: '泰安市', lat: 36.0, lon: 117.2 },
  { id: 'sd-weihai', name: '威海市', lat: 37.2, lon: 122.0 },
  { id: 'sd-rizhao', name: '日照市', lat: 35.5, lon: 119.3 },
  { id: 'sd-linyi', name: '临沂市', lat: 35.3, lon: 118.3 },
  { id: 'sd-dezhou', name: '德州市', lat: 37.3, lon: 116.4 },
  { id: 'sd-liaocheng', name: '聊城市', lat: 36.4, lon: 115.9 },
  { id: 'sd-binzhou', name: '滨州市', lat: 37.4, lon: 117.9 },
  { id: 'sd-heze', name: '菏泽市', lat: 35.2, lon: 115.6 },
]

/** Fifty devices of a mine, by kind: most are slope prisms; the rest watch the tailings pond, water, power and video. */
const MIX: readonly [DeviceKind, number][] = [
  ['prism', 20],
  ['gnss', 4],
  ['piezometer', 8],
  ['reservoir', 2],
  ['beach', 2],
  ['rain', 3],
  ['pump', 4],
  ['power', 3],
  ['video', 4],
]

const KIND_NAME: Record<DeviceKind, string> = {
  prism: '边坡棱镜',
  gnss: 'GNSS',
  piezometer: '浸润线',
  reservoir: '库水位',
  beach: '干滩',
  rain: '雨量',
  pump: '排水泵',
  power: '电表',
  video: '视频',
}

export interface ProvinceDevice {
  readonly id: string
  readonly mineId: string
  readonly kind: DeviceKind
}

export interface ProvinceMine {
  readonly id: string
  /** The mine platform's uplink account on the province's platform. */
  readonly account: string
  readonly devices: readonly ProvinceDevice[]
}

export const mineId = (i: number) => `p${String(i).padStart(4, '0')}`
export const accountOf = (mine: string) => `up-${mine}`

/** The kinds of a mine's devices, in the mix's proportions, for any count. */
function kindsFor(count: number): DeviceKind[] {
  const total = MIX.reduce((n, [, k]) => n + k, 0)
  const out: DeviceKind[] = []
  for (const [kind, share] of MIX) for (let i = 0; i < Math.round((share * count) / total); i++) out.push(kind)
  while (out.length < count) out.push('prism')
  return out.slice(0, count)
}

export function provinceMines(opts: ProvinceOptions): ProvinceMine[] {
  const kinds = kindsFor(opts.devicesPerMine)
  return Array.from({ length: opts.mines }, (_, i) => {
    const id = mineId(i)
    return { id, account: accountOf(id), devices: kinds.map((kind, j) => ({ id: `${id}-${kind}-${String(j).padStart(2, '0')}`, mineId: id, kind })) }
  })
}

/**
 * The province's site file as an object. `deviceHash`: one secret hash for every device (its
 * devices never connect here, their mine platforms do); `accountHash(account)`: each uplink
 * account's. A regulator of the whole province, `province-regulator`, signs in with `userHash`.
 */
export function provinceSite(opts: ProvinceOptions, hashes: { device: string; account: (account: string) => string; user: string }): object {
  const rnd = seeded(opts.seed)
  const random = () => rnd.next()
  const mines = provinceMines(opts)
  return {
    regions: CITIES.map((c) => ({ id: c.id, name: c.name })),
    mines: mines.map((m, i) => {
      const city = CITIES[i % CITIES.length]!
      const lat = round(city.lat + (random() - 0.5) * 0.6, 4)
      const lon = round(city.lon + (random() - 0.5) * 0.6, 4)
      return {
        id: m.id,
        name: `${city.name.replace('市', '')}第${Math.floor(i / CITIES.length) + 1}矿`,
        region: city.id,
        location: { lat, lon },
        timezone: 'Asia/Shanghai',
        status: 'producing',
        devices: m.devices.map((d, j) => ({
          id: d.id,
          kind: d.kind,
          name: `${KIND_NAME[d.kind]} ${j + 1}`,
          position: { lat: round(lat + (random() - 0.5) * 0.01, 5), lon: round(lon + (random() - 0.5) * 0.01, 5) },
          interval: opts.interval,
          secretHash: hashes.device,
        })),
      }
    }),
    serviceAccounts: [],
    gateways: mines.map((m) => ({ id: m.account, name: `${m.id} 矿山平台联网`, secretHash: hashes.account(m.account), mines: [m.id] })),
    users: [{ id: 'province-regulator', name: '省级监管员', role: 'regulator', passwordHash: hashes.user }],
  }
}

/**
 * A device's reading `n` (its n-th interval): steady values with instrument noise, as a mine at
 * rest sends them; no rule of the kind's defaults should fire on them.
 */
export function provinceValues(kind: DeviceKind, n: number, random: Random): Record<string, MetricValue> {
  const noise = (sd: number) => round(random.gaussian(sd), 2)
  switch (kind) {
    case 'prism':
      return { dN: noise(0.8), dE: noise(0.8), dH: noise(1.2) }
    case 'gnss':
      return { dN: noise(3), dE: noise(3), dU: noise(6), fix: 4, sats: 18 + Math.floor(random.next() * 6) }
    case 'piezometer':
      return { depth: round(8.5 + noise(0.02), 3) }
    case 'reservoir':
      return { level: round(152.3 + noise(0.01), 3) }
    case 'beach':
      return { length: round(120 + noise(0.2), 2), freeboard: round(2.4 + noise(0.01), 3) }
    case 'rain':
      return { rainfall: 0 }
    case 'pump':
      return { running: true, flow: round(118 + noise(2), 1), current: round(31 + noise(0.5), 1) }
    case 'power':
      return { voltage: round(398 + noise(2), 1), current: round(52 + noise(1), 1), power: round(28 + noise(0.5), 1), energy: round(10_000 + n * 0.47, 2) }
    case 'video':
      return { online: true, recording: true, fps: 25 }
  }
}

function round(x: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}
