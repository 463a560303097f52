import { z } from 'zod'
import { KINDS, type DeviceKind } from '../contract/kinds.js'

/**
 * 协议改造 (issue 16 item 2): equipment that speaks Modbus TCP (pumps, power meters, PLCs) reaches
 * the platform through a collector that reads its registers and turns them into readings of the
 * device contract. This is the register map in the site file and its decoding, pure; the polling
 * client is infra/modbus/collector.ts, and its readings go through the same intake as MQTT's.
 *
 * A 32-bit value spans two registers; vendors order its bytes four ways: ABCD (big-endian, the
 * Modbus convention), CDAB (words swapped, common in meters), BADC (bytes swapped in each word),
 * DCBA (little-endian).
 */
export const modbusRegisterSchema = z.strictObject({
  /** The contract's metric this register gives (docs/device-contract.md). */
  metric: z.string().min(1),
  /** holding (FC3), input (FC4), coil (FC1), discrete (FC2). */
  table: z.enum(['holding', 'input', 'coil', 'discrete']).default('holding'),
  /** The register or bit number as the protocol counts it, from 0 (register 40001 is holding 0). */
  address: z.int().min(0).max(65535),
  type: z.enum(['bool', 'uint16', 'int16', 'uint32', 'int32', 'float32']).default('uint16'),
  order: z.enum(['ABCD', 'CDAB', 'BADC', 'DCBA']).default('ABCD'),
  /** value = raw × scale + offset, in the contract's unit. */
  scale: z.number().default(1),
  offset: z.number().default(0),
  /** The unit the scaled value is in: it must be the contract's (a map says what it gives). */
  unit: z.string().optional(),
})

export const modbusSchema = z.strictObject({
  host: z.string().min(1),
  port: z.int().min(1).max(65535).default(502),
  /** The Modbus unit (slave) id. */
  unit: z.int().min(0).max(255).default(1),
  /** Seconds between polls; default the device's reporting interval. */
  every: z.number().min(0.1).optional(),
  /** Seconds a request may take before the poll counts as failed. */
  timeout: z.number().positive().default(3),
  registers: z.array(modbusRegisterSchema).min(1),
})

export type ModbusRegister = z.infer<typeof modbusRegisterSchema>
export type ModbusConfig = z.infer<typeof modbusSchema>

const WIDE = new Set(['uint32', 'int32', 'float32'])
/** Registers a value of this type spans. */
export const widthOf = (r: Pick<ModbusRegister, 'type' | 'table'>) => (r.table === 'coil' || r.table === 'discrete' ? 1 : WIDE.has(r.type) ? 2 : 1)

/** What a map gets wrong for its device's kind, as (path, message): reported with the site file's paths. */
export function checkRegisterMap(kind: DeviceKind, map: ModbusConfig): { path: (string | number)[]; message: string }[] {
  const metrics = KINDS[kind].metrics as Record<string, { type: string; unit: string }>
  const out: { path: (string | number)[]; message: string }[] = []
  map.registers.forEach((r, i) => {
    const m = metrics[r.metric]
    if (!m) return out.push({ path: ['registers', i, 'metric'], message: `a ${kind} has no metric "${r.metric}" (it has ${Object.keys(metrics).join(', ')})` })
    const bit = r.table === 'coil' || r.table === 'discrete' || r.type === 'bool'
    if ((m.type === 'boolean') !== bit)
      return out.push({
        path: ['registers', i, 'type'],
        message: m.type === 'boolean' ? `${r.metric} is true or false: read it from a coil or discrete input, or as type bool` : `${r.metric} is a number: not a bit`,
      })
    if (r.unit !== undefined && r.unit !== m.unit)
      out.push({ path: ['registers', i, 'unit'], message: `${r.metric} is in ${m.unit || 'no unit'}, not ${r.unit}: scale the register to the contract's unit` })
    return undefined
  })
  return out
}

/** One value from its register words (each 0–65535) or its bit. */
export function registerValue(r: ModbusRegister, raw: readonly number[] | boolean): number | boolean {
  if (typeof raw === 'boolean') return raw
  if (r.type === 'bool') return raw[0] !== 0
  if (!WIDE.has(r.type)) {
    const w = raw[0]!
    return scaled(r, r.type === 'int16' && w > 0x7fff ? w - 0x10000 : w)
  }
  const [w0, w1] = [raw[0]!, raw[1]!]
  const abcd = [w0 >> 8, w0 & 0xff, w1 >> 8, w1 & 0xff]
  const bytes = r.order === 'ABCD' ? abcd : r.order === 'CDAB' ? [abcd[2]!, abcd[3]!, abcd[0]!, abcd[1]!] : r.order === 'BADC' ? [abcd[1]!, abcd[0]!, abcd[3]!, abcd[2]!] : [...abcd].reverse()
  const view = new DataView(Uint8Array.from(bytes).buffer)
  const value = r.type === 'uint32' ? view.getUint32(0) : r.type === 'int32' ? view.getInt32(0) : view.getFloat32(0)
  return scaled(r, value)
}

/**
 * raw × scale + offset, without the binary fraction's residue: 312 × 0.1 is 31.200000000000003 in
 * floating point, and a reading, a threshold comparison and a screen want 31.2. Twelve significant
 * digits are more than any register holds (a float32 has about seven).
 */
function scaled(r: ModbusRegister, raw: number): number {
  return Number((raw * r.scale + r.offset).toPrecision(12))
}

/** The reads a map needs: per table, one contiguous range (at most 120 registers or 2000 bits, else several). */
export function readPlan(map: ModbusConfig): { table: ModbusRegister['table']; address: number; length: number }[] {
  const plan: { table: ModbusRegister['table']; address: number; length: number }[] = []
  for (const table of ['holding', 'input', 'coil', 'discrete'] as const) {
    const limit = table === 'coil' || table === 'discrete' ? 2000 : 120
    const spans = map.registers
      .filter((r) => r.table === table)
      .map((r) => [r.address, r.address + widthOf(r)] as const)
      .sort((a, b) => a[0] - b[0])
    for (const [from, to] of spans) {
      const last = plan.at(-1)
      if (last && last.table === table && to - last.address <= limit && from <= last.address + last.length + 8) last.length = Math.max(last.length, to - last.address)
      else plan.push({ table, address: from, length: to - from })
    }
  }
  return plan
}

/** The reading's values from what the reads returned (per table, address → word or bit). */
export function valuesOf(map: ModbusConfig, read: (table: ModbusRegister['table'], address: number) => number | boolean | undefined): Record<string, number | boolean> {
  const values: Record<string, number | boolean> = {}
  for (const r of map.registers) {
    const first = read(r.table, r.address)
    if (first === undefined) continue
    values[r.metric] = typeof first === 'boolean' ? first : registerValue(r, widthOf(r) === 2 ? [first, read(r.table, r.address + 1) as number] : [first])
  }
  return values
}
