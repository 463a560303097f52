import { z } from 'zod'

/**
 * Warning levels, GB 39496-2020 §5.5.4: 蓝 blue (IV) < 黄 yellow (III) < 橙 orange (II) < 红 red (I).
 * Level logic shared by every rule that turns a number into a level (threshold, rate,
 * accumulation, inverse velocity): separate raise and clear conditions give hysteresis, and a
 * rise may have to persist (N readings, T seconds) before it counts, as in ThingsBoard's
 * duration alarms. A fall counts at once: the clear margin already keeps it from flapping.
 */
export const LEVELS = ['blue', 'yellow', 'orange', 'red'] as const
export type Level = (typeof LEVELS)[number]
export const RANK: Readonly<Record<Level, number>> = { blue: 1, yellow: 2, orange: 3, red: 4 }
export const LEVEL_NAME: Readonly<Record<Level, string>> = { blue: '蓝色', yellow: '黄色', orange: '橙色', red: '红色' }

export const rank = (level: Level | null): number => (level === null ? 0 : RANK[level])

export type Thresholds = Partial<Record<Level, number>>
export type Direction = 'above' | 'below'

export interface LevelSpec {
  readonly thresholds: Thresholds
  /** 'above': a level is reached at value ≥ its threshold; 'below': at value ≤ it (e.g. phreatic depth). */
  readonly direction: Direction
  /** A reached level is kept until the value is this far back past its threshold (same unit). */
  readonly clearMargin: number
  readonly persistence?: { readonly readings?: number | undefined; readonly seconds?: number | undefined } | undefined
  /**
   * Seconds the value must stay back past the clear limit before a level falls (docs/slope-warnings.md: a
   * warning clears only after its signal has stayed back for a while), so that a signal hovering
   * at a threshold, or a daily cycle crossing it every afternoon, does not ring again and again.
   */
  readonly clearAfter?: number | undefined
}

/** Serializable: the level in force and, per level, since when (and for how many readings) it has been reached. */
export interface LevelState {
  readonly level: Level | null
  readonly runs: Readonly<Partial<Record<Level, { readonly since: number; readonly count: number }>>>
  /** Since when the value has been back below the level in force (for `clearAfter`). */
  readonly backSince?: number
}

/**
 * The level spec of a rule whose direction is fixed by its kind (a rate is judged above, hours
 * left below), made once per rule object: building `{ ...rule, direction }` for every reading
 * cost the rule thread a new hidden class per call (track.ts, trackState).
 */
const SPECS: Record<Direction, WeakMap<object, LevelSpec>> = { above: new WeakMap(), below: new WeakMap() }
export function specOf(rule: Omit<LevelSpec, 'direction'>, direction: Direction): LevelSpec {
  let spec = SPECS[direction].get(rule)
  if (!spec) {
    spec = { thresholds: rule.thresholds, direction, clearMargin: rule.clearMargin, persistence: rule.persistence, clearAfter: rule.clearAfter }
    SPECS[direction].set(rule, spec)
  }
  return spec
}

export const NO_LEVEL: LevelState = { level: null, runs: {} }

/** One value at time `ts` moves the level state on. Pure. */
export function stepLevel(state: LevelState, value: number, ts: number, spec: LevelSpec): LevelState {
  const runs: Partial<Record<Level, { since: number; count: number }>> = {}
  let level: Level | null = null
  for (const l of LEVELS) {
    const t = spec.thresholds[l]
    if (t === undefined) continue
    const held = rank(l) <= rank(state.level)
    const limit = held ? (spec.direction === 'above' ? t - spec.clearMargin : t + spec.clearMargin) : t
    if (!(spec.direction === 'above' ? value >= limit : value <= limit)) continue
    const prev = state.runs[l]
    const run = prev ? { since: prev.since, count: prev.count + 1 } : { since: ts, count: 1 }
    runs[l] = run
    if (held || persisted(run, ts, spec.persistence)) level = l
  }
  // a fall waits until the value has stayed back for clearAfter; meanwhile the level stands
  if (spec.clearAfter && rank(level) < rank(state.level)) {
    const backSince = state.backSince ?? ts
    if (ts - backSince < spec.clearAfter * 1000) return { level: state.level, runs: { ...runs, ...keepRuns(state, level) }, backSince }
  }
  return { level, runs }
}

/** The runs of the levels still held while a fall waits out clearAfter. */
function keepRuns(state: LevelState, below: Level | null): LevelState['runs'] {
  const kept: Partial<Record<Level, { since: number; count: number }>> = {}
  for (const l of LEVELS) if (rank(l) > rank(below) && rank(l) <= rank(state.level) && state.runs[l]) kept[l] = state.runs[l]
  return kept
}

function persisted(run: { since: number; count: number }, ts: number, p: LevelSpec['persistence']): boolean {
  if (!p) return true
  return (p.readings === undefined || run.count >= p.readings) && (p.seconds === undefined || ts - run.since >= p.seconds * 1000)
}

/** The threshold that matters for a change: the new level's, or on a fall to nothing the old one's. */
export function thresholdOf(spec: LevelSpec, level: Level | null, previous: Level | null): number | undefined {
  return level !== null ? spec.thresholds[level] : previous !== null ? spec.thresholds[previous] : undefined
}

// ── configuration ────────────────────────────────────────────────────────────

export const thresholdsSchema = z
  .object({ blue: z.number().optional(), yellow: z.number().optional(), orange: z.number().optional(), red: z.number().optional() })
  .strict()
  .refine((t) => LEVELS.some((l) => t[l] !== undefined), { message: 'give at least one level (blue, yellow, orange, red)' })

/** Seconds a value must stay back before its level falls (see LevelSpec.clearAfter). */
export const clearAfterSchema = z.number().nonnegative()

export const persistenceSchema = z
  .object({
    readings: z.int().positive().optional(),
    seconds: z.number().positive().optional(),
  })
  .strict()
  .optional()

/** Thresholds must rise with the level in the rule's direction (red is the most extreme). */
export function monotone(t: Thresholds, direction: Direction): boolean {
  const given = LEVELS.map((l) => t[l]).filter((v): v is number => v !== undefined)
  return given.every((v, i) => i === 0 || (direction === 'above' ? v > given[i - 1]! : v < given[i - 1]!))
}
