import type { Sample } from '../series.js'
import { velocities } from './least-squares.js'
import type { Point } from './track.js'

/**
 * Displacement along the direction of movement (docs/slope-warnings.md).
 *
 * The length of a displacement vector, √(dN² + dE² + dH²), is a poor series to fit a trend to
 * while the slope has moved little: it folds the noise and the daily cycle of each component
 * into a positive curve that starts flat and then rises, which is what acceleration looks like.
 * A projection is linear, so noise stays noise and the cycle stays a cycle. The direction is the
 * window's own velocity vector (each component's least-squares slope, daily cycle fitted out when
 * the window spans most of a day), so movement in any direction counts in full.
 */
export function alongMovement(points: readonly Point[]): { samples: Sample[]; direction: number[] } {
  const dims = (points[0]?.length ?? 1) - 1
  const span = points.length > 1 ? points.at(-1)![0]! - points[0]![0]! : 0
  const cycle = span >= 18 * 3_600_000 && points.length >= 12
  const v = velocities(points, dims, cycle)
  const length = Math.hypot(...v.map((x) => (Number.isFinite(x) ? x : 0)))
  const direction = length > 0 ? v.map((x) => (Number.isFinite(x) ? x : 0) / length) : v.map((_, k) => (k === 0 ? 1 : 0))
  const samples = points.map((p): Sample => {
    let d = 0
    for (let k = 0; k < dims; k++) d += p[k + 1]! * direction[k]!
    return [p[0]!, d]
  })
  return { samples, direction }
}
