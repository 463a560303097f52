import { describe, expect, it } from 'vitest'
import { lagOf, mergeGateway, mergePresence, type DevicePresence, type GatewayPresence } from '../../ingest/presence.js'

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

const g = (connected: boolean, since: number): GatewayPresence => ({ gatewayId: 'g', connected, since })

/** A mine platform's link (a gateway's own connection) from each node's view: what a regulator's rules judge. */
describe('merging the nodes’ views of a gateway, and its readings’ delay', () => {
  it('is connected while any node has it, since the earliest; else as the latest view left it', () => {
    expect(mergeGateway([g(false, 50), g(true, 30), g(true, 20)])).toEqual(g(true, 20))
    expect(mergeGateway([g(false, 10), undefined, g(false, 40)])).toEqual(g(false, 40))
    expect(mergeGateway([undefined])).toBeUndefined()
  })

  it('takes the least delay over this minute and the one before, and none from older minutes', () => {
    const minute = 1000
    const at = minute * 60_000 + 5_000
    expect(lagOf({ minute, least: 800, before: 300 }, at)).toBe(300)
    expect(lagOf({ minute: minute - 1, least: 700, before: 100 }, at)).toBe(700)
    expect(lagOf({ minute: minute - 2, least: 700, before: 100 }, at)).toBeUndefined()
    expect(lagOf(undefined, at)).toBeUndefined()
  })
})
