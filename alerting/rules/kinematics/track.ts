import type { Sample } from '../series.js'

/**
 * A displacement track with its steps bridged and its outliers left out (docs/slope-warnings.md).
 *
 * A robotic total station's prism jumps when the instrument is re-set or re-targeted, and a single
 * reading sometimes lands far off (a person in the line of sight, a wrong target). Neither is
 * movement: a step is a data-quality event a person judges (a re-set, or a real slip), and a
 * velocity rule must bridge it, or one 15 mm re-set reads as 360 mm/d for an hour.
 *
 * So each reading is compared with where the recent track predicts it (a line through the last
 * readings). A reading further off than `tolerance` is held, not used. If the readings after it
 * come back, it was an outlier and is dropped. If `confirm` readings in a row sit at the new level
 * (consistent with one another), it is a step: its size is added to an offset that every later
 * reading carries, so the track stays continuous and the movement after the step is still seen.
 *
 * A point is [ts, x₁, …, x_k]: one value (a rate rule's displacement) or the components of a prism
 * or GNSS reading, whose step is a vector (a re-set moves north, east and height at once, and a
 * step across the direction of movement barely changes the length of the displacement).
 *
 * Pure; the state is plain data so that rule snapshots survive a restart.
 */
export type Point = readonly number[]

export interface TrackParams {
  /** mm: a jump smaller than this is never called a step (5 mm: the smallest re-set worth a look). */
  readonly minStep: number
  /** A jump must also exceed this many times the reading's noise σ (estimated from the track). */
  readonly stepSigmas: number
  /** Readings at the new level before a step is confirmed (the first included). */
  readonly confirm: number
}

export interface TrackState<P extends Point = Sample> {
  /** Bridged points, oldest first. */
  readonly samples: readonly P[]
  /** Added to every raw reading, per component (minus the sum of the confirmed steps). */
  readonly offset: readonly number[]
  /** Readings held as possibly off the track, with the offset already applied. */
  readonly pending: readonly P[]
}

export const EMPTY_TRACK: TrackState<never> = { samples: [], offset: [], pending: [] }

/**
 * Rule states are built as literals with their fields always in this order, never by spreading
 * one into another: V8 turns `{ ...base, samples }` on these hot paths into a fresh hidden class
 * per call (a quarter of the rule thread's time went to making and migrating them, docs/benchmarks.md).
 */
const trackState = <P extends Point>(samples: readonly P[], offset: readonly number[], pending: readonly P[]): TrackState<P> => ({ samples, offset, pending })
const NONE: readonly never[] = []

export interface StepFound {
  readonly ts: number
  /** mm, the length of the level shift bridged (raw reading minus the track's prediction), signed for one value. */
  readonly size: number
  /** Per component, mm. */
  readonly components: readonly number[]
  /** The tolerance it exceeded, mm. */
  readonly tolerance: number
}

export interface TrackResult<P extends Point = Sample> {
  readonly state: TrackState<P>
  /** The points that joined the track with this reading (none while it is held). */
  readonly added: readonly P[]
  readonly step?: StepFound
  /** Held readings dropped as outliers. */
  readonly outliers: number
}

/** Readings the prediction line is fitted to, and the span of steps judged for the noise estimate. */
const LOCAL = 12
const NOISE = 48
/** Readings a new track is started from (held, then taken together, outliers left out). */
const WARM_UP = 5
/** 1.4826 · MAD estimates σ for normal data; successive differences carry √2 · σ. */
const MAD_TO_SIGMA = 1.4826

/** Noise σ of component `k` (1 = the first value) from the last successive differences, robustly. */
export function noiseSigma(samples: readonly Point[], k = 1): number {
  const from = Math.max(1, samples.length - NOISE)
  const n = samples.length - from
  if (n < 4) return Number.NaN
  // typed arrays sort numerically without a comparator: the same median for a fraction of the
  // cost (this runs for every component of every reading of every slope rule)
  const diffs = new Float64Array(n)
  for (let i = from; i < samples.length; i++) diffs[i - from] = samples[i]![k]! - samples[i - 1]![k]!
  const med = sortedMedian(diffs.sort())
  for (let i = 0; i < n; i++) diffs[i] = Math.abs(diffs[i]! - med)
  return (MAD_TO_SIGMA * sortedMedian(diffs.sort())) / Math.SQRT2
}

/** Line through the last LOCAL samples of component k: value and slope (per ms) at time t (series.ts `slope`, inlined). */
function predict(samples: readonly Point[], k: number, t: number): { value: number; slope: number } {
  const from = Math.max(0, samples.length - LOCAL)
  const n = samples.length - from
  let mt = 0
  let mv = 0
  for (let i = from; i < samples.length; i++) {
    mt += samples[i]![0]!
    mv += samples[i]![k]!
  }
  mt /= n
  mv /= n
  // the same arithmetic as `slope`: times taken from the first one, in the same order
  let perMs = 0
  if (n >= 2) {
    const t0 = samples[from]![0]!
    let st = 0
    for (let i = from; i < samples.length; i++) st += samples[i]![0]! - t0
    const ms = st / n
    let num = 0
    let den = 0
    for (let i = from; i < samples.length; i++) {
      const dt = samples[i]![0]! - t0 - ms
      num += dt * (samples[i]![k]! - mv)
      den += dt * dt
    }
    const m = den === 0 ? Number.NaN : num / den
    perMs = Number.isFinite(m) ? m : 0
  }
  return { value: mv + perMs * (t - mt), slope: perMs }
}

