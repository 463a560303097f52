import { describe, expect, it } from 'vitest'
import { mergePresence, type DevicePresence } from '../../ingest/presence.js'

const p = (connected: boolean, since: number, online?: boolean): DevicePresence => ({ deviceId: 'd', connected, online, since })

/** A device's presence from each node's view (cluster mode, infra/cluster/presence.ts). */
describe('merging the nodes’ views of a device', () => {
  it('is connected while any node has it, since the earliest of those connections', () => {
    expect(mergePresence([p(false, 50), p(true, 20), p(true, 30)])).toEqual(p(true, 20))
  })

  it('is as the latest view left it when no node has it', () => {
    expect(mergePresence([p(false, 10), undefined, p(false, 40, false)])).toEqual(p(false, 40, false))
  })

  it('takes the latest status the device published, wherever it was heard', () => {
    expect(mergePresence([p(true, 10, true), p(false, 60, false)])).toEqual(p(true, 10, false))
  })

  it('knows nothing of a device no node has seen', () => {
    expect(mergePresence([undefined, undefined])).toBeUndefined()
  })
})
