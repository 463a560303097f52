import { constants, mkdtempSync, rmSync, truncateSync } from 'node:fs'
import { open } from 'node:fs/promises'
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

export function openJournal(dir: string, opts: Partial<JournalOptions> = {}, log: Log = memoryLog(), hooks: JournalHooks = {}, keep: Readonly<Record<string, number>> = {}): Promise<Journal> {
  return Journal.open({ ...DEFAULT_JOURNAL_OPTIONS, minFreeBytes: 0, ...opts, dir: join(dir, 'journal') }, log, hooks, keep)
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

/**
 * A file layer that keeps what a power cut would: every write goes to the real file, but `cut()`
 * cuts each file back to what its last fdatasync covered (a disk's write-back cache and the page
 * cache are lost with the power; a kill -9 alone would not show it, since the page cache survives).
 * A file opened with O_DSYNC has each write synced when it returns (open(2)).
 */
export function powerCutFiles(): { open: NonNullable<JournalOptions['openFile']>; cut(): void } {
  const files = new Map<string, { written: number; synced: number }>()
  return {
    async open(path, flags) {
      const handle = await open(path, flags)
      const dsync = (flags & (constants.O_DSYNC ?? 0)) !== 0
      const size = (await handle.stat()).size
      const f = { written: size, synced: size }
      files.set(path, f)
      return {
        writev: async (buffers, position) => {
          const r = await handle.writev(buffers, position)
          f.written = Math.max(f.written, (position ?? 0) + r.bytesWritten)
          if (dsync) f.synced = f.written
          return r
        },
        datasync: async () => {
          await handle.datasync()
          f.synced = f.written
        },
        truncate: async (len) => {
          await handle.truncate(len)
          f.written = Math.min(f.written, len ?? 0)
          f.synced = Math.min(f.synced, len ?? 0)
        },
        close: () => handle.close(),
      }
    },
    cut() {
      for (const [path, f] of files) truncateSync(path, f.synced)
    },
  }
}
