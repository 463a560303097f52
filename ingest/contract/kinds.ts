/**
 * Device kinds and their metrics: the device contract of docs/device-contract.md (normative).
 * Units are part of the contract; the platform never converts them.
 */

export type MetricType = 'number' | 'integer' | 'boolean'

export interface MetricSpec {
  readonly type: MetricType
  /** SI unit shown beside the value ('' for flags and counts). */
  readonly unit: string
  readonly label: string
  /** Physically impossible below this (e.g. negative rainfall). */
  readonly min?: number
}

export interface KindSpec {
  readonly label: string
  readonly metrics: Readonly<Record<string, MetricSpec>>
}

const mm = (label: string): MetricSpec => ({ type: 'number', unit: 'mm', label })

export const KINDS = {
  prism: {
    label: '边坡表面位移(测量机器人棱镜)',
    metrics: { dN: mm('北向位移'), dE: mm('东向位移'), dH: mm('高程位移') },
  },
  gnss: {
    label: '边坡 GNSS',
    metrics: {
      dN: mm('北向位移'),
      dE: mm('东向位移'),
      dU: mm('垂向位移'),
      fix: { type: 'integer', unit: '', label: '解算状态', min: 0 },
      sats: { type: 'integer', unit: '', label: '卫星数', min: 0 },
    },
  },
  piezometer: {
    // phreatic burial depth: smaller is worse; negative means water above ground, so no minimum
    label: '浸润线',
    metrics: { depth: { type: 'number', unit: 'm', label: '浸润线埋深' } },
  },
  reservoir: {
    label: '库水位',
    metrics: { level: { type: 'number', unit: 'm', label: '库水位高程' } },
  },
  beach: {
    label: '干滩',
    metrics: {
      length: { type: 'number', unit: 'm', label: '干滩长度', min: 0 },
      freeboard: { type: 'number', unit: 'm', label: '安全超高' },
    },
  },
  rain: {
    label: '降雨量',
    metrics: { rainfall: { type: 'number', unit: 'mm', label: '降雨量(自上次读数)', min: 0 } },
  },
  pump: {
    label: '排水泵',
    metrics: {
      running: { type: 'boolean', unit: '', label: '运行' },
      flow: { type: 'number', unit: 'm³/h', label: '流量', min: 0 },
      current: { type: 'number', unit: 'A', label: '电流', min: 0 },
    },
  },
  power: {
    label: '供电 / 用电量',
    metrics: {
      voltage: { type: 'number', unit: 'V', label: '电压', min: 0 },
      current: { type: 'number', unit: 'A', label: '电流', min: 0 },
      // signed: a site with generation may export power
      power: { type: 'number', unit: 'kW', label: '有功功率' },
      energy: { type: 'number', unit: 'kWh', label: '累计电量', min: 0 },
    },
  },
  video: {
    label: '视频',
    metrics: {
      online: { type: 'boolean', unit: '', label: '在线' },
      recording: { type: 'boolean', unit: '', label: '录像' },
      fps: { type: 'number', unit: 'fps', label: '帧率', min: 0 },
    },
  },
} as const satisfies Record<string, KindSpec>

export type DeviceKind = keyof typeof KINDS

export const DEVICE_KINDS = Object.keys(KINDS) as DeviceKind[]

export function metricSpec(kind: DeviceKind, metric: string): MetricSpec | undefined {
  const metrics: Readonly<Record<string, MetricSpec>> = KINDS[kind].metrics
  return Object.hasOwn(metrics, metric) ? metrics[metric] : undefined
}

export function metricNames(kind: DeviceKind): string[] {
  return Object.keys(KINDS[kind].metrics)
}
