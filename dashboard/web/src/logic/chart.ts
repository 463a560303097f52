/**
 * The value axis of a trend chart: the data and every threshold line on it, with a margin. A line
 * that falls off the axis is a threshold the dispatcher cannot see (a pond at 97 m whose red line
 * is 99.8 m), so the lines count as much as the data.
 */
export function valueRange(values: readonly number[], lines: readonly number[]): [number, number] | undefined {
  const all = [...values, ...lines].filter(Number.isFinite)
  if (all.length === 0) return undefined
  const lo = Math.min(...all)
  const hi = Math.max(...all)
  // 8% of the span each side; a flat series gets a little room around its value
  const pad = Math.max((hi - lo) * 0.08, Math.abs(hi) * 1e-3, 1e-3)
  return [lo - pad, hi + pad]
}

/** The length of a displacement from its components; undefined when one is missing. */
export function magnitude(values: Readonly<Record<string, unknown>>, components: readonly string[]): number | undefined {
  let sum = 0
  for (const c of components) {
    const v = values[c]
    if (typeof v !== 'number') return undefined
    sum += v * v
  }
  return Math.sqrt(sum)
}
