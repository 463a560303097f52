import type { MetricValue, Reading } from './reading.js'

/**
 * The storage port (README, "Storing in InfluxDB"). Adapters live in infra/: the embedded SQLite store and InfluxDB.
 * One contract test suite (test/contract/store.contract.ts) runs against every adapter.
 *
 * Semantics every adapter keeps:
 * - writes are idempotent on (device, ts): a resent reading replaces itself, field by field
 *   (what InfluxDB does for a point with the same series and time);
 * - ranges are half-open [from, to) in epoch ms, ascending;
 * - downsampling buckets are aligned to multiples of `every` since the epoch (as InfluxQL's
 *   GROUP BY time()), and only buckets holding data are returned;
 * - booleans come back as booleans from `range` and as 0..1 from bucket statistics
 *   (the mean of `running` is the share of time a pump ran).
 */
export interface RangeQuery {
  readonly deviceId: string
  readonly metric: string
  readonly from: number
  readonly to: number
  /** At most this many points, the earliest first. */
  readonly limit: number
}

export interface Point {
  readonly ts: number
  readonly value: MetricValue
}

export interface Bucket {
  /** Start of the bucket, epoch ms. */
  readonly ts: number
  readonly mean: number
  readonly min: number
  readonly max: number
  readonly count: number
}

export interface StoredReading {
  readonly ts: number
  readonly values: Readonly<Record<string, MetricValue>>
  readonly seq?: number
}

export interface StoreHealth {
  readonly ok: boolean
  readonly detail: string
}

export interface Store {
  /** 'sqlite' | 'influxdb': shown in health. */
  readonly kind: string
  write(readings: readonly Reading[]): Promise<void>
  range(query: RangeQuery): Promise<Point[]>
  downsample(query: RangeQuery & { readonly every: number }): Promise<Bucket[]>
  latest(deviceId: string): Promise<StoredReading | undefined>
  health(): Promise<StoreHealth>
  close(): Promise<void>
}
