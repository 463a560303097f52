import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AlertEvent } from '../../alerting/book/alert.js'
import { alertsStream, writeEvents } from '../../infra/cluster/rules.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'

/**
 * The fencing token (issue 17 item 4; docs/cluster.md, "Rules and book"): a mine's events are
 * written only under the epoch its lease was last taken with. A node that lost the mine while it
 * was stalled (a pause of the process between its last look at its lease and its write) writes
 * nothing, whatever it believes. Against a real Redis, since the check is in the script Redis runs.
 */
let redis: TestRedis
let r: Redis

beforeAll(async () => {
  redis = await startRedis()
  r = new Redis(redis.url)
}, 60_000)

afterAll(async () => {
  r?.disconnect()
  await redis?.dispose()
})

const event = { type: 'raised', alertId: 'a1', mineId: 'm1', at: 1, actor: 'system', notify: true } as unknown as AlertEvent

describe('cluster mode: a mine’s events are written only under its current epoch', () => {
  it('refuses a writer whose epoch has moved on, and takes the current owner’s events and judged id', async () => {
    // the mine's lease taken twice: epoch 2 is the owner's
    await r.set('minewatch:lease-epoch:m1', '2')
    expect(await writeEvents(r, { mineId: 'm1', epoch: 1, node: 'old', judged: '5-0', events: [event] })).toBeNull()
    expect(await r.xlen(alertsStream('m1'))).toBe(0)
    expect(await r.get('minewatch:judged:m1')).toBeNull()

    const ids = await writeEvents(r, { mineId: 'm1', epoch: 2, node: 'new', judged: '7-0', events: [event] })
    expect(ids).toHaveLength(1)
    expect(await r.xlen(alertsStream('m1'))).toBe(1)
    expect(await r.get('minewatch:judged:m1')).toBe('7-0')
    // the judged id alone, with no events
    expect(await writeEvents(r, { mineId: 'm1', epoch: 2, node: 'new', judged: '9-0', events: [] })).toEqual([])
    expect(await r.get('minewatch:judged:m1')).toBe('9-0')
  })
})
