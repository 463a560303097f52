import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Call } from '../../alerting/notify/policy.js'
import type { Outgoing } from '../../infra/notify/channels.js'
import { Outbox, RETAIN_MS } from '../../infra/notify/outbox.js'

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

  it('compacts at a start once attempts have piled up: one line per call, the same calls, records and pending messages after it; a torn last line is ended', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'minewatch-outbox-'))
    dirs.push(dir)
    const file = join(dir, 'outbox.jsonl')
    let now = 1_000_000
    let up = false
    const sent: Outgoing[] = []
    const send = async (m: Outgoing) => {
      if (!up) throw new Error('HTTP 502: bad gateway')
      sent.push(m)
    }
    const deps = { now: () => now, log: silent, perMinute: () => 10_000 }
    let box = await Outbox.open(file, new Map([['wecom', send]]), deps)
    // 600 calls, each refused twice then delivered, and one still refused: more than a thousand lines beyond one per call
    await box.queue(Array.from({ length: 600 }, (_, i) => call(i, 'red')))
    for (let i = 0; i < 2; i++) {
      await box.pump()
      now += 11 * 60_000
    }
    up = true
    await box.pump()
    up = false
    await box.queue([call(9999, 'red')])
    await box.pump()
    const before = { a7: box.of('a7'), pending: box.of('a9999') }
    expect(before.a7[0]).toMatchObject({ status: 'delivered', attempts: 3 })
    expect(before.a7[0]!.trace.map((t) => t.t)).toEqual(['queued', 'attempt', 'attempt', 'delivered'])
    // a settled call keeps its record, not its message
    expect(before.a7[0]!.text).toBeUndefined()
    await box.close()
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).length
    expect(lines).toBe(600 * 4 + 2)
    // cut off mid-line by a crash
    appendFileSync(file, '{"t":"attempt","at":1,"id":"a9')

    box = await Outbox.open(file, new Map([['wecom', send]]), deps)
    const text = readFileSync(file, 'utf8')
    expect(text.split('\n').filter(Boolean)).toHaveLength(601)
    expect(text.endsWith('\n')).toBe(true)
    expect(box.of('a7')).toEqual(before.a7)
    expect(box.pending).toBe(1)
    // the call still to send kept its message, and goes out when the channel answers
    up = true
    now += 11 * 60_000
    await box.pump()
    expect(sent.at(-1)).toMatchObject({ id: call(9999, 'red').call.id, text: '预警 9999' })
    await box.close()
    // reopened: nothing to compact, and the delivery is there
    box = await Outbox.open(file, new Map([['wecom', send]]), deps)
    expect(box.of('a9999')[0]).toMatchObject({ status: 'delivered' })
    expect(box.pending).toBe(0)
    await box.close()
  })

  it('drops settled calls older than it keeps at a compaction, never one still to send', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'minewatch-outbox-'))
    dirs.push(dir)
    const file = join(dir, 'outbox.jsonl')
    let now = 1_000_000
    const box = await Outbox.open(file, new Map([['wecom', async () => undefined]]), { now: () => now, log: silent, perMinute: () => 20 })
    await box.queue([call(1, 'red')])
    await box.pump()
    await box.close()
    // a call to a channel that does not answer stays pending however old
    const silentChannel = await Outbox.open(file, new Map(), { now: () => now, log: silent, perMinute: () => 20 })
    await silentChannel.queue([call(2, 'red', 'down')])
    await silentChannel.close()
    now += RETAIN_MS + 60_000
    const later = await Outbox.open(file, new Map(), { now: () => now, log: silent, perMinute: () => 20 })
    expect(later.of('a1')).toEqual([])
    expect(later.of('a2')).toMatchObject([{ status: 'pending' }])
    await later.close()
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(1)
  })

  it('ends a line a crash cut short, so that the next call is a line of its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'minewatch-outbox-'))
    dirs.push(dir)
    const file = join(dir, 'outbox.jsonl')
    const deps = { now: () => 1_000_000, log: silent, perMinute: () => 20 }
    let box = await Outbox.open(file, new Map(), deps)
    await box.queue([call(1)])
    await box.close()
    appendFileSync(file, '{"t":"attempt","at":1,"id":"a1')
    box = await Outbox.open(file, new Map(), deps)
    await box.queue([call(2)])
    await box.close()
    box = await Outbox.open(file, new Map(), deps)
    expect(box.ids()).toEqual([call(1).call.id, call(2).call.id])
    await box.close()
  })
})
