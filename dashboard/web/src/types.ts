import type { AlertPush } from '../../live-events.js'

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
  readonly alerts: { readonly unresolved: number; readonly worst: string | null; readonly overdue: number; readonly offline: number; readonly secretProduction: number }
  readonly devices: { readonly known: number; readonly connected: number }
}

export interface JudgedView {
  readonly rule: string
  readonly label: string
  readonly value: number | null
  readonly unit: string
  readonly level: 'blue' | 'yellow' | 'orange' | 'red' | null
  readonly failureTs?: number | null
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

type Levels = Readonly<Record<'blue' | 'yellow' | 'orange' | 'red', number>>

/** GET /api/overview (dashboard/overview.ts): the regulators' 大屏 in figures. */
export interface OverviewView {
  readonly at: number
  readonly date: string
  readonly timeZone: string
  readonly mines: { readonly total: number; readonly connected: number }
  readonly devices: { readonly total: number; readonly online: number; readonly rate: number | null }
  readonly today: { readonly raised: number; readonly byLevel: Levels; readonly resolvedSameDay: number; readonly handledRate: number | null; readonly open: number }
  readonly overdue: number
  readonly days: readonly { readonly date: string; readonly byLevel: Levels }[]
  readonly ranking: readonly {
    readonly id: string
    readonly name: string
    readonly regionName: string
    readonly worst: 'blue' | 'yellow' | 'orange' | 'red' | null
    readonly open: number
    readonly overdue: number
    readonly offline: number
  }[]
  readonly recent: readonly {
    readonly alertId: string
    readonly mineId: string
    readonly mineName: string
    readonly subject: string
    readonly level: 'blue' | 'yellow' | 'orange' | 'red'
    readonly raisedAt: number
    readonly message: string
  }[]
}
