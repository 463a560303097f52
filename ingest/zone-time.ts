/**
 * Time in a mine's zone (Asia/Shanghai by default): ISO 8601 with its offset for screens and
 * APIs (`2026-11-23T10:00:00.000+08:00`), and the end of a local day for same-day deadlines.
 */
const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
    formatters.set(timeZone, f)
  }
  return f
}

/** The wall-clock fields of an instant in a zone, from the platform's time-zone data. */
function wallParts(ms: number, timeZone: string): Record<string, string> {
  return Object.fromEntries(
    formatter(timeZone)
      .formatToParts(ms)
      .map((p) => [p.type, p.value]),
  )
}

/** The zone's offset at an instant, minutes, asked of the time-zone data (about 5 µs). */
function askOffset(ms: number, timeZone: string): number {
  const parts = wallParts(ms, timeZone)
  const wall = Date.UTC(+parts.year!, +parts.month! - 1, +parts.day!, +parts.hour!, +parts.minute!, +parts.second!)
  return Math.round((wall - (ms - (((ms % 1000) + 1000) % 1000))) / 60_000)
}

/**
 * Offsets are asked once per zone and quarter hour: every offset and every change of offset in
 * today's time-zone data falls on a quarter hour of UTC (checked against Intl from 1980 to 2040,
 * test/unit/zone-time.test.ts), so an instant's offset is that of its quarter hour's start. A
 * 30-day chart of 4,320 points asked the time-zone data 8,640 times; now a handful.
 */
const QUARTER = 15 * 60_000
const offsets = new Map<string, Map<number, number>>()

/** The zone's offset from UTC at that instant, minutes (+480 for Asia/Shanghai). */
export function offsetMinutes(ms: number, timeZone: string): number {
  let zone = offsets.get(timeZone)
  if (!zone) offsets.set(timeZone, (zone = new Map()))
  const quarter = Math.floor(ms / QUARTER)
  let offset = zone.get(quarter)
  if (offset === undefined) {
    // a year of quarter hours at most per zone: enough for any screen, bounded for any query
    if (zone.size >= 35_040) zone.clear()
    offset = askOffset(quarter * QUARTER, timeZone)
    zone.set(quarter, offset)
  }
  return offset
}

/** The local hour (0–23) of an instant in a zone. */
export function localHour(ms: number, timeZone: string): number {
  return new Date(ms + offsetMinutes(ms, timeZone) * 60_000).getUTCHours()
}

/**
 * The first instant of the next local day: the end of the day `ms` falls on, in the zone. A
 * warning raised at 23:59 in Shanghai is due one minute later; one raised at 00:00 has all day.
 */
export function endOfDay(ms: number, timeZone: string): number {
  const p = wallParts(ms, timeZone)
  const nextMidnightWall = Date.UTC(+p.year!, +p.month! - 1, +p.day! + 1)
  // the offset at the next midnight itself (it may differ across a DST change)
  let guess = nextMidnightWall - offsetMinutes(nextMidnightWall, timeZone) * 60_000
  guess = nextMidnightWall - offsetMinutes(guess, timeZone) * 60_000
  return guess
}

export function isoInZone(ms: number, timeZone: string): string {
  const offsetMin = offsetMinutes(ms, timeZone)
  // the wall clock is the instant moved by the offset, read as UTC
  const wall = new Date(ms + offsetMin * 60_000).toISOString().slice(0, 23)
  const sign = offsetMin < 0 ? '-' : '+'
  const abs = Math.abs(offsetMin)
  return `${wall}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`
}
