import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { aptInstall } from './apt.js'

/**
 * A PDF read back by Poppler (Debian's poppler-utils, installed when missing), a reader the
 * project did not write: its text as pdftotext extracts it (so Chinese is really text, mapped to
 * Unicode, not boxes or pictures), its fonts as pdffonts lists them, and its page count.
 */
export function readPdf(bytes: Buffer): { text: string; fonts: string; pages: number } {
  if (!existsSync('/usr/bin/pdftotext')) aptInstall(['poppler-utils'], 'pdftotext not found')
  const dir = mkdtempSync(join(tmpdir(), 'minewatch-pdf-'))
  try {
    const file = join(dir, 'report.pdf')
    writeFileSync(file, bytes)
    const run = (cmd: string, args: string[]) => {
      const out = spawnSync(cmd, args, { encoding: 'utf8' })
      if (out.status !== 0) throw new Error(`${cmd} failed: ${out.stderr}`)
      return out.stdout
    }
    const info = run('/usr/bin/pdfinfo', [file])
    return { text: run('/usr/bin/pdftotext', ['-layout', file, '-']), fonts: run('/usr/bin/pdffonts', [file]), pages: Number(/^Pages:\s+(\d+)/m.exec(info)?.[1]) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
