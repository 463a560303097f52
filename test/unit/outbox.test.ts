import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Call } from '../../alerting/notify/policy.js'
import type { Outgoing } from '../../infra/notify/channels.js'
import { Outbox } from '../../infra/notify/outbox.js'

const dirs: string[] = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as never

const call = (n: number, level: Call['level'] = 'orange', channel = 'wecom'): { call: Call; text: string; subject: string; alert: unknown } => ({
  call: { id: `a${n}:${level}:p:0:0:duty:${channel}`, alertId: `a${n}`, level, step: 0, round: 0, contact: 'duty', channel, to: '13800000001' },
  text: `预警 ${n}`,
  subject: `预警 ${n}`,
  alert: { id: `a${n}` },
})

/**
 * The outbox's sending (infra/notify/outbox.ts) on a temp file with an injected clock: a channel
 * that fails is retried with back-off and then given up; many calls at once on one channel become
 * one digest, red apart and first; the file holds every attempt.
 */
describe('the notification outbox', () => {
  it('retries a failing channel with back-off, records each attempt, and delivers once it answers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'minewatch-outbox-'))
    dirs.push(dir)
    let now = 1_000_000
    let failures = 2
    const sent: Outgoing[] = []
    const send = async (m: Outgoing) => {
      if (failures-- > 0) throw new Error('HTTP 502: bad gateway')
      sent.push(m)
    }
    const box = await Outbox.open(join(dir, 'outbox.jsonl'), new Map([['wecom', send]]), { now: () => now, log: silent, perMinute: () => 20 })
    await box.queue([call(1)])
    await box.pump()
    expect(box.of('a1')[0]).toMatchObject({ status: 'pending', attempts: 1, lastError: 'HTTP 502: bad gateway' })
    // not again before its back-off (10 s), then 20 s after the second failure
    now += 5_000
    await box.pump()
    expect(box.of('a1')[0]!.attempts).toBe(1)
    now += 5_000
    await box.pump()
    expect(box.of('a1')[0]!.attempts).toBe(2)
    now += 19_000
    await box.pump()
    expect(sent).toHaveLength(0)
    now += 1_000
    await box.pump()
    expect(sent.map((m) => m.text)).toEqual(['预警 1'])
    expect(box.of('a1')[0]).toMatchObject({ status: 'delivered', attempts: 3 })
    await box.close()
    const lines = readFileSync(join(dir, 'outbox.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).t)
    expect(lines).toEqual(['queued', 'attempt', 'attempt', 'delivered'])
  })

  it('sends a storm as one digest per channel and address, red on its own and first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'minewatch-outbox-'))
    dirs.push(dir)
    const sent: Outgoing[] = []
    const box = await Outbox.open(join(dir, 'outbox.jsonl'), new Map([['wecom', async (m: Outgoing) => void sent.push(m)]]), { now: () => 5_000_000, log: silent, perMinute: () => 20 })
    await box.queue([...Array.from({ length: 30 }, (_, i) => call(i)), call(99, 'red')])
    await box.pump()
    expect(sent).toHaveLength(2)
    expect(sent[0]!.text).toBe('预警 99')
    expect(sent[1]!.subject).toBe('30 条预警待签收')
    expect(sent[1]!.text).toContain('…及其余 10 条')
    expect(box.pending).toBe(0)
    await box.close()
  })

  it('holds what is over a channel’s own rate for the next minute (red excepted)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'minewatch-outbox-'))
    dirs.push(dir)
    let now = 9_000_000
    const sent: Outgoing[] = []
    const box = await Outbox.open(join(dir, 'outbox.jsonl'), new Map([['wecom', async (m: Outgoing) => void sent.push(m)]]), {
      now: () => now,
      log: silent,
      perMinute: (channel) => (channel === 'wecom' ? 2 : 20),
    })
    for (let i = 0; i < 3; i++) {
      await box.queue([call(i, 'yellow', 'wecom')])
      await box.pump()
      now += 1_000
    }
    expect(sent).toHaveLength(2)
    await box.queue([call(50, 'red')])
    await box.pump()
    expect(sent).toHaveLength(3)
    now += 60_000
    await box.pump()
    expect(sent.map((m) => m.text)).toEqual(['预警 0', '预警 1', '预警 50', '预警 2'])
    await box.close()
  })
})
