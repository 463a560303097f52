import { z } from 'zod'
import { idSchema, isDrillId } from './contract/ids.js'
import { DEVICE_KINDS } from './contract/kinds.js'
import { SECRET_HASH_PATTERN } from './secrets.js'
import { checkRegisterMap, modbusSchema } from './modbus/register-map.js'

/**
 * The parts of the site file that ingest owns: regions, mines, devices and service accounts.
 * infra/ parses the file; every floor exports the schema of its own slice (README, "Layout").
 */
export const secretHashSchema = z
  .string({ error: 'expected an scrypt hash (text)' })
  .regex(SECRET_HASH_PATTERN, { error: 'expected an scrypt hash "scrypt$N$r$p$salt$hash"; make one with `npm run hash-secret`' })

const finite = (what: string) => z.number({ error: `expected ${what} (a number)` })

export const positionSchema = z.strictObject({
  lat: finite('latitude').min(-90, { error: 'latitude must be within ±90°' }).max(90, { error: 'latitude must be within ±90°' }),
  lon: finite('longitude').min(-180, { error: 'longitude must be within ±180°' }).max(180, { error: 'longitude must be within ±180°' }),
  /** Elevation above sea level, m. */
  elevation: finite('an elevation in m').optional(),
})

export const deviceSchema = z.strictObject({
  id: idSchema,
  kind: z.enum(DEVICE_KINDS, { error: `expected one of ${DEVICE_KINDS.join(', ')}` }),
  name: z.string({ error: 'expected a name' }).min(1, { error: 'expected a name' }),
  position: positionSchema,
  /** Expected reporting interval, seconds; silence rules count in multiples of it. */
  interval: z.number({ error: 'expected a positive number' }).positive({ error: 'expected a positive number' }),
  secretHash: secretHashSchema,
  /** Read over Modbus TCP by the platform's collector instead of publishing (ingest/modbus/register-map.ts). */
  modbus: modbusSchema.optional(),
})

const timeZoneSchema = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz })
      return true
    } catch {
      return false
    }
  },
  { error: 'expected an IANA time zone such as Asia/Shanghai' },
)

export const mineSchema = z.strictObject({
  id: idSchema,
  name: z.string({ error: 'expected the mine name' }).min(1, { error: 'expected the mine name' }),
  region: idSchema,
  location: positionSchema,
  timezone: timeZoneSchema.default('Asia/Shanghai'),
  status: z.enum(['producing', 'suspended'], { error: 'expected producing or suspended' }),
  devices: z.array(deviceSchema).default([]),
})

export const regionSchema = z.strictObject({
  id: idSchema,
  name: z.string({ error: 'expected the region name' }).min(1),
  /** Parent region (city → province), if any. */
  parent: idSchema.optional(),
})

export const serviceAccountSchema = z.strictObject({
  id: idSchema,
  name: z.string().min(1),
  secretHash: secretHashSchema,
  /** Mines whose `mines/{mineId}/alerts` the account may read. */
  mines: z.array(idSchema).min(1, { error: 'expected at least one mine' }),
})

/**
 * A gateway (数据采集仪, DTU, a vendor's monitoring software; issue 16 item 1): one MQTT account
 * that publishes for the devices it lists, each under the device's own topics and contract, as if
 * the device had sent it. The devices keep their own accounts too.
 */
export const gatewaySchema = z.strictObject({
  id: idSchema,
  name: z.string({ error: 'expected a name' }).min(1, { error: 'expected a name' }),
  secretHash: secretHashSchema,
  /** The devices it publishes for. */
  devices: z.array(idSchema).default([]),
  /**
   * Mines all of whose devices it publishes for, those added later too: a mine platform's uplink
   * account on the provincial platform (联网), or a vendor's system that carries a whole mine.
   */
  mines: z.array(idSchema).default([]),
  /** With `mines`: when the regulator warns of the link (alerting/links.ts; docs/uplink.md), seconds. */
  link: z
    .strictObject({
      downAfter: z.number().positive().max(86_400).default(600),
      lagAfter: z.number().positive().max(86_400).default(600),
    })
    .optional(),
})

