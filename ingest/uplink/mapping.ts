import { z } from 'zod'
import { metricSpec } from '../contract/kinds.js'
import type { Reading } from '../reading.js'
import { isoInZone } from '../zone-time.js'
import { MAX_REPORTED_BATCH, type ReportedEvent } from './reported.js'

/**
 * The uplink's payload mapping (docs/uplink.md, "Payload mapping"): how a reading becomes an
 * upstream MQTT message. The built-in mapping, `minewatch/1`, is the device contract itself, so a
 * minewatch regulator platform takes a mine platform's uplink as a gateway's publishes. A provincial
 * system with another format is served by a mapping file (YAML or JSON) rather than by code: a
 * topic and a payload template whose `{field}` placeholders are filled from the reading.
 *
 * Pure: no I/O and no clock.
 */
export const MAPPING_FORMAT = 1

/** A placeholder's name: a field, or `values.<metric>`. */
const FIELDS = ['mineId', 'deviceId', 'kind', 'ts', 'time', 'utc', 'seq', 'values', 'mineCode', 'deviceCode', 'metric', 'value', 'unit'] as const
type Field = (typeof FIELDS)[number]
/** A device state's fields: `time` and `utc` are of `since`. */
const STATE_FIELDS = ['mineId', 'deviceId', 'kind', 'mineCode', 'deviceCode', 'online', 'since', 'time', 'utc'] as const
const METRIC_FIELDS: ReadonlySet<Field> = new Set(['metric', 'value', 'unit'])
/** A warning event's fields (reported.ts): `time` and `utc` are of the step (`at`); `event` is the whole event. */
const ALERT_FIELDS = [
  'mineId',
  'mineCode',
  'alertId',
  'type',
  'at',
  'time',
  'utc',
  'actor',
  'subjectType',
  'subjectId',
  'subjectName',
  'deviceCode',
  'rule',
  'ruleKind',
  'class',
  'level',
  'peak',
  'state',
  'normal',
  'value',
  'threshold',
  'unit',
  'message',
  'raisedAt',
  'deadline',
  'overdue',
  'event',
] as const

type Template = string | number | boolean | null | readonly Template[] | { readonly [key: string]: Template }
const templateSchema: z.ZodType<Template> = z.lazy(() => z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(templateSchema), z.record(z.string(), templateSchema)]))

export const mappingSchema = z.strictObject({
  /** The mapping file's own format; a platform refuses a format it does not know rather than guess. */
  format: z.literal(MAPPING_FORMAT, { error: `expected format: ${MAPPING_FORMAT}` }),
  /** A name for the health page and logs, e.g. `省平台 2025 版`. */
  name: z.string().min(1).max(100),
  readings: z.strictObject({
    topic: z.string().min(1).max(500),
    payload: templateSchema,
    /** `reading`: one message per reading; `metric`: one per metric of it (fields metric, value, unit). */
    each: z.enum(['reading', 'metric']).default('reading'),
    /** Consecutive readings of one device (`each: reading`) sent as one JSON array of payloads, at most this many. */
    batch: z.int().min(1).max(1000).default(1),
  }),
  /**
   * Device states (online or not), sent when one changes and all of them at each connect; the
   * upstream keeps the last (retained). Absent: states are not sent.
   */
  states: z
    .strictObject({
      topic: z.string().min(1).max(500),
      payload: templateSchema,
      retain: z.boolean().default(true),
    })
    .optional(),
  /**
   * The mine's warning events (each step of a warning: raised, level, 签收, 指派, 处置, overdue), in
   * the order they happened, from the alert journal; `batch` events of one topic a message, as a
   * JSON array. Absent: warnings are not sent.
   */
  alerts: z
    .strictObject({
      topic: z.string().min(1).max(500),
      payload: templateSchema,
      batch: z.int().min(1).max(MAX_REPORTED_BATCH).default(1),
    })
    .optional(),
  /** The upstream system's codes for mines and devices (矿山编码, 测点编码); an id without one is sent as itself. */
  codes: z
    .strictObject({
      mines: z.record(z.string(), z.string().min(1)).default({}),
      devices: z.record(z.string(), z.string().min(1)).default({}),
    })
    .default({ mines: {}, devices: {} }),
})

export type Mapping = z.infer<typeof mappingSchema>

/** The device contract itself: a minewatch regulator takes it as a gateway's publishes (docs/device-contract.md). */
export const MINEWATCH_MAPPING: Mapping = {
  format: MAPPING_FORMAT,
  name: 'minewatch/1',
  readings: { topic: 'mines/{mineId}/devices/{deviceId}/telemetry', payload: { ts: '{ts}', values: '{values}', seq: '{seq}' }, each: 'reading', batch: 200 },
  // the device contract's status message; `since` is tolerated there as an extra field
  states: { topic: 'mines/{mineId}/devices/{deviceId}/status', payload: { online: '{online}', since: '{since}' }, retain: true },
  // a minewatch regulator keeps them as the mine's 上报预警 (reported.ts); 20 events are well under a message's 256 KiB
  alerts: { topic: 'mines/{mineId}/uplink/alerts', payload: '{event}', batch: 20 },
  codes: { mines: {}, devices: {} },
}

