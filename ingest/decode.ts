import { z } from 'zod'
import { KINDS, DEVICE_KINDS, metricNames, metricSpec, type DeviceKind, type MetricSpec } from './contract/kinds.js'
import type { MetricValue, Reading } from './reading.js'
import { problem, type Problem } from './refusals.js'
import { parseTimestamp } from './timestamp.js'

/**
 * Decode and validate a telemetry payload: pure, no clock of its own (`now` is a parameter).
 * A backlog array is judged reading by reading: one bad reading does not cost the good ones
 * their place in the record (断电续传 uploads can hold days of data).
 */
export interface DecodeLimits {
  /** Largest payload accepted, bytes (default 256 KiB). */
  readonly maxPayloadBytes: number
  /** Readings further than this into the future are clock skew (5 minutes). */
  readonly maxFutureMs: number
  /** Backlog older than this is refused. */
  readonly maxAgeMs: number
}

export interface DeviceRef {
  readonly mineId: string
  readonly deviceId: string
  readonly kind: DeviceKind
}

export interface Decoded {
  readonly readings: Reading[]
  readonly problems: Problem[]
}

const envelopeSchema = z.strictObject({
  ts: z.unknown(),
  values: z.record(z.string(), z.unknown()),
  seq: z.int().nonnegative().optional(),
})

function metricSchema(spec: MetricSpec) {
  if (spec.type === 'boolean') return z.boolean().optional()
  const base = spec.type === 'integer' ? z.int() : z.number()
  return (spec.min === undefined ? base : base.min(spec.min)).optional()
}

const valuesSchemas = Object.fromEntries(
  DEVICE_KINDS.map((kind) => {
    const metrics: Readonly<Record<string, MetricSpec>> = KINDS[kind].metrics
    const shape = Object.fromEntries(Object.entries(metrics).map(([name, spec]) => [name, metricSchema(spec)]))
    return [kind, z.strictObject(shape)]
  }),
) as unknown as Record<DeviceKind, z.ZodType<Record<string, MetricValue | undefined>>>

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Readings one backlog array may hold (docs/device-contract.md): days of a fast device fit, and a
 * message of a hundred thousand tiny items (a 256 KiB `[0,0,…]`) is refused whole before anything
 * decodes it item by item.
 */
export const MAX_BATCH = 10_000
/**
 * Nesting a payload may have: a backlog of readings needs 3 (`[{"values": {…}}]`). Deeper is not a
 * reading, and a payload nested thousands deep overflows the stack of whatever walks it.
 */
export const MAX_DEPTH = 8

/** The deepest nesting of arrays and objects in JSON text (outside strings). */
export function jsonDepth(text: string): number {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92)
        i++ // backslash: the next character is escaped
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 123 || c === 91) deepest = Math.max(deepest, ++depth)
    else if (c === 125 || c === 93) depth--
  }
  return deepest
}

/** JSON has no NaN or Infinity; firmware that prints them deserves a precise answer. */
const NON_FINITE_TOKEN = /(?<![A-Za-z"])(-?(?:NaN|nan|Infinity|inf))(?![A-Za-z"])/

export function decodeTelemetry(payload: Buffer, device: DeviceRef, now: number, limits: DecodeLimits): Decoded {
  const parsed = parseJson(payload, limits.maxPayloadBytes)
  if (!parsed.ok) return refuse(parsed.problem)
  const body = parsed.value
  if (Array.isArray(body)) {
    if (body.length === 0) return refuse(problem('EMPTY_BATCH', 'backlog array is empty'))
    if (body.length > MAX_BATCH) return refuse(problem('BATCH_TOO_LONG', `backlog array holds ${body.length} items; send at most ${MAX_BATCH} readings per message`))
    const readings: Reading[] = []
    const problems: Problem[] = []
    body.forEach((item, index) => {
      const r = decodeReading(item, device, now, limits, index)
      if ('problem' in r) problems.push(r.problem)
      else readings.push(r.reading)
    })
    return { readings, problems }
  }
  const r = decodeReading(body, device, now, limits, undefined)
  return 'problem' in r ? refuse(r.problem) : { readings: [r.reading], problems: [] }
}

