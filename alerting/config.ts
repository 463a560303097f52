import { z } from 'zod'
import { DEVICE_KINDS, KINDS, type DeviceKind } from '../ingest/contract/kinds.js'
import { ruleSchema, type Rule } from './rules/index.js'
import { itemSchema, type Item } from './rules/aggregation.js'
import type { EngineDevice, EngineItem } from './engine.js'

/**
 * The parts of the site file that alerting owns:
 * `rules` on a device, per device kind on a mine, and per device kind for the whole site.
 * A device's rules are the built-in defaults, then the site's, the mine's and its own, where a
 * rule with the same id replaces the one before it.
 */
export const kindRulesSchema = z.partialRecord(z.enum(DEVICE_KINDS), z.array(ruleSchema)).default({})
export const deviceRulesSchema = z.array(ruleSchema).default([])
/** A mine's monitoring items (GB 39496-2020 §5.5.4): groups of points whose warnings escalate together. */
export const itemsSchema = z.array(itemSchema).default([])
export type KindRules = z.infer<typeof kindRulesSchema>

const parse = (rule: unknown): Rule => ruleSchema.parse(rule)
const STEPS = { minStep: 5, sigmas: 6, confirm: 3 }
/**
 * The two slope rates, over windows of `dayH` and `hourH` hours. The velocity a window can resolve
 * shrinks as its length to the power 3/2; a GNSS station's noise is 5–10 times a prism's
 * (docs/slope-warnings.md), so its rates need longer windows to stand as clear of its noise.
 */
const slopeRates = (dayH: number, hourH: number, note: string): Rule[] => [
  // slope reference rates from practice (README, rule table): > 10 mm/d mean; ≥ 5 mm/h on a working slope.
  // The daily rate has the daily cycle fitted out; both bridge steps and clear only after 6 h back
  // under their threshold (docs/slope-warnings.md)
  parse({
    kind: 'rate',
    id: 'rate-day',
    source: { derived: 'total' },
    window: dayH * 3600,
    per: 'day',
    thresholds: { yellow: 10 },
    clearMargin: 1,
    clearAfter: 6 * 3600,
    steps: STEPS,
    basis: `三维位移速率 > 10 mm/d (边坡监测实践), 已扣除日周期${note}`,
  }),
  parse({
    kind: 'rate',
    id: 'rate-hour',
    source: { derived: 'total' },
    window: hourH * 3600,
    per: 'hour',
    thresholds: { orange: 5 },
    clearMargin: 0.5,
    clearAfter: 6 * 3600,
    persistence: { readings: 2 },
    steps: STEPS,
    basis: `工作边坡 ≥ 5 mm/h (边坡监测实践)${note}`,
  }),
]
const SLOPE_CHECKS: Rule[] = [parse({ kind: 'inverseVelocity', id: 'inverse-velocity' }), parse({ kind: 'step', id: 'step' })]
const PRISM: Rule[] = [...slopeRates(24, 3, ''), ...SLOPE_CHECKS]
// a GNSS station at rest read 11.7 mm/d over a day and 5.6 mm/h over 3 h, from its noise alone
// (test/unit/alerting/gnss-at-rest.test.ts): over 48 h and 6 h it stays under half of each
const GNSS: Rule[] = [...slopeRates(48, 6, ', GNSS 噪声大: 日速率取 48 h, 小时速率取 6 h'), ...SLOPE_CHECKS]

/**
 * Built-in defaults, only where a standard or slope practice gives the numbers; thresholds of pond
 * level, phreatic depth and dry beach are set per point by the design institute (GB 39496-2020
 * §5.5.4) and belong in the site file.
 */
export const DEFAULT_RULES: Readonly<Record<DeviceKind, readonly Rule[]>> = {
  prism: PRISM,
  gnss: GNSS,
  piezometer: [],
  reservoir: [],
  beach: [],
  rain: [parse({ kind: 'accumulation', id: 'rain-24h' })],
  pump: [],
  power: [],
  video: [],
}

/** Every device, whatever its kind, reports on time or raises 断线. */
const EVERY_DEVICE: readonly Rule[] = [parse({ kind: 'silence', id: 'silence' })]

export function rulesFor(kind: DeviceKind, site: KindRules, mine: KindRules, device: readonly Rule[]): Rule[] {
  const byId = new Map<string, Rule>()
  for (const layer of [EVERY_DEVICE, DEFAULT_RULES[kind], site[kind] ?? [], mine[kind] ?? [], device]) for (const r of layer) byId.set(r.id, r)
  return [...byId.values()]
}

