/**
 * The history screen's choices (pure). A chart needs a few hundred to a thousand points, not a
 * year of 10-minute readings: up to a day the readings themselves, then 10-minute, hourly and
 * daily buckets (the server's downsampling: mean, least, most).
 */
export function autoEvery(spanMs: number): string | undefined {
  const DAY = 86_400_000
  if (spanMs <= DAY) return undefined
  if (spanMs <= 7 * DAY) return '10m'
  if (spanMs <= 62 * DAY) return '1h'
  return '1d'
}

/**
 * A `datetime-local` value ("2026-12-02T08:30") read as a wall time in the mine's zone, not the
 * screen's: the instant, or undefined for an empty or impossible value.
 */
export function zonedInstant(local: string, timeZone: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local)
  if (!m) return undefined
  const wall = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +(m[6] ?? 0))
  // the zone's offset at that wall time (twice: the offset at the guess may differ across a DST change)
  const offsetAt = (ms: number) => {
    const parts = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }).formatToParts(ms)
    const name = parts.find((p) => p.type === 'timeZoneName')?.value ?? 'GMT'
    const o = /GMT([+-])(\d{2}):?(\d{2})?/.exec(name)
    return o ? (o[1] === '-' ? -1 : 1) * (+o[2]! * 60 + +(o[3] ?? 0)) * 60_000 : 0
  }
  let guess = wall - offsetAt(wall)
  guess = wall - offsetAt(guess)
  return Number.isFinite(guess) ? guess : undefined
}