function refuse(p: Problem): Decoded {
  return { readings: [], problems: [p] }
}

/** Size check, UTF-8 and JSON: the first steps of every device payload. */
export function parseJson(payload: Buffer, maxPayloadBytes: number): { ok: true; value: unknown } | { ok: false; problem: Problem } {
  if (payload.length > maxPayloadBytes) {
    return { ok: false, problem: problem('PAYLOAD_TOO_LARGE', `payload is ${payload.length} bytes; the limit is ${maxPayloadBytes}`) }
  }
  let text: string
  try {
    text = utf8.decode(payload)
  } catch {
    return { ok: false, problem: problem('BAD_JSON', 'payload is not valid UTF-8') }
  }
  const depth = jsonDepth(text)
  if (depth > MAX_DEPTH) return { ok: false, problem: problem('TOO_DEEP', `payload nests ${depth} levels deep; a reading needs 3, at most ${MAX_DEPTH} are read`) }
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (err) {
    const token = NON_FINITE_TOKEN.exec(text)
    if (token) {
      return { ok: false, problem: problem('NOT_FINITE', `${token[1]} is not a number JSON can carry; omit the metric instead`) }
    }
    return { ok: false, problem: problem('BAD_JSON', `payload is not valid JSON: ${(err as Error).message}`) }
  }
}

function decodeReading(item: unknown, device: DeviceRef, now: number, limits: DecodeLimits, index: number | undefined): { reading: Reading } | { problem: Problem } {
  const fast = validReading(item, device, now, limits)
  return fast ? { reading: fast } : schemaReading(item, device, now, limits, index)
}

/** One reading judged by the zod schemas: the verdict of record, and the words of every refusal. */
export function schemaReading(item: unknown, device: DeviceRef, now: number, limits: DecodeLimits, index: number | undefined): { reading: Reading } | { problem: Problem } {
  const at = index === undefined ? '' : `[${index}] `
  const envelope = envelopeSchema.safeParse(item)
  if (!envelope.success) {
    const issue = envelope.error.issues[0]!
    const path = issue.path.join('.')
    return { problem: problem('BAD_READING', `${at}${path ? path + ': ' : ''}${issue.message}; a reading is {"ts", "values", "seq"?}`, index) }
  }
  const { ts: rawTs, values, seq } = envelope.data
  const ts = parseTimestamp(rawTs)
  if (!ts.ok) return { problem: problem('BAD_TIMESTAMP', at + ts.message, index) }
  if (ts.ms > now + limits.maxFutureMs) {
    const ahead = Math.round((ts.ms - now) / 1000)
    return { problem: problem('CLOCK_SKEW', `${at}ts is ${ahead} s in the future; check the device clock (NTP)`, index) }
  }
  if (ts.ms < now - limits.maxAgeMs) {
    const days = (limits.maxAgeMs / 86_400_000).toFixed(1)
    return { problem: problem('TOO_OLD', `${at}ts ${new Date(ts.ms).toISOString()} is older than the ${days}-day backlog limit`, index) }
  }
  const names = Object.keys(values)
  if (names.length === 0) return { problem: problem('EMPTY_VALUES', `${at}values is empty`, index) }
  for (const name of names) {
    const v = values[name]
    if (typeof v === 'number' && !Number.isFinite(v)) {
      return { problem: problem('NOT_FINITE', `${at}values.${name} is ${v}`, index) }
    }
  }
  const checked = valuesSchemas[device.kind].safeParse(values)
  if (!checked.success) return { problem: valuesProblem(checked.error.issues[0]!, device.kind, values, at, index) }
  const clean = Object.fromEntries(Object.entries(checked.data).filter(([, v]) => v !== undefined)) as Record<string, MetricValue>
  const reading: Reading = {
    mineId: device.mineId,
    deviceId: device.deviceId,
    kind: device.kind,
    ts: ts.ms,
    values: clean,
    ...(seq === undefined ? {} : { seq }),
  }
  return { reading }
}

