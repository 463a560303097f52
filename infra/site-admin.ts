import { createHash } from 'node:crypto'
import { mkdir, open, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { removeStaleTemp, writeFileAtomic } from '../ingest/atomic-file.js'
import type { Log } from '../ingest/log.js'
import { GENERATED_COST, generateSecret, hashSecret } from '../ingest/secrets.js'
import { applyChange, summary, type ChangeResult, type SiteChange } from './config/site-changes.js'
import { parseSite, type Site } from './config/site-file.js'
import { PLAN_TYPES, imageSize } from '../dashboard/plan-image.js'

/**
 * The site as administered (站点管理): the site file seeds it; the admin screen changes it. The
 * running site lives in `<data>/site/site.json` with the change that made it; every change is a
 * line of `<data>/site/audit.jsonl` (审计: who, when, what, before, after).
 *
 * A change is confirmed to the admin only once it is durable: site.json is replaced atomically
 * (fsync, rename) with the change inside it, then the audit line is appended and fsynced. A crash
 * between the two leaves the change in site.json, and the next start appends its audit line, so the
 * audit never misses a change that took effect.
 *
 * The site file and the screen: while the site file is unchanged, the administered site is the
 * one that runs. When the site file has been edited since (its digest differs from the one the
 * administered site grew from), the file wins, as an import at start; the changes it replaces stay
 * in the audit log, and the export before the edit has them (docs/site-administration.md).
 */
export interface AuditEntry {
  readonly id: string
  readonly at: number
  /** Who: a user id, `admin-token`, or `site-file` for an edited file read at start. */
  readonly actor: string
  readonly op: SiteChange['op'] | 'site.file'
  readonly target: string
  readonly before: unknown
  readonly after: unknown
}

interface Saved {
  readonly version: 1
  /** The digest of the site file this site grew from. */
  readonly seed: string
  readonly site: unknown
  readonly lastChange: AuditEntry | null
  /** Cluster mode: the shared site's revision this is (SiteShare); absent on a single node. */
  readonly revision?: number
}

/** The site as the cluster's nodes share it (infra/cluster/site.ts): a revision counted up at each change. */
export interface SharedSite {
  readonly revision: number
  readonly seed: string
  readonly site: unknown
  readonly lastChange: AuditEntry | null
}

/**
 * Cluster mode (docs/cluster.md, "Site administration"): the administered site in Redis, so that a
 * change made on one node reaches every node (a device added on one is let in by all).
 */
export interface SiteShare {
  latest(): Promise<SharedSite | undefined>
  /** Publishes `next` if the shared revision is still `expected`: false when another node changed the site first. */
  publish(expected: number, next: SharedSite): Promise<boolean>
  /** Calls back when another node changed the site. */
  onChange(listener: () => void): void
  putPlan(image: string, bytes: Uint8Array): Promise<void>
  getPlan(image: string): Promise<Buffer | undefined>
  /** The cluster's audit entries, newest first. */
  audit(limit: number): Promise<AuditEntry[]>
}

export type AdminResult = (ChangeResult & { ok: false }) | { ok: true; site: Site; entry: AuditEntry; secret?: string }

/** A change as the screen asks for it: the platform makes the secrets (generated, shown once). */
export type AdminChange =
  | Exclude<SiteChange, { op: 'device.add' | 'device.secret' | 'user.add' | 'user.password' }>
  | Omit<Extract<SiteChange, { op: 'device.add' }>, 'secretHash'>
  | Omit<Extract<SiteChange, { op: 'device.secret' }>, 'secretHash'>
  | Omit<Extract<SiteChange, { op: 'user.add' }>, 'passwordHash'>
  | Omit<Extract<SiteChange, { op: 'user.password' }>, 'passwordHash'>

export function siteDigest(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

export class SiteAdmin {
  private queue: Promise<unknown> = Promise.resolve()
  private revision = 0
  /** The site file won over the administered site at this start (it was edited): its audit entry. */
  private fileWon: AuditEntry | undefined
  private shared: { share: SiteShare; apply: (site: Site) => Promise<void> } | undefined

  private constructor(
    private readonly dir: string,
    private readonly seed: string,
    private site: Site,
    private readonly deps: { readonly now: () => number; readonly newId: () => string; readonly log: Log },
  ) {}

  /**
   * The site to run: the administered one if it grew from this site file, else the file's.
   * `seed` is the site file's digest (siteDigest of its text).
   */
  static async open(dataDir: string, fileSite: Site, seed: string, deps: SiteAdmin['deps']): Promise<SiteAdmin> {
    const dir = join(dataDir, 'site')
    await mkdir(dir, { recursive: true })
    const file = join(dir, 'site.json')
    await removeStaleTemp(file)
    let saved: Saved | undefined
    try {
      saved = JSON.parse(await readFile(file, 'utf8')) as Saved
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${file} cannot be read (${(err as Error).message}); move it aside to start from the site file`)
    }
    const admin = new SiteAdmin(dir, seed, fileSite, deps)
    if (!saved) return admin
    if (saved.seed !== seed) {
      const entry: AuditEntry = {
        id: deps.newId(),
        at: deps.now(),
        actor: 'site-file',
        op: 'site.file',
        target: 'site',
        before: saved.site ? summary(saved.site as Site) : null,
        after: summary(fileSite),
      }
      deps.log.warn(
        { file },
        '站点文件已被修改: 以站点文件为准, 之前在站点管理中的修改记录在审计日志中 (the site file changed since the admin screen last changed the site: the file wins; earlier changes stay in the audit log)',
      )
      admin.revision = saved.revision ?? 0
      admin.fileWon = entry
      await admin.commit(fileSite, entry)
      return admin
    }
    const parsed = parseSite(saved.site)
    if (!parsed.ok) throw new Error(`${file} no longer validates (${parsed.errors.slice(0, 3).join('; ')}); move it aside to start from the site file`)
    admin.site = parsed.site
    admin.revision = saved.revision ?? 0
    // a crash after site.json but before its audit line: the line is written now
    if (saved.lastChange && !(await admin.audited(saved.lastChange.id))) await admin.appendAudit(saved.lastChange)
    return admin
  }

  current(): Site {
    return this.site
  }

  /**
   * Cluster mode: the site shared with the other nodes from now on. The newer of this node's and
   * the cluster's is run (this node's when its site file was edited: the file wins, as on one
   * node, and reaches the others); another node's changes are taken up as they come, and
   * `apply` hands them to the running parts.
   */
  async share(share: SiteShare, apply: (site: Site) => Promise<void>, log: Log): Promise<void> {
    this.shared = { share, apply }
    // (until its site file's edit is out, this node's site is the one to publish)
    const sync = () =>
      this.enqueue(() => this.sync(this.fileWon !== undefined)).catch((err: Error) =>
        log.warn({ err: err.message }, 'cluster: the site could not be compared with the cluster’s in Redis; compared again shortly (docs/cluster.md)'),
      )
    share.onChange(() => void sync())
    await sync()
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn)
    this.queue = run.catch(() => undefined)
    return run
  }

  /** This node's site against the cluster's: the cluster's when newer; `ours` publishes this node's over it. */
  private async sync(ours: boolean): Promise<void> {
    const { share, apply } = this.shared!
    for (let attempt = 0; attempt < 5; attempt++) {
      const latest = await share.latest()
      if (latest && !ours) {
        if (latest.revision > this.revision) await this.adopt(latest, apply)
        return
      }
      // the cluster has no site yet, or this node's site file was edited (the file wins, as on one node): this node's goes out
      const next: SharedSite = { revision: (latest?.revision ?? 0) + 1, seed: this.seed, site: this.site, lastChange: this.fileWon ?? null }
      if (await share.publish(latest?.revision ?? 0, next)) {
        this.revision = next.revision
        this.fileWon = undefined
        return this.commit(this.site, null)
      }
    }
    throw new Error('the site kept changing on other nodes while this node published its own')
  }

  /** Another node's site: checked as a site file is, made durable here, then run. */
  private async adopt(latest: SharedSite, apply: (site: Site) => Promise<void>): Promise<void> {
    const parsed = parseSite(latest.site)
    if (!parsed.ok) throw new Error(`the cluster's site (revision ${latest.revision}) does not validate: ${parsed.errors.slice(0, 3).join('; ')}`)
    this.revision = latest.revision
    await this.commit(parsed.site, latest.lastChange, true)
    await apply(parsed.site)
    this.deps.log.info({ revision: latest.revision, change: latest.lastChange?.op ?? null }, '站点已按其他节点的修改更新 (the site changed on another node; taken up here)')
  }

  /**
   * Applies a change: validated as the site file is, made durable, then handed to `apply` (the
   * running parts), and only then answered. Changes run one at a time, in the order they came.
   */
  change(actor: string, change: AdminChange, apply: (site: Site) => Promise<void>): Promise<AdminResult> {
    const run = this.queue.then(() => this.run(actor, change, apply))
    this.queue = run.catch(() => undefined)
    return run
  }

  /**
   * Keeps an uploaded site-plan drawing under a name made from its content, before the site names
   * it (a drawing no site names is harmless; a site naming a missing drawing would not be).
   * Undefined when the bytes are not a PNG or JPEG drawing.
   */
  async storePlanImage(mineId: string, bytes: Uint8Array): Promise<{ image: string; width: number; height: number } | undefined> {
    const size = imageSize(bytes)
    if (!size) return undefined
    const dir = join(this.dir, 'plans')
    await mkdir(dir, { recursive: true })
    const image = `${mineId.toLowerCase().replace(/[^a-z0-9-]/g, '-')}-${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}.${size.ext}`
    await writeFileAtomic(join(dir, image), bytes)
    // cluster mode: every node serves the drawing the site names
    await this.shared?.share.putPlan(image, bytes)
    return { image, width: size.width, height: size.height }
  }

  /** A stored drawing's bytes and type, by the name the site gives it; undefined if there is none. */
  async planImage(image: string): Promise<{ bytes: Buffer; type: string } | undefined> {
    const ext = /^[a-z0-9][a-z0-9-]*\.(png|jpg)$/.exec(image)?.[1] as keyof typeof PLAN_TYPES | undefined
    if (!ext) return undefined
    try {
      return { bytes: await readFile(join(this.dir, 'plans', image)), type: PLAN_TYPES[ext] }
    } catch {
      // cluster mode: a drawing uploaded on another node, kept here from now on
      const bytes = await this.shared?.share.getPlan(image).catch(() => undefined)
      if (!bytes) return undefined
      await mkdir(join(this.dir, 'plans'), { recursive: true })
      await writeFileAtomic(join(this.dir, 'plans', image), bytes).catch(() => undefined)
      return { bytes, type: PLAN_TYPES[ext] }
    }
  }

  /** The newest audit entries first (cluster mode: every node's changes, as Redis keeps them). */
  async audit(limit: number): Promise<AuditEntry[]> {
    const shared = await this.shared?.share.audit(limit).catch(() => undefined)
    if (shared) return shared
    const lines = await this.auditLines()
    return lines.slice(-limit).reverse()
  }

  private async run(actor: string, change: AdminChange, apply: (site: Site) => Promise<void>): Promise<AdminResult> {
    // cluster mode: the change is made to the cluster's newest site, and goes out before it is confirmed
    for (let attempt = 0; this.shared; attempt++) {
      await this.sync(false)
      const made = await this.make(actor, change)
      if (!made.ok) return made.result
      const next: SharedSite = { revision: this.revision + 1, seed: this.seed, site: made.site, lastChange: made.entry }
      if (await this.shared.share.publish(this.revision, next)) {
        this.revision = next.revision
        return this.finish(made, actor, apply)
      }
      // another node changed the site meanwhile: made again on top of its change
      if (attempt >= 4) throw new Error('the site kept changing on other nodes; try the change again')
    }
    const made = await this.make(actor, change)
    return made.ok ? this.finish(made, actor, apply) : made.result
  }

  private async finish(made: { site: Site; entry: AuditEntry; secret: string | undefined }, actor: string, apply: (site: Site) => Promise<void>): Promise<AdminResult> {
    const { site, entry, secret } = made
    await this.commit(site, entry)
    await apply(site)
    this.deps.log.info({ actor, op: entry.op, target: entry.target, audit: entry.id }, '站点已修改 (site changed)')
    return { ok: true, site, entry, ...(secret ? { secret } : {}) }
  }

  /** The change made to the current site (not yet durable): the new site and its audit entry, or why not. */
  private async make(actor: string, change: AdminChange): Promise<{ ok: true; site: Site; entry: AuditEntry; secret: string | undefined } | { ok: false; result: ChangeResult & { ok: false } }> {
    let secret: string | undefined
    let full: SiteChange
    if (change.op === 'device.add' || change.op === 'device.secret') {
      secret = generateSecret()
      full = { ...change, secretHash: await hashSecret(secret, GENERATED_COST) }
    } else if (change.op === 'user.add' || change.op === 'user.password') {
      secret = generateSecret().slice(0, 16)
      full = { ...change, passwordHash: await hashSecret(secret) }
    } else full = change
    const result = applyChange(this.site, full)
    if (!result.ok) return { ok: false, result }
    const entry: AuditEntry = { id: this.deps.newId(), at: this.deps.now(), actor, op: change.op, target: result.target, before: result.before, after: result.after }
    return { ok: true, site: result.site, entry, secret }
  }

  /** `adopted`: another node's change, whose audit line this node may have written already (a restart midway). */
  private async commit(site: Site, entry: AuditEntry | null, adopted = false): Promise<void> {
    const saved: Saved = { version: 1, seed: this.seed, site, lastChange: entry, ...(this.shared || this.revision ? { revision: this.revision } : {}) }
    await writeFileAtomic(join(this.dir, 'site.json'), JSON.stringify(saved))
    this.site = site
    if (entry && !(adopted && (await this.audited(entry.id)))) await this.appendAudit(entry)
  }

  private async appendAudit(entry: AuditEntry): Promise<void> {
    const handle = await open(join(this.dir, 'audit.jsonl'), 'a+')
    try {
      // a line a crash cut short is ended first, so that it does not swallow this one
      const { size } = await handle.stat()
      const last = Buffer.alloc(1)
      if (size > 0) await handle.read(last, 0, 1, size - 1)
      await handle.appendFile(`${size > 0 && last[0] !== 0x0a ? '\n' : ''}${JSON.stringify(entry)}\n`)
      await handle.datasync()
    } finally {
      await handle.close()
    }
  }

  private async audited(id: string): Promise<boolean> {
    return (await this.auditLines()).some((e) => e.id === id)
  }

  private async auditLines(): Promise<AuditEntry[]> {
    let text = ''
    try {
      text = await readFile(join(this.dir, 'audit.jsonl'), 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    const out: AuditEntry[] = []
    // a line cut short by a crash mid-append is skipped; site.json carries that change
    for (const line of text.split('\n'))
      if (line)
        try {
          out.push(JSON.parse(line) as AuditEntry)
        } catch {
          /* torn last line */
        }
    return out
  }
}
