import { slope, type Sample } from '../series.js'

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
 * Pure; the state is plain data so that rule snapshots survive a restart.
 */
export interface TrackParams {
  /** mm: a jump smaller than this is never called a step (5 mm: the smallest re-set worth a look). */
  readonly minStep: number
  /** A jump must also exceed this many times the reading's noise σ (estimated from the track). */
  readonly stepSigmas: number
  /** Readings at the new level before a step is confirmed (the first included). */
  readonly confirm: number
}

export interface TrackState {
  /** Bridged samples, oldest first. */
  readonly samples: readonly Sample[]
  /** mm added to every raw reading (minus the sum of the confirmed steps). */
  readonly offset: number
  /** Readings held as possibly off the track, with the offset already applied. */
  readonly pending: readonly Sample[]
}

export const EMPTY_TRACK: TrackState = { samples: [], offset: 0, pending: [] }

export interface StepFound {
  readonly ts: number
  /** mm, the level shift bridged (raw reading minus the track's prediction). */
  readonly size: number
  /** The tolerance it exceeded, mm. */
  readonly tolerance: number
}

export interface TrackResult {
  readonly state: TrackState
  /** The samples that joined the track with this reading (none while it is held). */
  readonly added: readonly Sample[]
  readonly step?: StepFound
  /** Held readings dropped as outliers. */
  readonly outliers: number
}

/** Readings the prediction line is fitted to, and the span of steps judged for the noise estimate. */
const LOCAL = 12
const NOISE = 48
/** 1.4826 · MAD estimates σ for normal data; successive differences carry √2 · σ. */
const MAD_TO_SIGMA = 1.4826

export function noiseSigma(samples: readonly Sample[]): number {
  const from = Math.max(1, samples.length - NOISE)
  const diffs: number[] = []
  for (let i = from; i < samples.length; i++) diffs.push(samples[i]![1] - samples[i - 1]![1])
  if (diffs.length < 4) return Number.NaN
  const med = median(diffs)
  return (MAD_TO_SIGMA * median(diffs.map((d) => Math.abs(d - med)))) / Math.SQRT2
}

/** Line through the last LOCAL samples: value and slope (per ms) at time t. */
function predict(samples: readonly Sample[], t: number): { value: number; slope: number } {
  const from = Math.max(0, samples.length - LOCAL)
  let mt = 0
  let mv = 0
  for (let i = from; i < samples.length; i++) {
    mt += samples[i]![0]
    mv += samples[i]![1]
  }
  mt /= samples.length - from
  mv /= samples.length - from
  const m = slope(samples, from)
  const perMs = Number.isFinite(m) ? m : 0
  return { value: mv + perMs * (t - mt), slope: perMs }
}

/**
 * Feeds one raw reading. `keep` trims the bridged samples (the caller's window); the caller must
 * give readings in time order.
 */
export function feedTrack(state: TrackState, ts: number, raw: number, params: TrackParams, keep: (samples: Sample[], added: Sample) => Sample[]): TrackResult {
  const y = raw + state.offset
  const samples = state.samples
  const push = (list: readonly Sample[], add: readonly Sample[]): Sample[] => {
    let out = [...list]
    for (const s of add) out = keep(out, s)
    return out
  }
  // too little track to judge by: take the reading as it is
  if (samples.length < 6) return { state: { ...state, samples: push(samples, [[ts, y]]), pending: [] }, added: [[ts, y]], outliers: 0 }
  const sigma = noiseSigma(samples)
  const p = predict(samples, ts)
  const gap = ts - samples.at(-1)![0]
  // the prediction grows uncertain over a gap: half the recent movement over it is allowed for
  const tolerance = Math.max(params.minStep, params.stepSigmas * (Number.isFinite(sigma) ? sigma : 0)) + 0.5 * Math.abs(p.slope) * gap
  const residual = y - p.value
  if (Math.abs(residual) <= tolerance) {
    // back on the track: whatever was held was off it
    return { state: { ...state, samples: push(samples, [[ts, y]]), pending: [] }, added: [[ts, y]], outliers: state.pending.length }
  }
  // off the track: held until the next readings tell a step from an outlier
  const residuals = state.pending.map(([t, v]) => v - predict(samples, t).value)
  let pending: Sample[] = [...state.pending, [ts, y]]
  let outliers = 0
  // held readings that disagree with the newest one (a burst of scattered readings) are outliers
  const agree = residuals.map((r) => Math.abs(r - residual) <= Math.max(params.minStep, params.stepSigmas * sigma) * 0.5)
  if (agree.some((a) => !a)) {
    outliers = pending.length - 1
    pending = [[ts, y]]
  }
  if (pending.length < params.confirm) return { state: { ...state, pending }, added: [], outliers }
  const sizes = pending.map(([t, v]) => v - predict(samples, t).value)
  const size = median(sizes)
  const bridged: Sample[] = pending.map(([t, v]) => [t, v - size])
  return {
    state: { samples: push(samples, bridged), offset: state.offset - size, pending: [] },
    added: bridged,
    step: { ts: pending[0]![0], size, tolerance },
    outliers,
  }
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
