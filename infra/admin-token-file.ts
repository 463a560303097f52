import { randomBytes } from 'node:crypto'
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * When MINEWATCH_ADMIN_TOKEN is unset, the platform makes one and keeps it in
 * <data dir>/admin-token, readable by its owner only (as Jenkins does with its initial admin
 * password), so the token is never printed to a log. Set the variable in production.
 */
export function adminTokenFromFile(dataDir: string): { token: string; file: string; created: boolean } {
  const file = join(dataDir, 'admin-token')
  try {
    const token = readFileSync(file, 'utf8').trim()
    if (token.length >= 16) return { token, file, created: false }
  } catch {
    // not there yet
  }
  const token = randomBytes(24).toString('hex')
  writeFileSync(file, token + '\n', { mode: 0o600 })
  chmodSync(file, 0o600)
  return { token, file, created: true }
}
