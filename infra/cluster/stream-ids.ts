/** Redis stream ids (`<ms>-<seq>`): compared as numbers, not as text ("10-0" comes after "9-0"). */

/** Whether id `a` comes after id `b`. */
export function afterId(a: string, b: string): boolean {
  const [am, as] = parts(a)
  const [bm, bs] = parts(b)
  return am > bm || (am === bm && as > bs)
}

/** When the entry was added, by Redis's clock (epoch ms). */
export function idMs(id: string): number {
  return parts(id)[0]
}

function parts(id: string): [number, number] {
  const dash = id.indexOf('-')
  return dash < 0 ? [Number(id), 0] : [Number(id.slice(0, dash)), Number(id.slice(dash + 1))]
}
