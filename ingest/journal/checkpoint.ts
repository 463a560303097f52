import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { removeStaleTemp, writeFileAtomic } from '../atomic-file.js'

/**
 * The journal position up to which the store has confirmed every reading. Saved by write, fsync,
 * rename, so a crash leaves the old or the new value, never half of one. A lost update only means
 * a little is replayed, and the store's writes are idempotent.
 */
const FILE = 'checkpoint.json'

export async function loadCheckpoint(dir: string): Promise<{ position: number } | { position: undefined; problem?: string }> {
  let text: string
  await removeStaleTemp(join(dir, FILE))
  try {
    text = await readFile(join(dir, FILE), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { position: undefined }
    throw err
  }
  try {
    const position = (JSON.parse(text) as { position?: unknown }).position
    if (typeof position === 'number' && Number.isSafeInteger(position) && position >= 0) return { position }
  } catch {
    // fall through: an unreadable checkpoint means "replay everything", which is safe
  }
  return { position: undefined, problem: `${FILE} is unreadable; replaying every segment (the store ignores repeats)` }
}

export async function saveCheckpoint(dir: string, position: number): Promise<void> {
  await writeFileAtomic(join(dir, FILE), JSON.stringify({ position, savedAt: new Date().toISOString() }))
}
