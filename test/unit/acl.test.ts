import { describe, expect, it } from 'vitest'
import { forwardAllowed, publishVerdict, routable, subscribeAllowed, willAllowed } from '../../ingest/broker/acl.js'
import type { AccountPrincipal, DevicePrincipal, GatewayPrincipal } from '../../ingest/registry.js'

const device: DevicePrincipal = { type: 'device', id: 'd1', mineId: 'm1', kind: 'prism', name: 'P', intervalMs: 60_000, secretHash: 'x' }
const account: AccountPrincipal = { type: 'account', id: 'svc', name: 'S', mines: new Set(['m1']), secretHash: 'x' }
const d2: DevicePrincipal = { ...device, id: 'd2', kind: 'pump' }
const other: DevicePrincipal = { ...device, id: 'e1', mineId: 'm2' }
/** A DTU for d1 and d2 of mine m1, and e1 of mine m2. */
const gateway: GatewayPrincipal = { type: 'gateway', id: 'dtu', name: 'DTU', secretHash: 'x', devices: new Map([device, d2, other].map((d) => [d.id, d])), mines: new Set() }
/** A mine platform's uplink: the mine m1 it names. */
const uplink: GatewayPrincipal = { ...gateway, id: 'up-m1', devices: new Map([device, d2].map((d) => [d.id, d])), mines: new Set(['m1']) }

describe('gateway ACL (issue 16 item 1)', () => {
  it('publishes for each of its devices, as that device, under its own topics', () => {
    expect(publishVerdict(gateway, 'mines/m1/devices/d1/telemetry')).toEqual({ ok: true, channel: 'telemetry', device })
    expect(publishVerdict(gateway, 'mines/m1/devices/d2/status')).toEqual({ ok: true, channel: 'status', device: d2 })
    expect(publishVerdict(gateway, 'mines/m2/devices/e1/telemetry')).toEqual({ ok: true, channel: 'telemetry', device: other })
  })

  it.each([
    'mines/m1/devices/d3/telemetry', // not its device
    'mines/m2/devices/d1/telemetry', // its device under another mine
    'mines/m1/devices/d1/rejects',
    'mines/m1/alerts',
    'mines/m1/devices/dtu/telemetry', // itself: a gateway has no readings of its own
    '$SYS/x',
  ])('may not publish %s', (topic) => {
    const v = publishVerdict(gateway, topic)
    expect(!v.ok && v.problem.code).toBe('TOPIC_FORBIDDEN')
  })

  it('reads its devices’ rejects, by name or by the wildcard filtered per message; sets a will only on a device’s status', () => {
    expect(subscribeAllowed(gateway, 'mines/m1/devices/d2/rejects')).toBe(true)
    expect(subscribeAllowed(gateway, 'mines/+/devices/+/rejects')).toBe(true)
    expect(subscribeAllowed(gateway, 'mines/m1/devices/d3/rejects')).toBe(false)
    expect(subscribeAllowed(gateway, 'mines/m1/devices/d1/telemetry')).toBe(false)
    expect(subscribeAllowed(gateway, 'mines/m1/alerts')).toBe(false)
    expect(subscribeAllowed(gateway, '#')).toBe(false)
    expect(forwardAllowed(gateway, 'mines/m1/devices/d1/rejects')).toBe(true)
    expect(forwardAllowed(gateway, 'mines/m1/devices/d3/rejects')).toBe(false)
    expect(forwardAllowed(gateway, 'mines/m1/alerts')).toBe(false)
    expect(willAllowed(gateway, 'mines/m1/devices/d1/status')).toBe(true)
    expect(willAllowed(gateway, 'mines/m1/devices/d3/status')).toBe(false)
  })
})

describe('reported warnings ACL (issue 16 item 4)', () => {
  it('a gateway naming a mine reports its warning events, and no one may read them', () => {
    expect(publishVerdict(uplink, 'mines/m1/uplink/alerts')).toEqual({ ok: true, channel: 'reported', mineId: 'm1' })
    expect(routable('mines/m1/uplink/alerts')).toBe(false)
    for (const p of [account, gateway, uplink, device]) {
      expect(subscribeAllowed(p, 'mines/m1/uplink/alerts')).toBe(false)
      expect(forwardAllowed(p, 'mines/m1/uplink/alerts')).toBe(false)
    }
    expect(subscribeAllowed(account, 'mines/+/uplink/alerts')).toBe(false)
  })

  it.each([
    ['up-m1', 'mines/m2/uplink/alerts', uplink], // a mine it does not name
    ['dtu', 'mines/m1/uplink/alerts', gateway], // a DTU carrying devices of m1, naming no mine
    ['d1', 'mines/m1/uplink/alerts', device],
    ['svc', 'mines/m1/uplink/alerts', account],
  ] as const)('%s may not report on %s', (_, topic, p) => {
    const v = publishVerdict(p, topic)
    expect(!v.ok && v.problem.code).toBe('TOPIC_FORBIDDEN')
  })
})

describe('publish ACL', () => {
  it.each([
    ['mines/m1/devices/d1/telemetry', 'telemetry'],
    ['mines/m1/devices/d1/status', 'status'],
  ])('a device may publish %s', (topic, channel) => {
    expect(publishVerdict(device, topic)).toEqual({ ok: true, channel, device })
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