const hasOwn = Object.prototype.hasOwnProperty

/**
 * The hot path (docs/benchmarks.md, "Where the time goes"): a reading the schemas would accept,
 * checked by hand without zod's intermediate objects, and its parsed `values` kept as they are;
 * anything else returns undefined and goes through the zod schemas above, which stay the schema of
 * record and word every refusal. test/unit/decode.test.ts holds the two paths to the same verdicts.
 */
export function validReading(item: unknown, device: DeviceRef, now: number, limits: DecodeLimits): Reading | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return undefined
  const envelope = item as Record<string, unknown>
  // exactly ts, values and perhaps seq
  let keys = 0
  for (const key in envelope) {
    if (key !== 'ts' && key !== 'values' && key !== 'seq') return undefined
    keys++
  }
  const { ts: rawTs, values, seq } = envelope
  if (!hasOwn.call(envelope, 'ts') || !hasOwn.call(envelope, 'values') || keys !== (hasOwn.call(envelope, 'seq') ? 3 : 2)) return undefined
  if (seq !== undefined && !(Number.isSafeInteger(seq) && (seq as number) >= 0)) return undefined
  if (typeof values !== 'object' || values === null || Array.isArray(values)) return undefined
  const specs: Readonly<Record<string, MetricSpec>> = KINDS[device.kind].metrics
  let count = 0
  for (const name in values) {
    if (!hasOwn.call(specs, name)) return undefined
    const spec = specs[name]!
    const v = (values as Record<string, unknown>)[name]
    if (spec.type === 'boolean') {
      if (typeof v !== 'boolean') return undefined
    } else {
      if (typeof v !== 'number' || !(spec.type === 'integer' ? Number.isSafeInteger(v) : Number.isFinite(v))) return undefined
      if (spec.min !== undefined && v < spec.min) return undefined
    }
    count++
  }
  if (count === 0) return undefined
  const ts = parseTimestamp(rawTs)
  if (!ts.ok || ts.ms > now + limits.maxFutureMs || ts.ms < now - limits.maxAgeMs) return undefined
  // two literals, not a spread of `seq`: a spread here made V8 look up a hidden-class transition per message
  const kept = values as Record<string, MetricValue>
  return seq === undefined
    ? { mineId: device.mineId, deviceId: device.deviceId, kind: device.kind, ts: ts.ms, values: kept }
    : { mineId: device.mineId, deviceId: device.deviceId, kind: device.kind, ts: ts.ms, values: kept, seq: seq as number }
}

function valuesProblem(issue: z.core.$ZodIssue, kind: DeviceKind, values: Record<string, unknown>, at: string, index: number | undefined): Problem {
  if (issue.code === 'unrecognized_keys') {
    const known = metricNames(kind).join(', ')
    return problem('UNKNOWN_METRIC', `${at}unknown metric ${issue.keys.map((k) => `"${k}"`).join(', ')} for kind ${kind} (known: ${known})`, index)
  }
  const name = String(issue.path[0])
  const spec = metricSpec(kind, name)
  const unit = spec?.unit ? ` ${spec.unit}` : ''
  if (issue.code === 'too_small') {
    return problem('OUT_OF_RANGE', `${at}values.${name} = ${String(values[name])} is below ${spec?.min}${unit}`, index)
  }
  const expected = spec?.type === 'integer' ? 'a whole number' : spec?.type === 'boolean' ? 'true or false' : 'a number'
  return problem('WRONG_TYPE', `${at}values.${name} must be ${expected}${unit}, got ${shown(values[name])}`, index)
}

/** A value as the rejects notice quotes it: short, whatever the device sent. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 40 ? `${text.slice(0, 40)}… (${text.length} characters)` : text
}
