import { z } from 'zod'
import { LEVELS, rank, type Level } from './levels.js'

/**
 * Item-level escalation of GB 39496-2020 §5.5.4: among the points of one monitoring item (e.g.
 * every piezometer of a dam), 4 points at blue or above make the item yellow, 3 at yellow or above
 * make it orange, 2 at orange or above make it red. The counts are configurable: a site may
 * read the clause, or its provincial rules, differently.
 */
export const itemSchema = z.strictObject({
  id: z.string().min(1),
  name: z.string().min(1),
  devices: z.array(z.string().min(1)).min(2, { error: 'an item groups at least two points' }),
  escalation: z
    .strictObject({ blueToYellow: z.int().min(2).default(4), yellowToOrange: z.int().min(2).default(3), orangeToRed: z.int().min(2).default(2) })
    .default({ blueToYellow: 4, yellowToOrange: 3, orangeToRed: 2 }),
})
export type Item = z.infer<typeof itemSchema>

export interface ItemVerdict {
  /** The item's level when the count of its points raises it above every single point; else null. */
  readonly level: Level | null
  /** How many points stand at each level or above. */
  readonly counts: Readonly<Record<Level, number>>
}

export function aggregate(points: readonly (Level | null)[], esc: Item['escalation']): ItemVerdict {
  const counts = Object.fromEntries(LEVELS.map((l) => [l, points.filter((p) => rank(p) >= rank(l)).length])) as Record<Level, number>
  const highest = points.reduce<Level | null>((a, p) => (rank(p) > rank(a) ? p : a), null)
  let level: Level | null = null
  if (counts.blue >= esc.blueToYellow) level = 'yellow'
  if (counts.yellow >= esc.yellowToOrange) level = 'orange'
  if (counts.orange >= esc.orangeToRed) level = 'red'
  // only an escalation is news: a single red point is already a red warning of its own
  return { level: rank(level) > rank(highest) ? level : null, counts }
}
