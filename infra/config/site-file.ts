import { readFileSync } from 'node:fs'
import { parse as parseYaml, YAMLParseError } from 'yaml'
import { z } from 'zod'
import { checkAlertingSite, deviceRulesSchema, itemsSchema, kindRulesSchema } from '../../alerting/config.js'
import { checkIngestSite, deviceSchema, formatPath, mineSchema, regionSchema, serviceAccountSchema, gatewaySchema } from '../../ingest/site.js'
import { checkDashboardSite, usersSchema } from '../../dashboard/users.js'
import { checkPlans, planSchema } from '../../dashboard/plan-image.js'
import { checkNotify, notifySchema } from '../../alerting/notify/policy.js'

/**
 * The site file (YAML or JSON): regions, mines with their devices, service accounts, and the
 * warning rules. Each floor exports the schema of its slice (ingest: devices and accounts;
 * alerting: rules) and this is the one place that composes them and reads the file.
 * Every problem is reported with its path, e.g. `mines[1].devices[3].interval: expected a positive number`.
 */
const siteDeviceSchema = deviceSchema.extend({ rules: deviceRulesSchema })
const siteMineSchema = mineSchema.extend({
  devices: z.array(siteDeviceSchema).default([]),
  rules: kindRulesSchema,
  items: itemsSchema,
  /** The site plan (测点布置图): an uploaded drawing and the devices' places on it (dashboard/plan-image.ts). */
  plan: planSchema.optional(),
  /**
   * Seconds after a warning's signal went back to normal during which its return, at a level no
   * higher than before, updates the warning without sounding the seat again (静默期; docs/slope-warnings.md "No flapping").
   */
  quietPeriod: z
    .number()
    .nonnegative()
    .default(12 * 3600),
})

export const siteSchema = z
  .strictObject({
    regions: z.array(regionSchema).min(1, { error: 'expected at least one region' }),
    mines: z.array(siteMineSchema).min(1, { error: 'expected at least one mine' }),
    serviceAccounts: z.array(serviceAccountSchema).default([]),
    /** Gateways that publish for several devices over one connection (docs/device-contract.md, "Gateways"). */
    gateways: z.array(gatewaySchema).default([]),
    /** Rules per device kind for every mine (a mine's own `rules` and a device's replace them by id). */
    rules: kindRulesSchema,
    /** The people who sign in to the dashboard. */
    users: usersSchema,
    /** 叫应: the channels, the people they reach and who is called when (alerting/notify/policy.ts). */
    notify: notifySchema,
  })
  .superRefine((site, ctx) => {
    checkIngestSite(site, ctx)
    checkAlertingSite(site, ctx)
    checkDashboardSite(site, ctx)
    checkPlans(site, ctx)
    checkNotify(site, ctx)
  })

export type Site = z.infer<typeof siteSchema>

export type SiteResult = { ok: true; site: Site } | { ok: false; errors: string[] }

export function parseSite(input: unknown): SiteResult {
  const parsed = siteSchema.safeParse(input)
  if (parsed.success) return { ok: true, site: parsed.data }
  return { ok: false, errors: parsed.error.issues.map((i) => `${formatPath(i.path) || '(top level)'}: ${i.message}`) }
}

export function loadSiteFile(file: string): SiteResult {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    return { ok: false, errors: [`cannot read site file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`] }
  }
  try {
    // YAML 1.2 is a superset of JSON, so one parser reads both
    return parseSite(parseYaml(text, { prettyErrors: true }))
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line})` : ''
    return { ok: false, errors: [`${file}${where}: not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`] }
  }
}
