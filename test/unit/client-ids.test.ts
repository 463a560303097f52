import { describe, expect, it } from 'vitest'
import { ClientIds } from '../../ingest/broker/client-ids.js'

describe('client-id ownership', () => {
  it('is held while connected, survives a same-principal takeover, and ends with the last connection of a clean session', () => {
    const ids = new ClientIds()
    ids.claim('x', 'dev-a', false)
    expect(ids.ownerOf('x')).toBe('dev-a')
    ids.claim('x', 'dev-a', false) // a reconnect takes the old connection over
    ids.release('x', 'dev-a') // the old one closes
    expect(ids.ownerOf('x')).toBe('dev-a')
    ids.release('x', 'dev-b') // not the owner: nothing changes
    expect(ids.ownerOf('x')).toBe('dev-a')
    ids.release('x', 'dev-a')
    expect(ids.ownerOf('x')).toBeUndefined()
  })

  it('keeps a persistent session’s id for its owner after it disconnects, until a clean session of the owner ends it', () => {
    const ids = new ClientIds()
    ids.claim('svc', 'svc-a', true)
    ids.release('svc', 'svc-a')
    expect(ids.ownerOf('svc')).toBe('svc-a')
    ids.claim('svc', 'svc-a', false)
    ids.release('svc', 'svc-a')
    expect(ids.ownerOf('svc')).toBeUndefined()
  })

  it('remembers at most 16 session ids per principal, the oldest forgotten first', () => {
    const ids = new ClientIds()
    for (let i = 0; i < 1000; i++) {
      ids.claim(`s${i}`, 'dev-a', true)
      ids.release(`s${i}`, 'dev-a')
    }
    expect(ids.size).toBe(16)
    expect(ids.ownerOf('s999')).toBe('dev-a')
    expect(ids.ownerOf('s0')).toBeUndefined()
  })
})
