import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_JOURNAL_OPTIONS, Journal, type JournalHooks, type JournalOptions } from '../../ingest/journal/journal.js'
import type { Log } from '../../ingest/log.js'
import type { Reading } from '../../ingest/reading.js'

/** A log that keeps its lines, so tests can see what the journal said. */
export function memoryLog(): Log & { lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = []
  const at = (level: string) => (_fields: object, msg: string) => void lines.push({ level, msg })
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

export const reading = (i: number, deviceId = 'd'): Reading => ({ mineId: 'm', deviceId, kind: 'rain', ts: 1_800_000_000_000 + i, values: { rainfall: i } })

export function tempDir(prefix = 'minewatch-journal-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

export function openJournal(dir: string, opts: Partial<JournalOptions> = {}, log: Log = memoryLog(), hooks: JournalHooks = {}, keepFrom?: number): Promise<Journal> {
  return Journal.open({ ...DEFAULT_JOURNAL_OPTIONS, minFreeBytes: 0, ...opts, dir: join(dir, 'journal') }, log, hooks, keepFrom)
}

/** Everything committed after the checkpoint, in order. */
export async function readAll(journal: Journal, batch = 1000): Promise<Reading[]> {
  const out: Reading[] = []
  let at = journal.checkpoint
  while (at < journal.head) {
    const { readings, end } = await journal.read(at, batch)
    out.push(...readings)
    at = end
  }
  return out
}
