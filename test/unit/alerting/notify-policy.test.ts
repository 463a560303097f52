import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { describe, expect, it } from 'vitest'
import { callsDue, callText, localTime, notifySchema, onDuty, rosterSchema } from '../../../alerting/notify/policy.js'

const MIN = 60_000
/** A moment on the mine's clock, written as people write it. */
const at = (wall: string) => ({ date: wall.slice(0, 10), minute: Number(wall.slice(11, 13)) * 60 + Number(wall.slice(14, 16)) })
const T0 = Date.parse('2026-12-02T03:00:00+08:00')
const config = notifySchema.parse({
  channels: [
    { id: 'wecom', type: 'wecom', url: { env: 'WECOM_URL' } },
    { id: 'mail', type: 'email', host: 'smtp.example.cn', from: 'minewatch@example.cn' },
  ],
  contacts: [
    { id: 'duty', name: '专席值班', via: [{ channel: 'wecom', to: '13800000001' }] },
    {
      id: 'director',
      name: '安全负责人 李',
      via: [
        { channel: 'wecom', to: '13800000002' },
        { channel: 'mail', to: 'li@example.cn' },
      ],
    },
    { id: 'regulator', name: '市应急局 值班', via: [{ channel: 'mail', to: 'duty@yjj.example.cn' }] },
  ],
  policies: [
    {
      id: 'chain',
      levels: ['yellow', 'orange', 'red'],
      steps: [
        { after: 0, notify: ['duty'] },
        { after: 15, notify: ['director'] },
        { after: 30, notify: ['regulator'] },
      ],
      repeat: 20,
    },
  ],
})
const alert = (over: object = {}) => ({ id: 'a1', mineId: 'mine-a', level: 'orange' as const, state: 'open' as const, raisedAt: T0, class: 'warning' as const, ...over })
const who = (calls: ReturnType<typeof callsDue>) => calls.map((c) => `${c.step}.${c.round} ${c.contact}/${c.channel}`)

/**
 * 叫应's chain (issue 15 item 2): whom an unsigned warning has called by when. Pure: the clock is
 * passed in, so an hour of a night walks past in a few lines.
 */
