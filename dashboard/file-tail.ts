import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'

/**
 * The last lines of a large append-only file (a quarantine day file can hold 256 MB), read from
 * its end in chunks: at most `limit` lines and `maxBytes` bytes are read into memory, whatever the
 * file's size. A line cut by the byte cap is left out. `bytesRead` is what it cost.
 */
export async function tailLines(file: string, limit: number, maxBytes: number, chunkBytes = 256 * 1024): Promise<{ lines: string[]; bytesRead: number }> {
  const handle = await open(file, 'r')
  try {
    const { size } = await handle.stat()
    let position = size
    let bytesRead = 0
    let rest: Buffer = Buffer.alloc(0)
    const lines: string[] = []
    while (position > 0 && lines.length < limit && bytesRead < maxBytes) {
      const length = Math.min(chunkBytes, position, maxBytes - bytesRead)
      position -= length
      const chunk = Buffer.alloc(length)
      await handle.read(chunk, 0, length, position)
      bytesRead += length
      rest = Buffer.concat([chunk, rest])
      // every complete line after the first newline of what is held
      let end = rest.length
      for (let i = rest.length - 1; i >= 0 && lines.length < limit; i--) {
        if (rest[i] !== 0x0a) continue
        const line = rest.subarray(i + 1, end).toString('utf8')
        if (line) lines.push(line)
        end = i
      }
      rest = rest.subarray(0, end)
    }
    // the file's first line, when it was reached whole
    if (position === 0 && lines.length < limit && rest.length > 0) lines.push(rest.toString('utf8'))
    return { lines, bytesRead }
  } finally {
    await handle.close()
  }
}

/** Lines of a file, counted in chunks (constant memory). */
export function countLines(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0
    createReadStream(file)
      .on('data', (chunk) => {
        const b = chunk as Buffer
        for (let i = b.indexOf(0x0a); i !== -1; i = b.indexOf(0x0a, i + 1)) n++
      })
      .on('end', () => resolve(n))
      .on('error', reject)
  })
}
