import type { Sample } from '../series.js'

/**
 * Small linear least squares for the slope rules: a few columns, a few hundred rows, solved by the
 * normal equations (Gaussian elimination with partial pivoting). Times are in days relative to the
 * newest sample so the sums stay well conditioned.
 */
const DAY = 86_400_000
/** The daily thermal and refraction cycle of a total station or a GNSS antenna (docs/slope-warnings.md). */
export const OMEGA = 2 * Math.PI

/** Solves A·x = b in place for a small dense system; undefined when singular. */
export function solve(a: number[][], b: number[]): number[] | undefined {
  const n = b.length
  for (let c = 0; c < n; c++) {
    let p = c
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[p]![c]!)) p = r
    if (!(Math.abs(a[p]![c]!) > 1e-12)) return undefined
    ;[a[c], a[p]] = [a[p]!, a[c]!]
    ;[b[c], b[p]] = [b[p]!, b[c]!]
    for (let r = c + 1; r < n; r++) {
      const f = a[r]![c]! / a[c]![c]!
      for (let k = c; k < n; k++) a[r]![k]! -= f * a[c]![k]!
      b[r]! -= f * b[c]!
    }
  }
  const x = new Array<number>(n).fill(0)
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r]!
    for (let k = r + 1; k < n; k++) s -= a[r]![k]! * x[k]!
    x[r] = s / a[r]![r]!
  }
  return x
}

/** Fits y ≈ Σ coef·column over rows; returns the coefficients and the residual sum of squares. */
export function fitColumns(rows: readonly (readonly number[])[], y: readonly number[]): { coef: number[]; sse: number } | undefined {
  const m = rows[0]?.length ?? 0
  if (rows.length <= m) return undefined
  const ata = Array.from({ length: m }, () => new Array<number>(m).fill(0))
  const aty = new Array<number>(m).fill(0)
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!
    for (let j = 0; j < m; j++) {
      aty[j]! += r[j]! * y[i]!
      for (let k = j; k < m; k++) ata[j]![k]! += r[j]! * r[k]!
    }
  }
  for (let j = 0; j < m; j++) for (let k = 0; k < j; k++) ata[j]![k] = ata[k]![j]!
  const coef = solve(ata, aty)
  if (!coef) return undefined
  let sse = 0
  for (let i = 0; i < rows.length; i++) {
    let f = 0
    for (let j = 0; j < m; j++) f += rows[i]![j]! * coef[j]!
    sse += (y[i]! - f) ** 2
  }
  return { coef, sse }
}

/** Times in days before the newest sample (≤ 0), and the daily cycle's columns at absolute time. */
export function daysBefore(samples: readonly Sample[]): number[] {
  const t0 = samples.at(-1)![0]
  return samples.map(([t]) => (t - t0) / DAY)
}

export const cycleColumns = (ts: number): [number, number] => [Math.cos((OMEGA * ts) / DAY), Math.sin((OMEGA * ts) / DAY)]

/**
 * Velocity (units per day) over samples: the least-squares slope, with the daily cycle fitted
 * alongside (harmonic regression) when `cycle` is set, so that a ±1.5 mm thermal swing does not
 * read as ±3 mm/d. The cycle is the solar day and its first overtone: a thermal day is not a sine
 * (the afternoon peak is sharp, the night flat), and the fundamental alone leaves enough of it to
 * move a day's slope by 1–2 mm/d (an 8 mm/d creep then rang yellow up to four times a month; with
 * the overtone once in six device-months). A cycle can only be told from a trend over about a
 * day or more of readings.
 */
export function velocity(samples: readonly Sample[], cycle: boolean): number {
  if (samples.length < (cycle ? 8 : 2)) return Number.NaN
  const x = daysBefore(samples)
  const rows = samples.map(([t], i) => {
    if (!cycle) return [1, x[i]!]
    const [c, s] = cycleColumns(t)
    return [1, x[i]!, c, s, c * c - s * s, 2 * s * c]
  })
  const fit = fitColumns(
    rows,
    samples.map(([, v]) => v),
  )
  return fit ? fit.coef[1]! : Number.NaN
}

/**
 * Means of consecutive samples in bins of `binMs` (time and value), oldest first: a fit of a
 * trend over days loses nothing to 40-minute means and costs a fraction of one over every reading.
 */
export function binMeans(samples: readonly Sample[], binMs: number): Sample[] {
  const out: Sample[] = []
  let start = Number.NaN
  let st = 0
  let sv = 0
  let n = 0
  for (const [t, v] of samples) {
    if (n > 0 && t - start >= binMs) {
      out.push([st / n, sv / n])
      n = st = sv = 0
    }
    if (n === 0) start = t
    st += t
    sv += v
    n++
  }
  if (n > 0) out.push([st / n, sv / n])
  return out
}

/**
 * `velocity` of each component of `points` ([t, x₁, x₂, …]) at once. The components share their
 * times, so the design rows and their normal matrix are built once and solved for each component:
 * the same arithmetic as one `velocity` per component, hence the same figures, for a third of the
 * cost on a prism (the direction of movement was 44% of the slope rules' time at 10-minute
 * readings; docs/benchmarks.md).
 */
export function velocities(points: readonly (readonly number[])[], dims: number, cycle: boolean): number[] {
  const none = () => Array.from({ length: dims }, () => Number.NaN)
  if (points.length < (cycle ? 8 : 2)) return none()
  const t0 = points.at(-1)![0]!
  const rows = points.map((p) => {
    const x = (p[0]! - t0) / DAY
    if (!cycle) return [1, x]
    const [c, s] = cycleColumns(p[0]!)
    return [1, x, c, s, c * c - s * s, 2 * s * c]
  })
  const m = rows[0]!.length
  if (rows.length <= m) return none()
  const ata = Array.from({ length: m }, () => new Array<number>(m).fill(0))
  const atys = Array.from({ length: dims }, () => new Array<number>(m).fill(0))
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!
    const p = points[i]!
    for (let j = 0; j < m; j++) {
      for (let d = 0; d < dims; d++) atys[d]![j]! += r[j]! * p[d + 1]!
      for (let k = j; k < m; k++) ata[j]![k]! += r[j]! * r[k]!
    }
  }
  for (let j = 0; j < m; j++) for (let k = 0; k < j; k++) ata[j]![k] = ata[k]![j]!
  // solve() works in place: each component gets its own copy of the normal matrix
  return atys.map(
    (aty) =>
      solve(
        ata.map((row) => [...row]),
        aty,
      )?.[1] ?? Number.NaN,
  )
}
