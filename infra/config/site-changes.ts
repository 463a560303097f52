import { parse as parseYaml, stringify as toYaml } from 'yaml'
import { rulesFor } from '../../alerting/config.js'
import { parseSite, type Site } from './site-file.js'
import { DEVICE_KINDS, KINDS, type DeviceKind } from '../../ingest/contract/kinds.js'

/**
 * Site administration (站点管理, issue 14 item 5) as pure functions: a change applied to the site
 * gives the next site, validated by the very schema the site file is (site-file.ts), so a change
 * the file would refuse is refused here with the same paths and messages, and nothing half-done
 * runs. Secrets arrive hashed: the caller makes them (site-admin.ts) and shows them once.
 */
export type DeviceInput = Omit<Site['mines'][number]['devices'][number], 'secretHash' | 'rules'> & { rules?: unknown[] }
export type UserInput = Omit<Site['users'][number], 'passwordHash'>

export type SiteChange =
  | { readonly op: 'device.add'; readonly mine: string; readonly device: DeviceInput; readonly secretHash: string }
  | { readonly op: 'device.update'; readonly id: string; readonly set: Partial<Omit<DeviceInput, 'id' | 'kind'>> }
  | { readonly op: 'device.secret'; readonly id: string; readonly secretHash: string }
  | { readonly op: 'device.retire'; readonly id: string }
  | { readonly op: 'user.add'; readonly user: UserInput; readonly passwordHash: string }
  | { readonly op: 'user.update'; readonly id: string; readonly set: Partial<Omit<UserInput, 'id'>> }
  | { readonly op: 'user.password'; readonly id: string; readonly passwordHash: string }
  | { readonly op: 'user.retire'; readonly id: string }
  /** A mine's rules for one device kind (they replace the site's and the defaults by rule id). */
  | { readonly op: 'mine.rules'; readonly mine: string; readonly kind: DeviceKind; readonly rules: unknown[] }
  /** A mine's site plan: a new drawing (its places kept), new places, or none (null). */
  | { readonly op: 'mine.plan'; readonly mine: string; readonly plan: { image?: string; width?: number; height?: number; positions?: unknown } | null }
  /** The 叫应 settings: channels, people, rosters, policies (docs/notifications.md), replaced whole. */
  | { readonly op: 'notify.set'; readonly notify: unknown }
  /** The whole site, as a site file would give it (import). */
  | { readonly op: 'site.import'; readonly site: unknown }

export type ChangeOp = SiteChange['op']

export interface Applied {
  readonly ok: true
  readonly site: Site
  /** What changed, e.g. `device:P-09`, `user:li-si`, `rules:mine-a/prism`, `site`. */
  readonly target: string
  /** The target before and after, secrets shown only as set (审计: who, when, before, after). */
  readonly before: unknown
  readonly after: unknown
}

export type ChangeResult = Applied | { readonly ok: false; readonly code: 'MW_NOT_FOUND' | 'MW_SITE_INVALID'; readonly errors: string[] }

type Doc = {
  mines: { id: string; devices: Record<string, unknown>[]; rules: Record<string, unknown>; plan?: { positions: Record<string, unknown> } & Record<string, unknown> }[]
  users: Record<string, unknown>[]
  gateways: { devices: string[] }[]
} & Record<string, unknown>

export function applyChange(site: Site, change: SiteChange): ChangeResult {
  if (change.op === 'site.import') {
    const parsed = parseSite(change.site)
    if (!parsed.ok) return { ok: false, code: 'MW_SITE_INVALID', errors: parsed.errors }
    return { ok: true, site: parsed.site, target: 'site', before: summary(site), after: summary(parsed.site) }
  }
  const doc = structuredClone(site) as unknown as Doc
  const missing = (what: string): ChangeResult => ({ ok: false, code: 'MW_NOT_FOUND', errors: [what] })
  let target: string
  let before: unknown = null
  let after: () => unknown
  switch (change.op) {
    case 'device.add': {
      const mine = doc.mines.find((m) => m.id === change.mine)
      if (!mine) return missing(`没有矿山 "${change.mine}" (no mine "${change.mine}")`)
      const device = { ...change.device, rules: change.device.rules ?? [], secretHash: change.secretHash }
      mine.devices.push(device)
      target = `device:${change.device.id}`
      after = () => device
      break
    }
    case 'device.update':
    case 'device.secret':
    case 'device.retire': {
      const found = findDevice(doc, change.id)
      if (!found) return missing(`没有设备 "${change.id}" (no device "${change.id}")`)
      target = `device:${change.id}`
      before = structuredClone(found.device)
      if (change.op === 'device.retire') {
        found.mine.devices.splice(found.index, 1)
        // a retired device leaves the mine's monitoring items too; an item left with one point is
        // dissolved: it escalates nothing alone (GB 39496-2020 §5.5.4 counts points of an item)
        const items = (found.mine as unknown as { items: { devices: string[] }[] }).items
        for (const item of items) item.devices = item.devices.filter((d) => d !== change.id)
        ;(found.mine as unknown as { items: unknown[] }).items = items.filter((i) => i.devices.length >= 2)
        // and its place on the mine's plan, and the gateways' lists (a gateway left with none is refused: edit it first)
        if (found.mine.plan) delete found.mine.plan.positions[change.id]
        for (const g of doc.gateways) g.devices = g.devices.filter((d) => d !== change.id)
        after = () => null
      } else {
        Object.assign(found.device, change.op === 'device.secret' ? { secretHash: change.secretHash } : defined(change.set))
        after = () => found.device
      }
      break
    }
    case 'user.add': {
      const user = { ...change.user, passwordHash: change.passwordHash }
      doc.users.push(user)
      target = `user:${change.user.id}`
      after = () => user
      break
    }
    case 'user.update':
    case 'user.password':
    case 'user.retire': {
      const index = doc.users.findIndex((u) => u.id === change.id)
      if (index < 0) return missing(`没有用户 "${change.id}" (no user "${change.id}")`)
      const user = doc.users[index]!
      target = `user:${change.id}`
      before = structuredClone(user)
      if (change.op === 'user.retire') {
        doc.users.splice(index, 1)
        after = () => null
      } else {
        Object.assign(user, change.op === 'user.password' ? { passwordHash: change.passwordHash } : defined(change.set))
        after = () => user
      }
      break
    }
    case 'mine.plan': {
      const mine = doc.mines.find((m) => m.id === change.mine)
      if (!mine) return missing(`没有矿山 "${change.mine}" (no mine "${change.mine}")`)
      target = `plan:${change.mine}`
      before = mine.plan ?? null
      if (change.plan === null) delete mine.plan
      else mine.plan = { positions: {}, ...mine.plan, ...defined(change.plan) } as never
      after = () => mine.plan ?? null
      break
    }
    case 'notify.set': {
      target = 'notify'
      before = doc.notify
      doc.notify = change.notify
      after = () => doc.notify
      break
    }
    case 'mine.rules': {
      const mine = doc.mines.find((m) => m.id === change.mine)
      if (!mine) return missing(`没有矿山 "${change.mine}" (no mine "${change.mine}")`)
      target = `rules:${change.mine}/${change.kind}`
      before = mine.rules[change.kind] ?? []
      if (change.rules.length === 0) delete mine.rules[change.kind]
      else mine.rules[change.kind] = change.rules
      after = () => mine.rules[change.kind] ?? []
      break
    }
  }
  const parsed = parseSite(doc)
  if (!parsed.ok) return { ok: false, code: 'MW_SITE_INVALID', errors: parsed.errors }
  return { ok: true, site: parsed.site, target, before: redact(before), after: redact(structuredClone(after())) }
}

