import type { Bucket, Point } from '../../ingest/store.js'

/**
 * Epoch-aligned buckets computed here for flags: InfluxQL's mean() does not take booleans, and
 * the Store contract gives the share of time a flag was true as its mean (ingest/store.ts).
 */
export function bucketize(points: readonly Point[], every: number, limit: number): Bucket[] {
  const out: Bucket[] = []
  for (const p of points) {
    const v = typeof p.value === 'boolean' ? (p.value ? 1 : 0) : p.value
    const ts = Math.floor(p.ts / every) * every
    let b = out.at(-1)
    if (!b || b.ts !== ts) {
      if (out.length === limit) break
      b = { ts, mean: 0, min: v, max: v, count: 0 }
      out.push(b)
    }
    const m = b as { -readonly [K in keyof Bucket]: Bucket[K] }
    m.mean = (m.mean * m.count + v) / (m.count + 1)
    m.min = Math.min(m.min, v)
    m.max = Math.max(m.max, v)
    m.count++
  }
  return out
}