describe('who an unsigned warning calls, and when', () => {
  it('calls the 专席 at once, the director after 15 min, the regulator after 30, then the regulator again every 20 min', () => {
    expect(who(callsDue(alert(), config, T0))).toEqual(['0.0 duty/wecom'])
    expect(who(callsDue(alert(), config, T0 + 14 * MIN))).toEqual(['0.0 duty/wecom'])
    expect(who(callsDue(alert(), config, T0 + 15 * MIN))).toEqual(['0.0 duty/wecom', '1.0 director/wecom', '1.0 director/mail'])
    expect(who(callsDue(alert(), config, T0 + 30 * MIN))).toContain('2.0 regulator/mail')
    expect(who(callsDue(alert(), config, T0 + 49 * MIN))).toContain('2.0 regulator/mail')
    // the rounds after the last step: only the round of now, so a restart does not send the missed ones at once
    const later = who(callsDue(alert(), config, T0 + 71 * MIN))
    expect(later).toContain('2.2 regulator/mail')
    expect(later).not.toContain('2.1 regulator/mail')
  })

  it('stops the moment someone signs: an acknowledged, assigned or resolved warning calls nobody', () => {
    for (const state of ['acknowledged', 'assigned', 'resolved'] as const) expect(callsDue(alert({ state }), config, T0 + 60 * MIN)).toEqual([])
  })

  it('red never waits: the whole chain is called at once', () => {
    expect(who(callsDue(alert({ level: 'red' }), config, T0))).toEqual(['0.0 duty/wecom', '1.0 director/wecom', '1.0 director/mail', '2.0 regulator/mail'])
  })

  it('calls again when the warning rises (the call carries the level), and the same call keeps its id', () => {
    const orange = callsDue(alert(), config, T0)
    expect(callsDue(alert(), config, T0 + 5 * MIN).map((c) => c.id)).toEqual(orange.map((c) => c.id))
    const red = callsDue(alert({ level: 'red' }), config, T0 + 5 * MIN)
    expect(red[0]!.id).not.toBe(orange[0]!.id)
  })

  it('calls only for the levels and mines a policy covers', () => {
    expect(callsDue(alert({ level: 'blue' }), config, T0 + 60 * MIN)).toEqual([])
    const onlyB = { ...config, policies: [{ ...config.policies[0]!, mines: ['mine-b'] }] }
    expect(callsDue(alert(), onlyB, T0 + 60 * MIN)).toEqual([])
  })

  it('says the level, the mine, the warning, when, and where to sign', () => {
    expect(callText({ level: 'red', message: '东帮边坡 P-07 位移速率 12.4 mm/d', mineId: 'yt' }, '烟台金山金矿', '2026-12-02 03:00', 'https://mw.example.cn/#/seat/yt')).toBe(
      '【红色预警】烟台金山金矿: 东帮边坡 P-07 位移速率 12.4 mm/d。发布于 2026-12-02 03:00, 尚未签收, 请立即签收处置: https://mw.example.cn/#/seat/yt',
    )
  })

  it('calls whoever a roster has on duty in the mine’s day, a night shift across midnight, and the next shift too while unsigned', () => {
    const roster = {
      id: 'duty',
      shifts: [
        { from: '08:00', to: '20:00', contacts: ['wang'] },
        { from: '20:00', to: '08:00', contacts: ['zhao'] },
      ],
    }
    const daily = rosterSchema.parse(roster)
    expect(onDuty(daily, at('2026-12-02 08:00'))).toEqual(['wang'])
    expect(onDuty(daily, at('2026-12-02 19:59'))).toEqual(['wang'])
    expect(onDuty(daily, at('2026-12-02 20:00'))).toEqual(['zhao'])
    expect(onDuty(daily, at('2026-12-02 03:00'))).toEqual(['zhao'])
    const withRoster = notifySchema.parse({
      channels: [{ id: 'wecom', type: 'wecom', url: { env: 'WECOM_URL' } }],
      contacts: [
        { id: 'wang', name: '王', via: [{ channel: 'wecom', to: '1' }] },
        { id: 'zhao', name: '赵', via: [{ channel: 'wecom', to: '2' }] },
      ],
      rosters: [roster],
      policies: [{ id: 'p', levels: ['orange'], steps: [{ after: 0, notify: ['duty'] }] }],
    })
    expect(who(callsDue(alert(), withRoster, T0, at('2026-12-02 19:59')))).toEqual(['0.0 wang/wecom'])
    // still unsigned at 20:01: the night shift is called as well (the day shift's call keeps its id, and was made)
    expect(who(callsDue(alert(), withRoster, T0 + 2 * MIN, at('2026-12-02 20:01')))).toEqual(['0.0 zhao/wecom'])
  })

  it('reads the mine’s clock: the local date and minute of a moment in its zone', () => {
    // 2026-12-01 18:30 UTC is 02:30 the next day in Shanghai (+480 minutes)
    expect(localTime(Date.parse('2026-12-01T18:30:00Z'), 480)).toEqual({ date: '2026-12-02', minute: 150 })
    expect(localTime(Date.parse('2026-12-01T18:30:00Z'), 0)).toEqual({ date: '2026-12-01', minute: 18 * 60 + 30 })
  })

  it('follows a roster by date: holidays replace the usual day, a night shift runs into the next day, crews rotate, shifts by weekday', () => {
    const roster = rosterSchema.parse({
      id: 'duty',
      shifts: [
        // 带班领导: one on weekdays, another at weekends
        { from: '08:00', to: '17:30', days: [1, 2, 3, 4, 5], contacts: ['lead'] },
        { from: '08:00', to: '17:30', days: [6, 7], contacts: ['lead2'] },
        { from: '20:00', to: '08:00', contacts: ['night'] },
      ],
      // 轮班: three crews take turns a day each, handing over at 08:00
      rotation: { start: '2026-12-01', at: '08:00', crews: [['a'], ['b'], ['c']] },
      // 国庆值班: the holiday's own shifts, the last night running into 10-08
      dates: [{ date: '2026-10-01', to: '2026-10-07', shifts: [{ from: '09:00', to: '09:00', contacts: ['holiday'] }] }],
    })
    // 2026-12-01 is a Tuesday, 12-05 a Saturday
    expect(onDuty(roster, at('2026-12-01 09:00'))).toEqual(['lead', 'a'])
    expect(onDuty(roster, at('2026-12-05 09:00'))).toEqual(['lead2', 'b'])
    expect(onDuty(roster, at('2026-12-01 21:00'))).toEqual(['night', 'a'])
    // before the hand-over the crew of the day before is still on; after it, the next
    expect(onDuty(roster, at('2026-12-02 07:59'))).toEqual(['night', 'a'])
    expect(onDuty(roster, at('2026-12-02 08:00'))).toEqual(['lead', 'b'])
    expect(onDuty(roster, at('2026-12-04 10:00'))).toEqual(['lead', 'a'])
    // before the rotation's start the turns run backwards: 11-30 is crew c's
    expect(onDuty(roster, at('2026-11-30 10:00'))).toEqual(['lead', 'c'])
    // the holiday: its own shift only; at 03:00 on its first day the usual night shift of 09-30 and that day's crew (b: 62 days before a's 12-01) are still on
    expect(onDuty(roster, at('2026-10-01 03:00'))).toEqual(['night', 'b'])
    expect(onDuty(roster, at('2026-10-03 12:00'))).toEqual(['holiday'])
    // after it: the holiday's last 24 hours run to 09:00 on 10-08, beside that day's usual shifts
    expect(onDuty(roster, at('2026-10-08 08:30'))).toEqual(expect.arrayContaining(['holiday', 'lead']))
    expect(onDuty(roster, at('2026-10-08 09:00'))).not.toContain('holiday')
  })

  it('refuses a roster with nothing in it, a holiday ending before it starts, and people it does not know', () => {
    expect(rosterSchema.safeParse({ id: 'r' }).success).toBe(false)
    expect(rosterSchema.safeParse({ id: 'r', rotation: { start: '2026-12-01', crews: [['a']] } }).success).toBe(false)
    expect(
      rosterSchema.safeParse({
        id: 'r',
        shifts: [{ from: '08:00', to: '20:00', contacts: ['a'] }],
        dates: [{ date: '2026-10-07', to: '2026-10-01', shifts: [{ from: '08:00', to: '08:00', contacts: ['a'] }] }],
      }).success,
    ).toBe(false)
    expect(rosterSchema.safeParse({ id: 'r', shifts: [{ from: '08:00', to: '20:00', contacts: ['a'], days: [0] }] }).success).toBe(false)
    expect(rosterSchema.safeParse({ id: 'r', rotation: { start: '2026-02-30', crews: [['a'], ['b']] } }).success).toBe(false)
  })

  it('takes a channel’s own rate, a positive whole number of messages a minute', () => {
    const base = { type: 'wecom', url: { env: 'WECOM_URL' } }
    expect(notifySchema.parse({ channels: [{ id: 'w', ...base, perMinute: 5 }] }).channels[0]!.perMinute).toBe(5)
    expect(notifySchema.safeParse({ channels: [{ id: 'w', ...base, perMinute: 0 }] }).success).toBe(false)
  })

  it('takes the example of docs/notifications.md as it is written', () => {
    const example = /```yaml\n([\s\S]*?)```/.exec(readFileSync('docs/notifications.md', 'utf8'))![1]!
    const parsed = notifySchema.safeParse((parseYaml(example) as { notify: unknown }).notify)
    expect(parsed.error?.issues ?? []).toEqual([])
    expect(parsed.data!.rosters.map((r) => r.id)).toEqual(['duty', 'lead'])
  })
})
