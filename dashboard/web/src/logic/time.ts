/**
 * Times as a dispatcher reads them: in the mine's time zone (Asia/Shanghai unless the site file
 * says otherwise), whatever the zone of the screen's computer.
 */
const formats = new Map<string, Intl.DateTimeFormat>()

function format(tz: string, withDate: boolean): Intl.DateTimeFormat {
  const key = `${tz}|${withDate}`
  let f = formats.get(key)
  if (!f) {
    f = new Intl.DateTimeFormat('zh-CN', {
      timeZone: tz,
      hourCycle: 'h23',
      ...(withDate ? { year: 'numeric', month: '2-digit', day: '2-digit' } : {}),
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
    formats.set(key, f)
  }
  return f
}

/** "2026/11/23 10:30:31" in the zone. */
export const dateTime = (ms: number, tz: string): string => format(tz, true).format(ms)
/** Whether two moments fall on the same calendar day in the zone (the mine's day: its warnings are due by its end). */
export const sameDay = (a: number, b: number, tz: string): boolean => dateTime(a, tz).slice(0, 10) === dateTime(b, tz).slice(0, 10)
/** "10:30:31" in the zone. */
export const clock = (ms: number, tz: string): string => format(tz, false).format(ms)

/** "3 小时 12 分", "45 分", "20 秒". */
export function span(ms: number): string {
  const s = Math.floor(Math.abs(ms) / 1000)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  if (h > 0) return `${h} 小时 ${m} 分`
  if (m > 0) return `${m} 分`
  return `${s % 60} 秒`
}

/**
 * Time left to handle a warning today (README, "Warnings": due by the end of the day it was raised, in the
 * mine's zone). Under an hour left is urgent; past the deadline it is overdue, counting up.
 */
export function countdown(deadline: number, now: number): { text: string; tone: 'ok' | 'urgent' | 'overdue' } {
  const left = deadline - now
  if (left <= 0) return { text: `已超期 ${span(-left)}`, tone: 'overdue' }
  return { text: `剩余 ${span(left)}`, tone: left < 3_600_000 ? 'urgent' : 'ok' }
}

/** Age of a warning: "5 分前". */
export const ago = (ts: number, now: number): string => (now - ts < 1000 ? '刚刚' : `${span(now - ts)}前`)

const short = new Map<string, Intl.DateTimeFormat>()
/** "11/23 10:30" in the zone: chart axes. */
export function shortDateTime(ms: number, tz: string): string {
  let f = short.get(tz)
  if (!f) short.set(tz, (f = new Intl.DateTimeFormat('zh-CN', { timeZone: tz, hourCycle: 'h23', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' })))
  return f.format(ms)
}