/** The device and its mine, by device id. */
function findDevice(doc: Doc, id: string): { mine: Doc['mines'][number]; device: Record<string, unknown>; index: number } | undefined {
  for (const mine of doc.mines) {
    const index = mine.devices.findIndex((d) => d.id === id)
    if (index >= 0) return { mine, device: mine.devices[index]!, index }
  }
  return undefined
}

/** Fields given as undefined are left as they were (a PATCH names only what it changes). */
function defined(set: object): object {
  return Object.fromEntries(Object.entries(set).filter(([, v]) => v !== undefined))
}

/** Secrets appear in the audit only as set: the hash of an old secret is nobody's business. */
export function redact<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(redact) as T
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'secretHash' || k === 'passwordHash' ? '(已设置)' : redact(v)])) as T
}

/** A site in figures, for an import's audit entry (the whole file is in the export, not the audit). */
export function summary(site: Site): { mines: number; devices: number; users: number; serviceAccounts: number } {
  return { mines: site.mines.length, devices: site.mines.reduce((n, m) => n + m.devices.length, 0), users: site.users.length, serviceAccounts: site.serviceAccounts.length }
}

/**
 * The site for the admin screen: everything but the secrets' hashes, and for each device the
 * rules that judge it (the defaults, the site's, the mine's and its own, merged by rule id) with
 * where each comes from, so that an admin sees the threshold and its basis before changing it.
 */
export function adminView(site: Site): unknown {
  return {
    // the kinds a device may be, with their metrics, for the screen's forms (the device contract)
    kinds: DEVICE_KINDS.map((kind) => ({ kind, label: KINDS[kind].label, metrics: Object.entries(KINDS[kind].metrics).map(([name, m]) => ({ name, label: m.label, unit: m.unit })) })),
    regions: site.regions,
    rules: site.rules,
    // channels name where their secrets are, never the secrets: shown as they are in the file
    notify: site.notify,
    serviceAccounts: site.serviceAccounts.map(({ secretHash: _s, ...a }) => a),
    gateways: site.gateways.map(({ secretHash: _s, ...g }) => g),
    users: site.users.map(({ passwordHash: _p, ...u }) => u),
    mines: site.mines.map((m) => ({
      ...m,
      devices: m.devices.map(({ secretHash: _s, ...d }) => ({
        ...d,
        effective: rulesFor(d.kind, site.rules, m.rules, d.rules).map((r) => ({
          ...r,
          from: d.rules.some((o) => o.id === r.id)
            ? 'device'
            : (m.rules[d.kind] ?? []).some((o) => o.id === r.id)
              ? 'mine'
              : (site.rules[d.kind] ?? []).some((o) => o.id === r.id)
                ? 'site'
                : 'default',
        })),
      })),
    })),
  }
}

/** A site file's text as the site administration imports it (YAML 1.2 reads JSON too); a syntax error as one message. */
export function readSiteText(text: string): { ok: true; value: unknown } | { ok: false; errors: string[] } {
  try {
    return { ok: true, value: parseYaml(text) }
  } catch (err) {
    return { ok: false, errors: [`不是有效的 YAML/JSON (not valid YAML/JSON): ${(err as Error).message.split('\n')[0]}`] }
  }
}

/** The site file as it now stands, in the form the platform reads. */
export function siteText(site: Site, format: 'yaml' | 'json', exportedAt: string): string {
  return format === 'json' ? `${JSON.stringify(site, null, 2)}\n` : `# minewatch 站点文件 (site file), 导出于 ${exportedAt}\n${toYaml(site)}`
}