export interface UplinkMessage {
  readonly topic: string
  readonly payload: string
  /** Readings it carries (a metric message carries part of one: counted once, on its first metric). */
  readonly readings: number
}

/** A mapping file's content checked: the mapping, or what is wrong with it, by path. */
export function parseMapping(raw: unknown): { ok: true; mapping: Mapping } | { ok: false; errors: string[] } {
  const parsed = mappingSchema.safeParse(raw)
  if (!parsed.success) return { ok: false, errors: parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`) }
  const mapping = parsed.data
  const errors: string[] = []
  const perMetric = mapping.readings.each === 'metric'
  const check = (where: string, text: string) => {
    for (const name of placeholders(text)) {
      const field = name.startsWith('values.') ? undefined : (name as Field)
      if (field !== undefined && !FIELDS.includes(field)) errors.push(`${where}: unknown field {${name}}; known: ${FIELDS.join(', ')}, values.<metric>`)
      else if (field !== undefined && METRIC_FIELDS.has(field) && !perMetric) errors.push(`${where}: {${name}} needs each: metric`)
    }
  }
  check('readings.topic', mapping.readings.topic)
  walkStrings(mapping.readings.payload, 'readings.payload', check)
  const checkState = (where: string, text: string) => {
    for (const name of placeholders(text)) if (!(STATE_FIELDS as readonly string[]).includes(name)) errors.push(`${where}: unknown field {${name}} for a state; known: ${STATE_FIELDS.join(', ')}`)
  }
  if (mapping.states) {
    checkState('states.topic', mapping.states.topic)
    walkStrings(mapping.states.payload, 'states.payload', checkState)
  }
  const checkAlert = (where: string, text: string) => {
    for (const name of placeholders(text))
      if (!(ALERT_FIELDS as readonly string[]).includes(name)) errors.push(`${where}: unknown field {${name}} for a warning event; known: ${ALERT_FIELDS.join(', ')}`)
  }
  if (mapping.alerts) {
    checkAlert('alerts.topic', mapping.alerts.topic)
    walkStrings(mapping.alerts.payload, 'alerts.payload', checkAlert)
  }
  if (perMetric && mapping.readings.batch > 1) errors.push('readings.batch: only with each: reading')
  return errors.length > 0 ? { ok: false, errors } : { ok: true, mapping }
}

/**
 * The messages for a run of readings, in their order: a device's readings stay in order; with
 * `batch`, a device's readings of the run go together (at most `batch` a message), the devices in
 * the order they first appear.
 */
export function mapReadings(mapping: Mapping, readings: readonly Reading[], timeZoneOf: (mineId: string) => string): UplinkMessage[] {
  const rules = mapping.readings
  const out: UplinkMessage[] = []
  if (rules.each === 'metric') {
    for (const r of readings) {
      let first = true
      for (const [metric, value] of Object.entries(r.values)) {
        const fields = fieldsOf(mapping, r, timeZoneOf, { metric, value, unit: metricSpec(r.kind, metric)?.unit ?? '' })
        out.push({ topic: fillText(rules.topic, fields), payload: JSON.stringify(fill(rules.payload, fields)), readings: first ? 1 : 0 })
        first = false
      }
    }
    return out
  }
  // by topic, in the order each first appears; a group is sent when full and at the end
  const groups = new Map<string, unknown[]>()
  const flush = (topic: string, items: unknown[]) => out.push({ topic, payload: JSON.stringify(rules.batch > 1 ? items : items[0]), readings: items.length })
  for (const r of readings) {
    const fields = fieldsOf(mapping, r, timeZoneOf)
    const topic = fillText(rules.topic, fields)
    const payload = fill(rules.payload, fields)
    if (rules.batch === 1) {
      flush(topic, [payload])
      continue
    }
    let group = groups.get(topic)
    if (!group) groups.set(topic, (group = []))
    group.push(payload)
    if (group.length >= rules.batch) {
      flush(topic, group)
      groups.delete(topic)
    }
  }
  for (const [topic, items] of groups) flush(topic, items)
  return out
}

/** A device's state as the uplink sends it: online is connected and not saying otherwise. */
export interface DeviceState {
  readonly mineId: string
  readonly deviceId: string
  readonly kind: string
  readonly online: boolean
  /** Since when (epoch ms). */
  readonly since: number
}

/** The message for a device's state, or none when the mapping sends no states. */
export function mapState(mapping: Mapping, state: DeviceState, timeZoneOf: (mineId: string) => string): (UplinkMessage & { readonly retain: boolean }) | undefined {
  const rules = mapping.states
  if (!rules) return undefined
  const fields: Fields = {
    ...state,
    mineCode: mapping.codes.mines[state.mineId] ?? state.mineId,
    deviceCode: mapping.codes.devices[state.deviceId] ?? state.deviceId,
    time: isoInZone(state.since, timeZoneOf(state.mineId)),
    utc: new Date(state.since).toISOString(),
  }
  return { topic: fillText(rules.topic, fields), payload: JSON.stringify(fill(rules.payload, fields)), readings: 0, retain: rules.retain }
}

/**
 * The messages for a run of warning events, in their order; with `batch`, consecutive events of
 * one topic go together (a warning's steps stay in order: a topic is a mine's, and a group is sent
 * before a later one of the same topic). None when the mapping sends no warnings.
 */
export function mapAlertEvents(mapping: Mapping, events: readonly ReportedEvent[], timeZoneOf: (mineId: string) => string): UplinkMessage[] {
  const rules = mapping.alerts
  if (!rules) return []
  const out: UplinkMessage[] = []
  let group: { topic: string; items: unknown[] } | undefined
  const flush = () => {
    if (group) out.push({ topic: group.topic, payload: JSON.stringify(rules.batch > 1 ? group.items : group.items[0]), readings: group.items.length })
    group = undefined
  }
  for (const e of events) {
    const a = e.alert
    const fields: Fields = {
      mineId: e.mineId,
      mineCode: mapping.codes.mines[e.mineId] ?? e.mineId,
      alertId: e.alertId,
      type: e.type,
      at: e.at,
      time: isoInZone(e.at, timeZoneOf(e.mineId)),
      utc: new Date(e.at).toISOString(),
      actor: e.actor,
      subjectType: a.subject.type,
      subjectId: a.subject.id,
      subjectName: a.subject.name,
      deviceCode: a.subject.type === 'device' ? (mapping.codes.devices[a.subject.id] ?? a.subject.id) : a.subject.id,
      rule: a.rule,
      ruleKind: a.ruleKind,
      class: a.class,
      level: a.level,
      peak: a.peak,
      state: a.state,
      normal: a.normal,
      value: a.value,
      threshold: a.threshold,
      unit: a.unit,
      message: a.message,
      raisedAt: a.raisedAt,
      deadline: a.deadline,
      overdue: a.overdue,
      event: e,
    }
    const topic = fillText(rules.topic, fields)
    if (group && (group.topic !== topic || group.items.length >= rules.batch)) flush()
    group ??= { topic, items: [] }
    group.items.push(fill(rules.payload, fields))
  }
  flush()
  return out
}

type Fields = Readonly<Record<string, unknown>>

function fieldsOf(mapping: Mapping, r: Reading, timeZoneOf: (mineId: string) => string, metric?: { metric: string; value: unknown; unit: string }): Fields {
  return {
    mineId: r.mineId,
    deviceId: r.deviceId,
    kind: r.kind,
    ts: r.ts,
    time: isoInZone(r.ts, timeZoneOf(r.mineId)),
    utc: new Date(r.ts).toISOString(),
    seq: r.seq,
    values: r.values,
    mineCode: mapping.codes.mines[r.mineId] ?? r.mineId,
    deviceCode: mapping.codes.devices[r.deviceId] ?? r.deviceId,
    ...metric,
  }
}

const PLACEHOLDER = /\{([A-Za-z][\w.-]*)\}/g

function placeholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1]!)
}

function lookup(fields: Fields, name: string): unknown {
  if (name.startsWith('values.')) return (fields.values as Readonly<Record<string, unknown>>)[name.slice('values.'.length)]
  return fields[name]
}

/** A string with placeholders inside text: each replaced by its value as text ('' when absent). */
function fillText(text: string, fields: Fields): string {
  return text.replace(PLACEHOLDER, (_, name: string) => {
    const v = lookup(fields, name)
    return v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v as string | number | boolean)
  })
}

const WHOLE = /^\{([A-Za-z][\w.-]*)\}$/

/**
 * A template filled: a string that is one placeholder keeps the value's JSON type (a number stays
 * a number, `{values}` an object) and, when absent, drops its key; other strings are text.
 */
function fill(t: Template, fields: Fields): unknown {
  if (typeof t === 'string') {
    const whole = WHOLE.exec(t)
    return whole ? lookup(fields, whole[1]!) : fillText(t, fields)
  }
  if (Array.isArray(t)) return t.map((item: Template) => fill(item, fields) ?? null)
  if (t !== null && typeof t === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(t)) {
      const filled = fill(v, fields)
      if (filled !== undefined) out[k] = filled
    }
    return out
  }
  return t
}

function walkStrings(t: Template, where: string, visit: (where: string, text: string) => void): void {
  if (typeof t === 'string') visit(where, t)
  else if (Array.isArray(t)) t.forEach((item: Template, i) => walkStrings(item, `${where}[${i}]`, visit))
  else if (t !== null && typeof t === 'object') for (const [k, v] of Object.entries(t)) walkStrings(v, `${where}.${k}`, visit)
}
