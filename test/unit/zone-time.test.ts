import { describe, expect, it } from 'vitest'
import { endOfDay, isoInZone, localHour, offsetMinutes } from '../../ingest/zone-time.js'

/**
 * The zone arithmetic asks the time-zone data once per quarter hour and computes the rest: it
 * must give what asking Intl for every instant gives, across daylight-saving changes and in
 * zones whose offsets are not whole hours.
 */
const ZONES = ['Asia/Shanghai', 'America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'Pacific/Chatham', 'America/St_Johns', 'Asia/Urumqi']

/** What Intl says for one instant, asked directly. */
const formats = new Map<string, Intl.DateTimeFormat>()
function reference(ms: number, timeZone: string): { iso: string; hour: number; offset: number } {
  const f =
    formats.get(timeZone) ?? new Intl.DateTimeFormat('en-CA', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
  formats.set(timeZone, f)
  const p = Object.fromEntries(f.formatToParts(ms).map((x) => [x.type, x.value]))
  const whole = ms - (((ms % 1000) + 1000) % 1000)
  const offset = Math.round((Date.UTC(+p.year!, +p.month! - 1, +p.day!, +p.hour!, +p.minute!, +p.second!) - whole) / 60_000)
  const abs = Math.abs(offset)
  const sign = offset < 0 ? '-' : '+'
  const millis = String(((ms % 1000) + 1000) % 1000).padStart(3, '0')
  const iso = `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}.${millis}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`
  return { iso, hour: Number(p.hour), offset }
}

/** The instants at which a zone's offset changes between two times (to the minute). */
function changes(timeZone: string, from: number, to: number): number[] {
  const out: number[] = []
  let prev = reference(from, timeZone).offset
  for (let t = from; t < to; t += 3_600_000) {
    const next = reference(t + 3_600_000, timeZone).offset
    if (next !== prev) {
      let lo = t
      let hi = t + 3_600_000
      while (hi - lo > 60_000) {
        const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000
        if (reference(mid, timeZone).offset === prev) lo = mid
        else hi = mid
      }
      out.push(hi)
      prev = next
    }
  }
  return out
}

describe('time in a mine’s zone', () => {
  it('gives what Intl gives, second by second, around every offset change of 2025–2027', () => {
    let checked = 0
    for (const zone of ZONES) {
      const around = changes(zone, Date.UTC(2025, 0, 1), Date.UTC(2028, 0, 1))
      for (const change of around) {
        for (let t = change - 3_600_000; t <= change + 3_600_000; t += 7_001) {
          const want = reference(t, zone)
          expect({ iso: isoInZone(t, zone), hour: localHour(t, zone), offset: offsetMinutes(t, zone) }).toEqual(want)
          checked++
        }
      }
    }
    // five of the eight zones change offset twice a year; Shanghai, Urumqi and Kathmandu never
    expect(checked).toBeGreaterThan(5 * 2 * 3 * 1000)
  })

  it('gives what Intl gives at random instants from 1980 to 2040', () => {
    let seed = 42
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
    for (let i = 0; i < 20_000; i++) {
      const zone = ZONES[i % ZONES.length]!
      const t = Math.floor(Date.UTC(1980, 0, 1) + next() * (Date.UTC(2040, 0, 1) - Date.UTC(1980, 0, 1)))
      const want = reference(t, zone)
      expect({ iso: isoInZone(t, zone), hour: localHour(t, zone) }).toEqual({ iso: want.iso, hour: want.hour })
    }
  })

  it('ends the local day at the next local midnight, on the days the clocks change too', () => {
    expect(isoInZone(endOfDay(Date.parse('2026-11-23T23:59:00+08:00'), 'Asia/Shanghai'), 'Asia/Shanghai')).toBe('2026-11-24T00:00:00.000+08:00')
    // New York springs forward on 2026-03-08: that day has 23 hours
    expect(isoInZone(endOfDay(Date.parse('2026-03-08T00:30:00-05:00'), 'America/New_York'), 'America/New_York')).toBe('2026-03-09T00:00:00.000-04:00')
  })
})
