import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { PendingConnections } from '../../ingest/broker/pending-connections.js'

describe('connections not yet logged in', () => {
  it('are capped per address and in total, and a release frees exactly one place, once', () => {
    const sizes: number[] = []
    const pending = new PendingConnections(2, 3, (n) => sizes.push(n))
    const a1 = pending.admit('10.0.0.1')
    const a2 = pending.admit('10.0.0.1')
    expect(pending.admit('10.0.0.1')).toBe('address')
    const b1 = pending.admit('10.0.0.2')
    expect(pending.admit('10.0.0.3')).toBe('total')
    expect(pending.size).toBe(3)
    if (typeof a1 !== 'function' || typeof a2 !== 'function' || typeof b1 !== 'function') throw new Error('refused')
    a1()
    a1()
    expect(pending.size).toBe(2)
    expect(typeof pending.admit('10.0.0.1')).toBe('function')
    expect(pending.admit('10.0.0.3')).toBe('total')
    expect(sizes).toEqual([1, 2, 3, 2, 3])
  })

  it('follow the connection: released when it logs in or when it closes, whichever comes first', () => {
    const pending = new PendingConnections(1, 10)
    const conn = new EventEmitter()
    expect(pending.open(conn, 'x')).toBeUndefined()
    expect(pending.open(new EventEmitter(), 'x')).toBe('address')
    pending.loggedIn(conn)
    expect(pending.size).toBe(0)
    conn.emit('close')
    expect(pending.size).toBe(0)
    const other = new EventEmitter()
    expect(pending.open(other, 'x')).toBeUndefined()
    other.emit('close')
    expect(pending.size).toBe(0)
  })
})
