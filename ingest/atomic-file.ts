import { open, rename, rm } from 'node:fs/promises'

/**
 * Replaces a small file so that a crash leaves the old or the new content, never half of one:
 * write a temporary file, fsync it, rename it over the old one.
 */
export async function writeFileAtomic(file: string, text: string | Uint8Array): Promise<void> {
  const tmp = `${file}.tmp`
  const handle = await open(tmp, 'w')
  try {
    await handle.writeFile(text)
    await handle.datasync()
  } finally {
    await handle.close()
  }
  await rename(tmp, file)
}

/** Removes what a write killed half-way left behind (`file.tmp`); the file itself is whole. */
export async function removeStaleTemp(file: string): Promise<void> {
  await rm(`${file}.tmp`, { force: true })
}