export type DeviceConfig = z.infer<typeof deviceSchema>
export type MineConfig = z.infer<typeof mineSchema>
export type RegionConfig = z.infer<typeof regionSchema>
export type ServiceAccountConfig = z.infer<typeof serviceAccountSchema>
export type GatewayConfig = z.infer<typeof gatewaySchema>

export interface IngestSite {
  readonly regions: readonly RegionConfig[]
  readonly mines: readonly MineConfig[]
  readonly serviceAccounts: readonly ServiceAccountConfig[]
  readonly gateways?: readonly GatewayConfig[]
}

/** The devices a gateway publishes for: those it lists, and every device of the mines it names. */
export function gatewayDevices(site: Pick<IngestSite, 'mines'>, gateway: Pick<GatewayConfig, 'devices' | 'mines'>): string[] {
  const ids = new Set(gateway.devices)
  // a drill's shadows (docs/drills.md) are the platform's own, never a gateway's
  for (const m of site.mines) if (gateway.mines.includes(m.id)) for (const d of m.devices) if (!isDrillId(d.id)) ids.add(d.id)
  return [...ids]
}

/** Cross-references that a per-field schema cannot see; reported with paths like the rest. */
export function checkIngestSite(site: IngestSite, ctx: z.RefinementCtx): void {
  const regionIds = new Set(site.regions.map((r) => r.id))
  const mineIds = new Set<string>()
  const principalIds = new Map<string, string>()
  const claim = (id: string, path: (string | number)[]) => {
    const earlier = principalIds.get(id)
    if (earlier) ctx.addIssue({ code: 'custom', path, message: `id "${id}" is already used at ${earlier}; MQTT usernames must be unique` })
    else principalIds.set(id, formatPath(path))
  }
  site.regions.forEach((r, i) => {
    if (r.parent && !regionIds.has(r.parent)) ctx.addIssue({ code: 'custom', path: ['regions', i, 'parent'], message: `unknown region "${r.parent}"` })
  })
  site.mines.forEach((m, i) => {
    if (mineIds.has(m.id)) ctx.addIssue({ code: 'custom', path: ['mines', i, 'id'], message: `duplicate mine id "${m.id}"` })
    mineIds.add(m.id)
    if (!regionIds.has(m.region)) ctx.addIssue({ code: 'custom', path: ['mines', i, 'region'], message: `unknown region "${m.region}"` })
    m.devices.forEach((d, j) => {
      claim(d.id, ['mines', i, 'devices', j, 'id'])
      if (d.modbus) for (const issue of checkRegisterMap(d.kind, d.modbus)) ctx.addIssue({ code: 'custom', path: ['mines', i, 'devices', j, 'modbus', ...issue.path], message: issue.message })
    })
  })
  const deviceIds = new Set(site.mines.flatMap((m) => m.devices.map((d) => d.id)))
  site.gateways?.forEach((g, i) => {
    claim(g.id, ['gateways', i, 'id'])
    if (g.devices.length === 0 && g.mines.length === 0) ctx.addIssue({ code: 'custom', path: ['gateways', i, 'devices'], message: 'expected at least one device (or the mines it carries)' })
    if (g.link && g.mines.length === 0)
      ctx.addIssue({ code: 'custom', path: ['gateways', i, 'link'], message: 'a link is judged for a mine platform (a gateway naming mines); name its mines or drop link' })
    g.mines.forEach((m, j) => mineIds.has(m) || ctx.addIssue({ code: 'custom', path: ['gateways', i, 'mines', j], message: `unknown mine "${m}"` }))
    const listed = new Set<string>()
    g.devices.forEach((d, j) => {
      if (!deviceIds.has(d)) ctx.addIssue({ code: 'custom', path: ['gateways', i, 'devices', j], message: `unknown device "${d}"` })
      else if (listed.has(d)) ctx.addIssue({ code: 'custom', path: ['gateways', i, 'devices', j], message: `device "${d}" is listed twice` })
      listed.add(d)
    })
  })
  site.serviceAccounts.forEach((a, i) => {
    claim(a.id, ['serviceAccounts', i, 'id'])
    a.mines.forEach((mine, j) => {
      if (!mineIds.has(mine)) ctx.addIssue({ code: 'custom', path: ['serviceAccounts', i, 'mines', j], message: `unknown mine "${mine}"` })
    })
  })
}

/** `mines[1].devices[3].interval` */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('')
}
