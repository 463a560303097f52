import type { User } from './users.js'

/**
 * Who may see and act on which mine (pure): dispatchers and directors their own mines; a regulator
 * every mine of their regions and the regions under them (all, if none are named); an admin all.
 * Only the people of a mine sign, assign and resolve its warnings; regulators watch.
 */
export interface AccessSite {
  readonly regions: readonly { readonly id: string; readonly parent?: string | undefined }[]
  readonly mines: readonly { readonly id: string; readonly region: string }[]
}

export class Access {
  private readonly parent = new Map<string, string | undefined>()
  private readonly regionOf = new Map<string, string>()

  constructor(site: AccessSite) {
    this.load(site)
  }

  /** The site's regions and mines from now on (站点管理). */
  load(site: AccessSite): void {
    this.parent.clear()
    this.regionOf.clear()
    for (const r of site.regions) this.parent.set(r.id, r.parent)
    for (const m of site.mines) this.regionOf.set(m.id, m.region)
  }

  canSee(user: User, mineId: string): boolean {
    if (!this.regionOf.has(mineId)) return false
    if (user.role === 'admin') return true
    if (user.role === 'regulator') return user.regions.length === 0 || this.ancestry(this.regionOf.get(mineId)!).some((r) => user.regions.includes(r))
    return user.mines.includes(mineId)
  }

  canAct(user: User, mineId: string): boolean {
    // a wall screen's display credential reads, it never acts (dashboard/displays.ts)
    if (user.readOnly) return false
    return (user.role === 'admin' || user.role === 'dispatcher' || user.role === 'director') && this.canSee(user, mineId)
  }

  /** Whether a mine lies in a region or in a region under it (a regional report's mines). */
  inRegion(mineId: string, regionId: string): boolean {
    const region = this.regionOf.get(mineId)
    return region !== undefined && this.ancestry(region).includes(regionId)
  }

  visibleMines(user: User): string[] {
    return [...this.regionOf.keys()].filter((m) => this.canSee(user, m))
  }

  private ancestry(region: string): string[] {
    const out: string[] = []
    for (let r: string | undefined = region; r !== undefined && !out.includes(r); r = this.parent.get(r)) out.push(r)
    return out
  }
}
