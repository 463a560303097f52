import type { DeviceKind } from './contract/kinds.js'

export type MetricValue = number | boolean

/** A validated reading, as the rest of the platform sees it (README, "Layout"). */
export interface Reading {
  readonly mineId: string
  readonly deviceId: string
  readonly kind: DeviceKind
  /** Epoch milliseconds, from the device. */
  readonly ts: number
  readonly values: Readonly<Record<string, MetricValue>>
  readonly seq?: number
}
