import type { JudgedView } from '../../judged.js'
import type { AlertPush } from '../../live-events.js'

/** What a device's rules last judged, as the board shows it (dashboard/judged.ts). */
export type { JudgedView }

/** What the API answers (dashboard/routes/*.ts; the OpenAPI document at /docs). */
export type AlertView = AlertPush['alert']

export interface Me {
  readonly id: string
  readonly name: string
  readonly role: 'dispatcher' | 'director' | 'regulator' | 'admin'
  readonly mines: readonly string[]
}

export interface MineView {
  readonly id: string
  readonly name: string
  readonly region: string
  readonly regionName: string
  readonly status: 'producing' | 'suspended'
  readonly location: { readonly lat: number; readonly lon: number }
  readonly timeZone: string
  /** The site plan drawing (at /api/mines/:id/plan) and the devices' places on it, fractions from its top left; null: none. */
  readonly plan: { readonly width: number; readonly height: number; readonly image: string; readonly positions: Readonly<Record<string, { readonly x: number; readonly y: number }>> } | null
  readonly alerts: { readonly unresolved: number; readonly worst: string | null; readonly overdue: number; readonly offline: number; readonly secretProduction: number }
  readonly devices: { readonly known: number; readonly connected: number }
  /** 上报预警: what the mine's own platform reported and has not resolved (zeros where none reports). */
  readonly reported: { readonly open: number; readonly worst: string | null; readonly overdue: number }
}

export interface MetricView {
  readonly name: string
  readonly label: string
  readonly unit: string
  readonly type: string
}

export interface DeviceView {
  readonly id: string
  readonly name: string
  readonly kind: string
  readonly kindLabel: string
  readonly metrics: readonly MetricView[]
  readonly interval: number
  readonly position: { readonly lat: number; readonly lon: number; readonly elevation?: number }
  state: 'online' | 'waiting' | 'stale' | 'offline'
  /** What the device's rules judge, as they last judged it (dashboard/judged.ts). */
  judged: readonly JudgedView[]
  connected: boolean
  last: { ts: number; time: string; values: Record<string, number | boolean> } | null
}

export interface TrendView {
  readonly alert: AlertView
  readonly from: number
  readonly to: number
  readonly trend: {
    readonly label: string
    readonly unit: string
    readonly lines: readonly { readonly level: 'blue' | 'yellow' | 'orange' | 'red'; readonly value: number }[]
    readonly legend: string
    readonly forecast: {
      readonly failureTs: number
      readonly hoursLeft: number
      readonly safeHoursLeft: number
      readonly earliestTs: number | null
      readonly latestTs: number | null
      readonly alpha: number | null
      readonly madeAt: number | null
    } | null
    readonly status: { readonly reason: string; readonly why: string; readonly madeAt: number } | null
    /** [made at, failure, failure with the α margin, earliest, latest], oldest first. */
    readonly history: readonly (readonly [number, number, number, number, number])[]
  } | null
  readonly points: readonly [number, number][]
}

/** GET /api/overview: the regulators' 大屏 in figures (dashboard/overview.ts). */
export type { Overview as OverviewView } from '../../overview.js'