/** The device kind a composite rule is made for. */
const RULE_DEVICE: Partial<Record<Rule['kind'], DeviceKind>> = { pumpFailure: 'pump', powerDuringSuspension: 'power', videoOffline: 'video' }

/** Problems a rule has on a device of this kind (a metric it does not have, a displacement it cannot derive). */
export function ruleProblems(kind: DeviceKind, rule: Rule): string[] {
  const made = RULE_DEVICE[rule.kind]
  if (made && made !== kind) return [`rule "${rule.id}": ${rule.kind} belongs on a ${made} device, not a ${kind}`]
  if (!('source' in rule)) return []
  const src = rule.source
  if ('metric' in src) {
    const spec = (KINDS[kind].metrics as Record<string, { type: string }>)[src.metric]
    if (!spec) return [`rule "${rule.id}": a ${kind} has no metric "${src.metric}" (it has ${Object.keys(KINDS[kind].metrics).join(', ')})`]
    if (spec.type === 'boolean') return [`rule "${rule.id}": "${src.metric}" is a flag, not a number`]
    return []
  }
  return kind === 'prism' || kind === 'gnss' ? [] : [`rule "${rule.id}": a ${src.derived} displacement needs a prism or GNSS device, not ${kind}`]
}

interface RulesSite {
  readonly rules: KindRules
  readonly mines: readonly {
    readonly rules: KindRules
    readonly items: readonly Item[]
    readonly devices: readonly { readonly id: string; readonly kind: DeviceKind; readonly rules: readonly Rule[] }[]
  }[]
}

/** Cross-checks the rules against the devices they land on; reported at the device, like the rest. */
export function checkAlertingSite(site: RulesSite, ctx: z.RefinementCtx): void {
  site.mines.forEach((mine, i) =>
    mine.items.forEach((item, k) =>
      item.devices.forEach((id, n) => {
        if (!mine.devices.some((d) => d.id === id)) ctx.addIssue({ code: 'custom', path: ['mines', i, 'items', k, 'devices', n], message: `"${id}" is not a device of this mine` })
      }),
    ),
  )
  site.mines.forEach((mine, i) =>
    mine.devices.forEach((device, j) => {
      for (const rule of rulesFor(device.kind, site.rules, mine.rules, device.rules)) {
        const problems = ruleProblems(device.kind, rule)
        if (rule.kind === 'pumpFailure') {
          const watched = mine.devices.find((d) => d.id === rule.watch.device)
          if (!watched) problems.push(`rule "${rule.id}": watches "${rule.watch.device}", which is not a device of this mine`)
          else if (!(rule.watch.metric in KINDS[watched.kind].metrics)) problems.push(`rule "${rule.id}": a ${watched.kind} has no metric "${rule.watch.metric}"`)
        }
        for (const message of problems) ctx.addIssue({ code: 'custom', path: ['mines', i, 'devices', j, 'rules'], message })
      }
    }),
  )
}

interface EngineSite {
  readonly rules: KindRules
  readonly mines: readonly {
    readonly id: string
    readonly timezone: string
    readonly status: 'producing' | 'suspended'
    readonly quietPeriod?: number
    readonly rules: KindRules
    readonly items: readonly Item[]
    readonly devices: readonly { readonly id: string; readonly name: string; readonly kind: DeviceKind; readonly interval: number; readonly rules: readonly Rule[] }[]
  }[]
}

/** Every device of the site with the rules that apply to it (defaults, the site's, its mine's, its own). */
export function engineDevices(site: EngineSite): EngineDevice[] {
  return site.mines.flatMap((mine) =>
    mine.devices.map((d) => ({
      id: d.id,
      name: d.name,
      kind: d.kind,
      mineId: mine.id,
      timeZone: mine.timezone,
      ...(mine.quietPeriod === undefined ? {} : { quietMs: mine.quietPeriod * 1000 }),
      intervalMs: d.interval * 1000,
      mineStatus: mine.status,
      rules: rulesFor(d.kind, site.rules, mine.rules, d.rules),
    })),
  )
}

export function engineItems(site: EngineSite): EngineItem[] {
  return site.mines.flatMap((m) => m.items.map((item) => ({ ...item, mineId: m.id, timeZone: m.timezone, ...(m.quietPeriod === undefined ? {} : { quietMs: m.quietPeriod * 1000 }) })))
}
