const COMMA = 0x2c
const OPEN = 0x5b
const CLOSE = 0x5d

/**
 * JSON arrays (`[a,b]`, `[c]`: the journal's records) joined into one (`[a,b,c]`) in a buffer of
 * its own, so that it can be moved to the thread rather than copied, and parsed there at once.
 */
export function joinArrays(payloads: readonly Buffer[]): Uint8Array {
  let bytes = 2
  for (const p of payloads) bytes += p.length - 1
  const out = new Uint8Array(bytes)
  out[0] = OPEN
  let at = 1
  for (const p of payloads) {
    // an empty array adds nothing (and must not add a comma)
    if (p.length <= 2) continue
    if (at > 1) out[at++] = COMMA
    out.set(p.subarray(1, p.length - 1), at)
    at += p.length - 2
  }
  out[at++] = CLOSE
  return out.subarray(0, at)
}
