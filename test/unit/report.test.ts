import { describe, expect, it } from 'vitest'
import type { Alert } from '../../alerting/book/alert.js'
import { dailyReport, startOfDay } from '../../dashboard/report.js'
import { endOfDay, isoInZone } from '../../ingest/zone-time.js'

const tz = 'Asia/Shanghai'
const at = (iso: string) => Date.parse(iso)
const alert = (raised: string, extra: Partial<Alert> = {}): Alert =>
  ({ id: raised, mineId: 'm', level: 'yellow', peak: 'yellow', state: 'open', raisedAt: at(raised), deadline: endOfDay(at(raised), tz), overdue: false, ...extra }) as Alert

describe('the daily report', () => {
  it('counts the warnings raised on the local day only', () => {
    expect(isoInZone(startOfDay('2026-11-23', tz), tz)).toBe('2026-11-23T00:00:00.000+08:00')
    const alerts = [
      alert('2026-11-22T23:59:00+08:00'),
      alert('2026-11-23T00:00:00+08:00', { peak: 'red', acknowledged: { by: 'u', at: 1 }, state: 'resolved', resolved: { by: 'u', at: at('2026-11-23T09:00:00+08:00'), note: 'x' } }),
      alert('2026-11-23T22:00:00+08:00', { acknowledged: { by: 'u', at: 1 }, state: 'resolved', resolved: { by: 'u', at: at('2026-11-24T01:00:00+08:00'), note: 'x' }, overdue: true }),
      alert('2026-11-23T23:59:59+08:00'),
      alert('2026-11-24T00:00:00+08:00'),
      alert('2026-11-23T12:00:00+08:00', { mineId: 'other' }),
    ]
    expect(dailyReport(alerts, 'm', '2026-11-23', tz)).toEqual({
      mineId: 'm',
      date: '2026-11-23',
      timeZone: tz,
      raised: 3,
      byLevel: { blue: 0, yellow: 2, orange: 0, red: 1 },
      acknowledged: 2,
      resolvedSameDay: 1,
      overdue: 1,
      open: 1,
    })
  })
})
