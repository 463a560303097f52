/** Durations in scenario files and on the command line: `90s`, `30m`, `6h`, `3d` (or ms as a number). */
const UNIT = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

export function parseDuration(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? text : undefined
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(text.trim())
  return m ? Number(m[1]) * UNIT[m[2] as keyof typeof UNIT] : undefined
}
