import { describe, expect, it } from 'vitest'
import { callsDue, callText, notifySchema, onDuty } from '../../../alerting/notify/policy.js'

const MIN = 60_000
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
    expect(onDuty(roster, 8 * 60)).toEqual(['wang'])
    expect(onDuty(roster, 19 * 60 + 59)).toEqual(['wang'])
    expect(onDuty(roster, 20 * 60)).toEqual(['zhao'])
    expect(onDuty(roster, 3 * 60)).toEqual(['zhao'])
    const withRoster = notifySchema.parse({
      channels: [{ id: 'wecom', type: 'wecom', url: { env: 'WECOM_URL' } }],
      contacts: [
        { id: 'wang', name: '王', via: [{ channel: 'wecom', to: '1' }] },
        { id: 'zhao', name: '赵', via: [{ channel: 'wecom', to: '2' }] },
      ],
      rosters: [roster],
      policies: [{ id: 'p', levels: ['orange'], steps: [{ after: 0, notify: ['duty'] }] }],
    })
    expect(who(callsDue(alert(), withRoster, T0, 19 * 60 + 59))).toEqual(['0.0 wang/wecom'])
    // still unsigned at 20:01: the night shift is called as well (the day shift's call keeps its id, and was made)
    expect(who(callsDue(alert(), withRoster, T0 + 2 * MIN, 20 * 60 + 1))).toEqual(['0.0 zhao/wecom'])
  })

  it('takes a channel’s own rate, a positive whole number of messages a minute', () => {
    const base = { type: 'wecom', url: { env: 'WECOM_URL' } }
    expect(notifySchema.parse({ channels: [{ id: 'w', ...base, perMinute: 5 }] }).channels[0]!.perMinute).toBe(5)
    expect(notifySchema.safeParse({ channels: [{ id: 'w', ...base, perMinute: 0 }] }).success).toBe(false)
  })
})
