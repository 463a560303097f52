import { z } from 'zod'
import { KINDS } from '../../ingest/contract/kinds.js'
import type { Reading } from '../../ingest/reading.js'
import { NO_LEVEL, stepLevel, thresholdOf, type LevelSpec, type LevelState } from './levels.js'
import type { LevelEvent } from './types.js'

/**
 * What a rule reads from a reading: one metric, or a displacement derived from the components
 * of a prism or GNSS reading (horizontal = √(dN² + dE²); total, the 3-D one = √(dN² + dE² + dH²),
 * with dU for GNSS).
 */
export const sourceSchema = z.union([z.object({ metric: z.string().min(1) }).strict(), z.object({ derived: z.enum(['horizontal', 'total']) }).strict()])
export type Source = z.infer<typeof sourceSchema>

export function valueOf(reading: Reading, source: Source): number | undefined {
  const v = reading.values
  if ('metric' in source) {
    const x = v[source.metric]
    return typeof x === 'number' ? x : undefined
  }
  const n = v.dN
  const e = v.dE
  if (typeof n !== 'number' || typeof e !== 'number') return undefined
  if (source.derived === 'horizontal') return Math.hypot(n, e)
  const up = v.dH ?? v.dU
  return typeof up === 'number' ? Math.hypot(n, e, up) : undefined
}

/**
 * The components a source is made of: [dN, dE] for horizontal, [dN, dE, dH or dU] for total, the
 * metric alone otherwise. Rules that judge the direction of movement (the failure forecast, steps)
 * work on these rather than on the length, which near zero displacement folds noise and the daily
 * cycle into a curve that looks like acceleration.
 */
export function componentsOf(reading: Reading, source: Source): number[] | undefined {
  const v = reading.values
  if ('metric' in source) {
    const x = v[source.metric]
    return typeof x === 'number' ? [x] : undefined
  }
  const n = v.dN
  const e = v.dE
  if (typeof n !== 'number' || typeof e !== 'number') return undefined
  if (source.derived === 'horizontal') return [n, e]
  const up = v.dH ?? v.dU
  return typeof up === 'number' ? [n, e, up] : undefined
}

export function unitOf(reading: Reading, source: Source): string {
  if ('derived' in source) return 'mm'
  return (KINDS[reading.kind].metrics as Record<string, { unit: string }>)[source.metric]?.unit ?? ''
}

export const sourceName = (source: Source): string => ('metric' in source ? source.metric : source.derived)

/** [ts, value] pairs: the window of a trend rule, kept as plain numbers so state stays serializable. */
export type Sample = readonly [ts: number, value: number]

/**
 * Appends a sample and drops those older than the window (and beyond `max`, the oldest first).
 * Samples closer than `minSpacingMs` to the last one replace it, so a window holds at most about
 * window / spacing samples however densely a device reports (a 3-day backlog at one reading a
 * second costs no more to judge than one at one a minute).
 */
export function pushWindow<P extends readonly number[] = Sample>(samples: readonly P[], sample: P, windowMs: number, max = 1000, minSpacingMs = 0): P[] {
  const from = sample[0]! - windowMs
  // samples are in time order: find the first one still inside the window, copy from there
  let first = Math.max(0, samples.length + 1 - max)
  while (first < samples.length && samples[first]![0]! <= from) first++
  const kept = samples.slice(first)
  const last = kept.at(-1)
  const prev = kept.at(-2)
  // the newest reading of a short stretch stands for it; the stretch starts at the sample before
  if (last && prev && sample[0]! - prev[0]! < minSpacingMs) kept[kept.length - 1] = sample
  else kept.push(sample)
  return kept
}

/** Samples a trend window keeps at most, whatever the reporting interval. */
export const WINDOW_SAMPLES = 240

/** A rule whose value turns into a level: the level state plus the time of the last reading used. */
export interface LevelRuleState {
  readonly level: LevelState
  /** Readings at or before this time are late: they are stored, but do not rewrite the present. */
  readonly lastTs: number
  /**
   * The value the rule last judged, in its unit (a reading, a window's sum, a signed rate): what a
   * board shows beside the level, so that it shows what the rule judged. Absent until it has judged one.
   */
  readonly judged?: number | undefined
}

export const INITIAL_LEVEL_RULE: LevelRuleState = { level: NO_LEVEL, lastTs: 0 }

/** Steps the level and says when it changed. */
export function judge(level: LevelState, value: number, ts: number, spec: LevelSpec, rule: string, unit: string, evidence?: Record<string, unknown>): { level: LevelState; events: LevelEvent[] } {
  const next = stepLevel(level, value, ts, spec)
  if (next.level === level.level) return { level: next, events: [] }
  return {
    level: next,
    events: [{ type: 'level', rule, from: level.level, to: next.level, value, threshold: thresholdOf(spec, next.level, level.level), unit, ts, evidence }],
  }
}

/**
 * Least-squares slope of samples[from..to) in value units per ms, in one pass and without
 * allocating: it runs on every reading for every trend rule. Times are taken relative to the
 * first sample so the sums stay well conditioned.
 */
export function slope(samples: readonly Sample[], from = 0, to = samples.length): number {
  const n = to - from
  if (n < 2) return NaN
  const t0 = samples[from]![0]
  let st = 0
  let sv = 0
  for (let i = from; i < to; i++) {
    st += samples[i]![0] - t0
    sv += samples[i]![1]
  }
  const mt = st / n
  const mv = sv / n
  let num = 0
  let den = 0
  for (let i = from; i < to; i++) {
    const dt = samples[i]![0] - t0 - mt
    num += dt * (samples[i]![1] - mv)
    den += dt * dt
  }
  return den === 0 ? NaN : num / den
}
