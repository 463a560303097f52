/** Redis stream ids (`<ms>-<seq>`): compared as numbers, not as text ("10-0" comes after "9-0"); and an entry's fields. */

/** The value of an entry's field (its fields come as name, value, name, value…). */
export function fieldOf(fields: readonly string[], name: string): string {
  const v = optionalField(fields, name)
  if (v === undefined) throw new Error(`a stream entry without its "${name}" field`)
  return v
}

export function optionalField(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1]
  return undefined
}

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
