import { describe, expect, it } from 'vitest'
import { alertsTopic, deviceTopic, hasWildcard, parseTopic } from '../../ingest/contract/topics.js'

describe('parseTopic', () => {
  it.each([
    ['mines/m1/devices/d-1/telemetry', { type: 'device', mineId: 'm1', deviceId: 'd-1', channel: 'telemetry' }],
    ['mines/m1/devices/d_1/status', { type: 'device', mineId: 'm1', deviceId: 'd_1', channel: 'status' }],
    ['mines/M-9/devices/X/rejects', { type: 'device', mineId: 'M-9', deviceId: 'X', channel: 'rejects' }],
    ['mines/m1/alerts', { type: 'alerts', mineId: 'm1' }],
  ])('%s', (topic, expected) => {
    expect(parseTopic(topic)).toEqual(expected)
  })

  it.each([
    '',
    'mines',
    'mines/m1',
    'mines/m1/devices/d1',
    'mines/m1/devices/d1/telemetry/extra',
    'mines/m1/devices/d1/commands',
    'mines/m1/sensors/d1/telemetry',
    'mine/m1/devices/d1/telemetry',
    'mines/m 1/devices/d1/telemetry',
    'mines/m1/devices/d.1/telemetry',
    'mines//devices/d1/telemetry',
    `mines/${'x'.repeat(65)}/alerts`,
    'mines/+/alerts',
    '/mines/m1/alerts',
    '$SYS/broker/clients',
  ])('refuses %j', (topic) => {
    expect(parseTopic(topic)).toBeNull()
  })

  it('round-trips the builders', () => {
    expect(parseTopic(deviceTopic('m1', 'd1', 'status'))).toEqual({ type: 'device', mineId: 'm1', deviceId: 'd1', channel: 'status' })
    expect(parseTopic(alertsTopic('m1'))).toEqual({ type: 'alerts', mineId: 'm1' })
  })

  it.each([
    ['#', true],
    ['mines/+/alerts', true],
    ['mines/m1/alerts', false],
  ])('hasWildcard(%s) = %s', (filter, expected) => {
    expect(hasWildcard(filter)).toBe(expected)
  })
})
