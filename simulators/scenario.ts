import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { REPO_ROOT } from '../ingest/repo-root.js'
import { parseDuration } from './duration.js'

/**
 * A scenario: what happens to which devices, in simulated time from the start, and the warnings it
 * must cause (its manifest). One YAML file each in simulators/scenarios/, validated here.
 */
const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v)
  if (ms === undefined) ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration such as 90s, 30m, 6h or 3d` })
  return ms ?? 0
})
const window = { devices: z.array(z.string().min(1)).min(1), from: duration, to: duration.optional() }

export const effectSchema = z.discriminatedUnion('type', [
  /** Rain at the gauges; the pond level, dry beach and phreatic line of their mine respond with lags. */
  z.strictObject({ type: z.literal('rain'), ...window, mmPerHour: z.number().positive() }),
  /** A slope's accelerating (tertiary) stage, α = 2, from `from` to failure at `to`; velocity v0 mm/d at the start. */
  z.strictObject({ type: z.literal('acceleration'), ...window, to: duration, v0: z.number().positive().default(10) }),
  /** Steady creep, mm/d. */
  z.strictObject({ type: z.literal('creep'), ...window, mmPerDay: z.number() }),
  z.strictObject({ type: z.literal('pumpStop'), ...window }),
  /** Power drawn in a (suspended) mine at night, kW. */
  z.strictObject({ type: z.literal('nightPower'), ...window, kw: z.number().positive() }),
  /** Everything at the mine loses power: meters to zero, pumps stop, cameras go dark. */
  z.strictObject({ type: z.literal('powerOutage'), ...window }),
  z.strictObject({ type: z.literal('cameraOffline'), ...window }),
  /** Sensor faults. */
  z.strictObject({ type: z.literal('stuck'), ...window }),
  z.strictObject({ type: z.literal('spike'), ...window, size: z.number().default(50) }),
  z.strictObject({ type: z.literal('garbage'), ...window }),
  z.strictObject({ type: z.literal('clockSkew'), ...window, by: duration }),
  /** The device is offline: it keeps its readings and uploads them as one backlog array when it is back (断电续传). */
  z.strictObject({ type: z.literal('dropout'), ...window, backlog: z.boolean().default(true) }),
])
export type Effect = z.infer<typeof effectSchema>

export const scenarioSchema = z.strictObject({
  name: z.string().min(1),
  title: z.string().min(1),
  description: z.string().default(''),
  duration: duration,
  effects: z.array(effectSchema).default([]),
  /** The warnings the scenario must cause, and at least at this level. */
  expect: z.array(z.strictObject({ device: z.string().min(1), rule: z.string().min(1), level: z.enum(['blue', 'yellow', 'orange', 'red']) })).default([]),
  /** Rules that may fire besides those expected; anything else at orange or red is a failure of the scenario. */
  tolerate: z.array(z.string()).default(['silence']),
})
export type Scenario = z.infer<typeof scenarioSchema>

export const SCENARIO_DIR = join(REPO_ROOT, 'simulators/scenarios')

export function scenarioNames(): string[] {
  return readdirSync(SCENARIO_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -5))
    .sort()
}

export function loadScenario(name: string): Scenario {
  const file = join(SCENARIO_DIR, `${name}.yaml`)
  let raw: unknown
  try {
    raw = parseYaml(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new Error(`scenario "${name}": ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? `no such scenario; there are ${scenarioNames().join(', ')}` : (err as Error).message}`)
  }
  const parsed = scenarioSchema.safeParse(raw)
  if (!parsed.success) throw new Error(`scenario "${name}": ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
  return parsed.data
}

/** A scenario's default speed: a run of about three minutes, never slower than a simulated minute a second. */
export const defaultSpeed = (durationMs: number): number => Math.max(60, Math.round(durationMs / 180_000))
