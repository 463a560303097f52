import { readFileSync } from 'node:fs'
import type { Site } from './site-file.js'

/**
 * The demo site's passwords are printed in the README (`<id>-demo`), so a platform whose site
 * holds any of its secret hashes is open to anyone who has read it. The hashes are salted and
 * random, so holding one means the file (or a part of it) was copied from the demo: the platform
 * refuses to start with such a site unless the demo is asked for (docs/security.md).
 */
export function demoHashes(demoSiteFile: string): Set<string> {
  const text = readFileSync(demoSiteFile, 'utf8')
  return new Set([...text.matchAll(/(?:secretHash|passwordHash):\s*"?([^"\s]+)"?/g)].map((m) => m[1]!))
}

/** Who in `site` logs in with a demo credential: devices, service accounts and users, by id. Pure. */
export function demoCredentialHolders(site: Site, demo: ReadonlySet<string>): string[] {
  const holders: string[] = []
  for (const mine of site.mines) for (const d of mine.devices) if (demo.has(d.secretHash)) holders.push(`device ${d.id}`)
  for (const a of site.serviceAccounts) if (demo.has(a.secretHash)) holders.push(`service account ${a.id}`)
  for (const g of site.gateways) if (demo.has(g.secretHash)) holders.push(`gateway ${g.id}`)
  for (const u of site.users) if (demo.has(u.passwordHash)) holders.push(`user ${u.id}`)
  return holders
}
