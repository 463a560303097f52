import { appendFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { onlineShare } from '../../dashboard/link-history.js'
import { LinkLog } from '../../infra/link-log.js'
import { Presence } from '../../ingest/presence.js'
import { DEFAULT_LINK_LIMITS, judgeLink, type LinkObservation } from '../../alerting/links.js'

const MIN = 60_000
const at = 1_800_000_000_000
const levels = (o: LinkObservation, now = at) => Object.fromEntries(judgeLink('金山矿平台', o, DEFAULT_LINK_LIMITS, now).map((j) => [j.rule, j.level]))

describe('联网 link judgement (regulator side)', () => {
  it('a link down 10 minutes is yellow, an hour orange; shorter breaks say nothing', () => {
    expect(levels({ connected: false, since: at - 9 * MIN, lagMs: undefined })).toEqual({ 'uplink-down': null, 'uplink-lag': null })
    expect(levels({ connected: false, since: at - 10 * MIN, lagMs: undefined })).toEqual({ 'uplink-down': 'yellow', 'uplink-lag': null })
    expect(levels({ connected: false, since: at - 60 * MIN, lagMs: undefined })).toEqual({ 'uplink-down': 'orange', 'uplink-lag': null })
    const [down] = judgeLink('金山矿平台', { connected: false, since: at - 25 * MIN, lagMs: undefined }, DEFAULT_LINK_LIMITS, at)
    expect(down).toMatchObject({ value: 25, threshold: 10, message: '联网中断: 金山矿平台 已断开 25 分钟 (超过 10 分钟告警)' })
  })

  it('a connected link delivering old readings is lagging (blue); a lag while down is not judged, the break is', () => {
    expect(levels({ connected: true, since: at - 2 * MIN, lagMs: 45 * MIN })).toEqual({ 'uplink-down': null, 'uplink-lag': 'blue' })
    expect(levels({ connected: true, since: at - 2 * MIN, lagMs: 9 * MIN })).toEqual({ 'uplink-down': null, 'uplink-lag': null })
    expect(levels({ connected: true, since: at - 2 * MIN, lagMs: undefined })).toEqual({ 'uplink-down': null, 'uplink-lag': null })
    expect(levels({ connected: false, since: at - 11 * MIN, lagMs: 45 * MIN })).toEqual({ 'uplink-down': 'yellow', 'uplink-lag': null })
  })
})

describe("a gateway's lag as presence keeps it", () => {
  it('is the least delay of its readings over this minute and the one before, and nothing once they stop', () => {
    const p = new Presence()
    const t0 = Math.floor(at / MIN) * MIN
    expect(p.gatewayLag('up', t0)).toBeUndefined()
    // a device's own old backlog passes through beside live readings: the live ones say the link is prompt
    p.gatewayDelivered('up', t0 - 2 * 86_400_000, t0 + 1000)
    p.gatewayDelivered('up', t0 + 1500, t0 + 2000)
    expect(p.gatewayLag('up', t0 + 3000)).toBe(500)
    // a backlog after a break: everything arrives old, the next minute too
    p.gatewayDelivered('up', t0 - 30 * MIN, t0 + MIN + 1000)
    expect(p.gatewayLag('up', t0 + MIN + 2000)).toBe(500)
    p.gatewayDelivered('up', t0 - 29 * MIN, t0 + 2 * MIN + 1000)
    expect(p.gatewayLag('up', t0 + 2 * MIN + 2000)).toBe(31 * MIN + 1000)
    // nothing delivered for two minutes: no lag to speak of
    expect(p.gatewayLag('up', t0 + 4 * MIN)).toBeUndefined()
  })
})

describe('联网在线率', () => {
  const H = 3_600_000
  it('is the share of the period the link was connected, down before its first change and at each platform start', () => {
    const from = at
    const to = at + 10 * H
    expect(onlineShare([], from, to)).toBe(0)
    // connected before the period, down 2 h within it
    expect(
      onlineShare(
        [
          { at: from - H, connected: true },
          { at: from + H, connected: false },
          { at: from + 3 * H, connected: true },
        ],
        from,
        to,
      ),
    ).toBe(0.8)
    // the regulator restarted (a start line: down) and the link came back an hour later
    expect(
      onlineShare(
        [
          { at: from, connected: true },
          { at: from + 5 * H, connected: false },
          { at: from + 6 * H, connected: true },
        ],
        from,
        to,
      ),
    ).toBe(0.9)
    // changes after the period do not count; an empty period has no share
    expect(
      onlineShare(
        [
          { at: from, connected: true },
          { at: to + H, connected: false },
        ],
        from,
        to,
      ),
    ).toBe(1)
    expect(onlineShare([], to, to)).toBeNull()
  })

  it('is read back from the log: its lines, each start of the platform as a disconnection, a torn line skipped', () => {
    const dir = mkdtempSync(join(tmpdir(), 'minewatch-links-'))
    try {
      const log = new LinkLog(dir, at)
      log.changed('up-a', true, at + 1000)
      log.changed('up-b', true, at + 1500)
      log.changed('up-a', false, at + 2000)
      appendFileSync(join(dir, 'links.jsonl'), '{"g":"up-a","c":1,"a')
      const again = new LinkLog(dir, at + 5000)
      const changes = again.changes(['up-a', 'up-b', 'up-c'])
      expect(changes.get('up-a')).toEqual([
        { at, connected: false },
        { at: at + 1000, connected: true },
        { at: at + 2000, connected: false },
        { at: at + 5000, connected: false },
      ])
      expect(changes.get('up-b')).toEqual([
        { at, connected: false },
        { at: at + 1500, connected: true },
        { at: at + 5000, connected: false },
      ])
      // an account never seen: down from each start
      expect(changes.get('up-c')).toEqual([
        { at, connected: false },
        { at: at + 5000, connected: false },
      ])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
