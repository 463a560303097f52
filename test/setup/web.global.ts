import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'vite'
import type { TestProject } from 'vitest/node'
import { ensureChromium } from '../helpers/browser.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** The web UI built from the current sources, for the browser tests. */
    webRoot: string
  }
}

/**
 * Before any test: Debian's Chromium (apt-get when missing) and the web UI built from the
 * working tree into a temporary folder, so the browser tests never run a stale `dashboard/web/dist`.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  ensureChromium()
  const outDir = mkdtempSync(join(tmpdir(), 'minewatch-web-'))
  await build({ configFile: 'dashboard/web/vite.config.ts', logLevel: 'warn', build: { outDir, emptyOutDir: true } })
  project.provide('webRoot', outDir)
  return () => rmSync(outDir, { recursive: true, force: true })
}