const residualOf = (samples: readonly Point[], p: Point): number[] => p.slice(1).map((v, j) => v - predict(samples, j + 1, p[0]!).value)
const norm = (xs: readonly number[]): number => Math.sqrt(xs.reduce((s, x) => s + x * x, 0))

/**
 * Feeds one raw reading (a value, or the components). `keep` trims the bridged samples (the
 * caller's window); the caller must give readings in time order.
 */
export function feedTrack<P extends Point = Sample>(state: TrackState<P>, ts: number, raw: number | readonly number[], params: TrackParams, keep: (samples: P[], added: P) => P[]): TrackResult<P> {
  const values = typeof raw === 'number' ? [raw] : raw
  // snapshots written before the track carried vectors hold a number
  const offset: readonly number[] = typeof state.offset === 'number' ? [state.offset] : state.offset
  const point = [ts, ...values.map((v, j) => v + (offset[j] ?? 0))] as unknown as P
  const samples = state.samples
  // `keep` returns a new array (pushWindow copies what it keeps), so the list is not copied first
  const push = (list: readonly P[], add: readonly P[]): P[] => {
    let out = list as P[]
    for (const s of add) out = keep(out, s)
    return out === list ? [...list] : out
  }
  // no track yet: the first readings are held until there are enough to tell an outlier among
  // them (a first reading 20 mm off read as a step, and as 8 mm/h, on a prism that never moved)
  if (samples.length === 0) {
    const pending = [...state.pending, point]
    if (pending.length < WARM_UP) return { state: trackState(samples, offset, pending), added: NONE, outliers: 0 }
    const start = pending.filter((p) => p.length === point.length)
    const centre = Array.from({ length: values.length }, (_, j) => median(start.map((p) => p[j + 1]!)))
    const sigma = Math.sqrt(centre.reduce((sum, c, j) => sum + (MAD_TO_SIGMA * median(start.map((p) => Math.abs(p[j + 1]! - c)))) ** 2, 0))
    const limit = Math.max(params.minStep, params.stepSigmas * sigma)
    const good = start.filter((p) => norm(p.slice(1).map((v, j) => v - centre[j]!)) <= limit)
    return { state: trackState(push(samples, good), offset, NONE), added: good, outliers: pending.length - good.length }
  }
  // too little track to judge by, or a change of dimension: take the reading as it is
  if (samples.length < 6 || samples.at(-1)!.length !== point.length) return { state: trackState(push(samples, [point]), offset, NONE), added: [point], outliers: 0 }
  const dims = values.length
  let variance = 0
  let drift = 0
  // the prediction at the new reading's time gives both the drift and the reading's residual
  const residual: number[] = new Array(dims)
  for (let k = 1; k <= dims; k++) {
    const s = noiseSigma(samples, k)
    variance += Number.isFinite(s) ? s * s : 0
    const at = predict(samples, k, ts)
    drift += at.slope ** 2
    residual[k - 1] = point[k]! - at.value
  }
  const sigma = Math.sqrt(variance)
  const gap = ts - samples.at(-1)![0]!
  // the prediction grows uncertain over a gap: half the recent movement over it is allowed for
  const stepTolerance = Math.max(params.minStep, params.stepSigmas * sigma)
  const tolerance = stepTolerance + 0.5 * Math.sqrt(drift) * gap
  if (norm(residual) <= tolerance) {
    // back on the track: whatever was held was off it
    return { state: trackState(push(samples, [point]), offset, NONE), added: [point], outliers: state.pending.length }
  }
  // off the track: held until the next readings tell a step from an outlier
  const held = state.pending.map((p) => residualOf(samples, p))
  let pending: P[] = [...state.pending, point]
  let outliers = 0
  // held readings that disagree with the newest one (a burst of scattered readings) are outliers
  if (held.some((r) => norm(r.map((x, j) => x - residual[j]!)) > stepTolerance * 0.5)) {
    outliers = pending.length - 1
    pending = [point]
  }
  if (pending.length < params.confirm) return { state: trackState(samples, offset, pending), added: NONE, outliers }
  const sizes = pending.map((p) => residualOf(samples, p))
  const size = Array.from({ length: dims }, (_, j) => median(sizes.map((r) => r[j]!)))
  const bridged = pending.map((p) => [p[0]!, ...size.map((s, j) => p[j + 1]! - s)] as unknown as P)
  return {
    state: trackState(
      push(samples, bridged),
      size.map((s, j) => (offset[j] ?? 0) - s),
      NONE,
    ),
    added: bridged,
    step: { ts: pending[0]![0]!, size: dims === 1 ? size[0]! : norm(size), components: size, tolerance },
    outliers,
  }
}

export function median(xs: readonly number[]): number {
  return sortedMedian(Float64Array.from(xs).sort())
}

function sortedMedian(s: Float64Array): number {
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
