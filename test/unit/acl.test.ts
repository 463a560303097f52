import { describe, expect, it } from 'vitest'
import { forwardAllowed, publishVerdict, routable, subscribeAllowed, willAllowed } from '../../ingest/broker/acl.js'
import type { AccountPrincipal, DevicePrincipal } from '../../ingest/registry.js'

const device: DevicePrincipal = { type: 'device', id: 'd1', mineId: 'm1', kind: 'prism', name: 'P', intervalMs: 60_000, secretHash: 'x' }
const account: AccountPrincipal = { type: 'account', id: 'svc', name: 'S', mines: new Set(['m1']), secretHash: 'x' }

describe('publish ACL', () => {
  it.each([
    ['mines/m1/devices/d1/telemetry', 'telemetry'],
    ['mines/m1/devices/d1/status', 'status'],
  ])('a device may publish %s', (topic, channel) => {
    expect(publishVerdict(device, topic)).toEqual({ ok: true, channel })
  })

  it.each([
    ['mines/m1/devices/d2/telemetry', 'TOPIC_FORBIDDEN'],
    ['mines/m2/devices/d1/telemetry', 'TOPIC_FORBIDDEN'],
    ['mines/m1/devices/d1/rejects', 'TOPIC_FORBIDDEN'],
    ['mines/m1/alerts', 'TOPIC_FORBIDDEN'],
    ['$SYS/anything', 'TOPIC_FORBIDDEN'],
    ['$minewatch/dropped', 'TOPIC_FORBIDDEN'],
    ['other/topic', 'TOPIC_FORBIDDEN'],
    ['mines/m1/devices/d1/commands', 'UNKNOWN_TOPIC'],
    ['mines/m1/devices/d1/telemetry/x', 'UNKNOWN_TOPIC'],
  ])('a device may not publish %s (%s)', (topic, code) => {
    const v = publishVerdict(device, topic)
    expect(v.ok).toBe(false)
    expect(!v.ok && v.problem.code).toBe(code)
  })

  it('a service account may not publish at all', () => {
    expect(publishVerdict(account, 'mines/m1/alerts').ok).toBe(false)
  })
})

describe('subscribe ACL', () => {
  it.each([
    [device, 'mines/m1/devices/d1/rejects', true],
    [device, 'mines/m1/devices/d2/rejects', false],
    [device, 'mines/m1/devices/d1/telemetry', false],
    [device, '#', false],
    [device, 'mines/m1/devices/d1/#', false],
    [device, 'mines/+/devices/d1/rejects', false],
    [device, '$SYS/#', false],
    [device, 'mines/m1/alerts', false],
    [account, 'mines/m1/alerts', true],
    [account, 'mines/+/alerts', true],
    [account, 'mines/m2/alerts', false],
    [account, '#', false],
    [account, 'mines/m1/#', false],
    [account, 'mines/m1/devices/d1/telemetry', false],
  ] as const)('%s → %s: %s', (principal, filter, allowed) => {
    expect(subscribeAllowed(principal, filter)).toBe(allowed)
  })
})

describe('forward and will ACL', () => {
  it.each([
    [account, 'mines/m1/alerts', true],
    [account, 'mines/m2/alerts', false],
    [device, 'mines/m1/devices/d1/rejects', true],
    [device, 'mines/m1/devices/d2/rejects', false],
  ] as const)('forward to %s of %s: %s', (principal, topic, allowed) => {
    expect(forwardAllowed(principal, topic)).toBe(allowed)
  })

  it.each([
    [device, 'mines/m1/devices/d1/status', true],
    [device, 'mines/m1/devices/d1/telemetry', false],
    [device, 'mines/m1/devices/d2/status', false],
    [account, 'mines/m1/devices/d1/status', false],
  ] as const)('will of %s on %s: %s', (principal, topic, allowed) => {
    expect(willAllowed(principal, topic)).toBe(allowed)
  })
})

describe('routing', () => {
  it.each([
    ['mines/m1/devices/d1/telemetry', false],
    ['$minewatch/dropped', false],
    ['mines/m1/devices/d1/status', true],
    ['mines/m1/devices/d1/rejects', true],
    ['mines/m1/alerts', true],
  ])('%s is routed: %s (telemetry and refused messages have no one who may receive them)', (topic, expected) => {
    expect(routable(topic)).toBe(expected)
  })
})
