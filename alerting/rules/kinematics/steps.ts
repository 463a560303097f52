import { z } from 'zod'
import type { Sample } from '../series.js'
import { EMPTY_TRACK, feedTrack, type Point, type TrackParams, type TrackResult, type TrackState } from './track.js'

/**
 * How a slope rule bridges steps and leaves out outliers (track.ts), configured per rule. The
 * defaults suit prisms and GNSS in mm: a jump of at least 5 mm and 6 σ, confirmed by 3 readings.
 */
export const stepsSchema = z
  .object({
    minStep: z.number().positive().default(5),
    sigmas: z.number().positive().default(6),
    confirm: z.int().min(2).default(3),
  })
  .strict()
export type StepsConfig = z.infer<typeof stepsSchema>

export const trackParams = (s: StepsConfig): TrackParams => ({ minStep: s.minStep, stepSigmas: s.sigmas, confirm: s.confirm })

export { EMPTY_TRACK, type Point, type TrackState }

/**
 * One reading into a rule's track: bridged when `steps` is configured, taken as it is otherwise.
 * `keep` trims the window.
 */
export function feed(track: TrackState, ts: number, value: number, steps: StepsConfig | undefined, keep: (samples: Sample[], added: Sample) => Sample[]): TrackResult
export function feed<P extends Point>(track: TrackState<P>, ts: number, value: readonly number[], steps: StepsConfig | undefined, keep: (samples: P[], added: P) => P[]): TrackResult<P>
export function feed<P extends Point>(track: TrackState<P>, ts: number, value: number | readonly number[], steps: StepsConfig | undefined, keep: (samples: P[], added: P) => P[]): TrackResult<P> {
  if (!steps) {
    const point = [ts, ...(typeof value === 'number' ? [value] : value)] as unknown as P
    const samples = keep([...track.samples], point)
    return { state: { samples, offset: track.offset, pending: track.pending }, added: [point], outliers: 0 }
  }
  return feedTrack(track, ts, value, trackParams(steps), keep)
}
