/**
 * Reading timestamps (docs/device-contract.md): epoch milliseconds, or ISO 8601 with an explicit offset.
 * A time without an offset is refused: a device's local midnight is not UTC midnight, and
 * guessing would shift a mine's whole record by eight hours.
 */
const ISO_WITH_OFFSET = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})$/

/** Epoch ms below this (1973-03-03) is almost surely seconds, not milliseconds. */
const SECONDS_SUSPECT_BELOW = 1e11

export type TimestampResult = { ok: true; ms: number } | { ok: false; message: string }

export function parseTimestamp(raw: unknown): TimestampResult {
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw) || !Number.isInteger(raw)) {
      return { ok: false, message: `ts ${String(raw)} is not whole epoch milliseconds` }
    }
    if (raw < SECONDS_SUSPECT_BELOW) {
      return { ok: false, message: `ts ${raw} looks like seconds since 1970; send milliseconds (×1000)` }
    }
    return { ok: true, ms: raw }
  }
  if (typeof raw === 'string') {
    const m = ISO_WITH_OFFSET.exec(raw)
    if (!m) {
      return {
        ok: false,
        message: `ts "${raw.slice(0, 64)}" is not ISO 8601 with an offset (e.g. 2026-11-23T08:00:00+08:00)`,
      }
    }
    // Date.parse wants ±hh:mm and at most millisecond precision
    const offset = m[3] === 'Z' ? 'Z' : m[3]!.replace(/^([+-]\d{2}):?(\d{2})$/, '$1:$2')
    const time = m[2]!.replace(/(\.\d{3})\d+$/, '$1')
    const ms = Date.parse(`${m[1]}T${time}${offset}`)
    if (Number.isNaN(ms)) return { ok: false, message: `ts "${raw}" is not a valid date` }
    return { ok: true, ms }
  }
  return { ok: false, message: 'ts must be epoch milliseconds (number) or an ISO 8601 string with offset' }
}
