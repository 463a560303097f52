import { describe, expect, it } from 'vitest'
import { checkRegisterMap, modbusSchema, readPlan, registerValue, valuesOf } from '../../ingest/modbus/register-map.js'

const map = (registers: object[]) => modbusSchema.parse({ host: 'plc.example', registers })

describe('Modbus register maps (协议改造)', () => {
  it('decodes 16- and 32-bit values in each byte order, scaled', () => {
    // 398.5 as IEEE 754 is 0x43C74000; the four orders of its bytes as vendors send them
    const reg = (order: string, type = 'float32', extra: object = {}) => map([{ metric: 'voltage', address: 0, type, order, ...extra }]).registers[0]!
    expect(registerValue(reg('ABCD'), [0x43c7, 0x4000])).toBe(398.5)
    expect(registerValue(reg('CDAB'), [0x4000, 0x43c7])).toBe(398.5)
    expect(registerValue(reg('BADC'), [0xc743, 0x0040])).toBe(398.5)
    expect(registerValue(reg('DCBA'), [0x0040, 0xc743])).toBe(398.5)
    expect(registerValue(reg('ABCD', 'int32', { scale: 0.01 }), [0xffff, 0xfc18])).toBeCloseTo(-10, 9)
    expect(registerValue(reg('ABCD', 'uint32', { scale: 0.1 }), [0x0012, 0xd687])).toBeCloseTo(123_456.7, 6)
    expect(registerValue(reg('ABCD', 'int16', { scale: 0.1 }), [0xffce])).toBeCloseTo(-5, 9)
    expect(registerValue(reg('ABCD', 'uint16', { scale: 0.1, offset: -20 }), [700])).toBeCloseTo(50, 9)
    expect(registerValue(reg('ABCD', 'bool'), [2])).toBe(true)
  })

  it('gives a scaled value as its decimal, without floating point residue (312 × 0.1 is 31.2, not 31.200000000000003)', () => {
    const reg = (type: string, scale: number, offset = 0) => map([{ metric: 'current', address: 0, type, scale, offset }]).registers[0]!
    expect(registerValue(reg('uint16', 0.1), [312])).toBe(31.2)
    expect(registerValue(reg('uint32', 0.1), [0x0012, 0xd687])).toBe(123_456.7)
    expect(registerValue(reg('int16', 0.01, 0.3), [0xfff6])).toBe(0.2)
    // a float32 keeps the value it holds: 0.1f is 0.100000001490116…, shown as its twelve digits
    expect(registerValue(reg('float32', 1), [0x3dcc, 0xcccd])).toBe(0.10000000149)
  })

  it('reads each table in as few requests as it can, and gathers the values by address', () => {
    const m = map([
      { metric: 'flow', address: 0, scale: 0.1 },
      { metric: 'current', address: 3, type: 'float32' },
      { metric: 'running', table: 'coil', address: 5 },
      { metric: 'x', address: 300 },
    ])
    expect(readPlan(m)).toEqual([
      { table: 'holding', address: 0, length: 5 },
      { table: 'holding', address: 300, length: 1 },
      { table: 'coil', address: 5, length: 1 },
    ])
    const words = new Map<string, number | boolean>([
      ['holding:0', 1205],
      ['holding:3', 0x4151],
      ['holding:4', 0x0000],
      ['coil:5', true],
    ])
    expect(valuesOf(m, (table, address) => words.get(`${table}:${address}`))).toEqual({ flow: 120.5, current: 13.0625, running: true })
  })

  it('names what a map gets wrong for its device kind, with the register’s path', () => {
    expect(checkRegisterMap('pump', map([{ metric: 'flow', address: 0, unit: 'm³/h' }]))).toEqual([])
    expect(
      checkRegisterMap(
        'pump',
        map([
          { metric: 'level', address: 0 },
          { metric: 'running', address: 1 },
          { metric: 'flow', table: 'coil', address: 2 },
          { metric: 'current', address: 3, unit: 'mA' },
        ]),
      ),
    ).toEqual([
      { path: ['registers', 0, 'metric'], message: expect.stringContaining('a pump has no metric "level"') },
      { path: ['registers', 1, 'type'], message: expect.stringContaining('running is true or false') },
      { path: ['registers', 2, 'type'], message: expect.stringContaining('flow is a number') },
      { path: ['registers', 3, 'unit'], message: expect.stringContaining('current is in A, not mA') },
    ])
  })
})
