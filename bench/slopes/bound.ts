/**
 * The best any method could do: the Cramér–Rao bound on the failure time of a Voight series at a
 * given lead, from the readings' times and the instrument's noise. Pure.
 *
 * The model is the one the series was made with, d(t) = a + v0·t_f·(u^(1−p) − 1)/(p − 1) with
 * u = 1 − t/t_f and p = 1/(α − 1), plus the daily cycle the forecast fits (a sine, its overtone and
 * a drift of its size). α is unknown, as it is on a real slope. The bound is for white noise of σ
 * along the movement and a cycle the model fits exactly: real readings (a cycle that changes from
 * day to day, outliers) carry less, so no forecast can have a smaller spread than this.
 */
const DAY = 86_400_000

function displacement(th: readonly number[], x: number): number {
  const [a, v0, tf, alpha, c1, s1, c2, s2, xc, xs] = th as [number, number, number, number, number, number, number, number, number, number]
  const p = 1 / (alpha - 1)
  const u = 1 - x / tf
  const d = p === 1 ? -v0 * tf * Math.log(u) : (v0 * tf * (u ** (1 - p) - 1)) / (p - 1)
  const w = 2 * Math.PI * x
  return a + d + c1 * Math.cos(w) + s1 * Math.sin(w) + c2 * Math.cos(2 * w) + s2 * Math.sin(2 * w) + x * (xc * Math.cos(w) + xs * Math.sin(w))
}

function inverse(m: readonly (readonly number[])[]): number[][] | undefined {
  const n = m.length
  const a = m.map((r, i) => [...r, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))])
  for (let i = 0; i < n; i++) {
    let p = i
    for (let r = i + 1; r < n; r++) if (Math.abs(a[r]![i]!) > Math.abs(a[p]![i]!)) p = r
    ;[a[i], a[p]] = [a[p]!, a[i]!]
    const d = a[i]![i]!
    if (!(Math.abs(d) > 0)) return undefined
    for (let j = 0; j < 2 * n; j++) a[i]![j]! /= d
    for (let r = 0; r < n; r++) {
      if (r === i) continue
      const f = a[r]![i]!
      for (let j = 0; j < 2 * n; j++) a[r]![j]! -= f * a[i]![j]!
    }
  }
  return a.map((r) => r.slice(n))
}

/**
 * Standard deviation (hours) of the failure time that the readings at `times` (ms, before the
 * lead) allow at best, for a series that starts at `start` with velocity v0 (mm/d) and fails at
 * `failAt` with exponent α; σ mm per reading along the movement. Only the last `windowDays` count.
 */
export function failureTimeBound(o: { times: readonly number[]; start: number; failAt: number; alpha: number; v0: number; sigma: number; windowDays: number }): number {
  const theta = [0, o.v0, (o.failAt - o.start) / DAY, o.alpha, 1, 0.5, 0.2, 0.1, 0, 0]
  const last = o.times.at(-1) ?? o.start
  const xs = o.times.filter((t) => t > last - o.windowDays * DAY).map((t) => (t - o.start) / DAY)
  const rows = xs.map((x) =>
    theta.map((_, k) => {
      const h = Math.max(1e-6, Math.abs(theta[k]!) * 1e-5)
      const up = [...theta]
      const down = [...theta]
      up[k]! += h
      down[k]! -= h
      return (displacement(up, x) - displacement(down, x)) / (2 * h)
    }),
  )
  const fisher = theta.map((_, i) => theta.map((_, j) => rows.reduce((s, r) => s + r[i]! * r[j]!, 0) / o.sigma ** 2))
  const cov = inverse(fisher)
  return cov ? Math.sqrt(cov[2]![2]!) * 24 : Number.POSITIVE_INFINITY
}
