import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The repository's root: the nearest directory above this file whose package.json is minewatch's.
 * The same from the TypeScript sources (development, tests) and from the compiled JavaScript in
 * `dist/` (production, `npm start`), so that the files that are not code (the demo site, the
 * scenarios, the built web UI) are found either way.
 */
function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json')
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'minewatch') return dir
    if (dirname(dir) === dir) throw new Error(`minewatch's package.json not found above ${from}`)
  }
}

export const REPO_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)))
