/**
 * A seeded pseudo-random source (mulberry32), so that a simulator run or a synthetic test series
 * is the same every time for the same seed. Not for secrets.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number
  /** Normal with mean 0 and standard deviation `sd` (Box–Muller). */
  gaussian(sd?: number): number
}

export function seeded(seed: number): Random {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    gaussian(sd = 1) {
      const u = 1 - next()
      const v = next()
      return sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
    },
  }
}
