import { describe, expect, it } from 'vitest'
import { LoginLimiter } from '../../ingest/login-limit.js'

describe('the failed-login limit', () => {
  it('forgets the least recently used idle entries past its size, never the ones in flight, never all at once', () => {
    const limiter = new LoginLimiter(5, 20, 15 * 60_000, 100)
    const held = limiter.begin('held', '10.0.0.1', 0)
    if (!('ticket' in held)) throw new Error('refused')
    for (let i = 0; i < 1000; i++) {
      const t = limiter.begin(`user-${i}`, `10.1.${i >> 8}.${i & 255}`, i)
      if ('ticket' in t) limiter.settle(t.ticket, false)
    }
    expect(limiter.size).toBeLessThanOrEqual(102)
    expect(limiter.size).toBeGreaterThan(50)
    // the try in flight is still counted when it ends
    limiter.settle(held.ticket, false)
    for (let i = 0; i < 4; i++) {
      const t = limiter.begin('held', '10.0.0.1', 2000)
      if ('ticket' in t) limiter.settle(t.ticket, false)
    }
    expect(limiter.begin('held', '10.0.0.1', 2000)).toEqual({ retryAfter: 898, reason: 'failures' })
  })

  it('lets a try again once the oldest failure is out of the window', () => {
    const limiter = new LoginLimiter(2, 20, 60_000)
    for (const at of [0, 1000]) {
      const t = limiter.begin('u', 'a', at)
      if ('ticket' in t) limiter.settle(t.ticket, false)
    }
    expect(limiter.begin('u', 'a', 30_000)).toEqual({ retryAfter: 30, reason: 'failures' })
    expect('ticket' in limiter.begin('u', 'a', 60_001)).toBe(true)
  })
})
