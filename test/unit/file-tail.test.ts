import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { countLines, tailLines } from '../../dashboard/file-tail.js'

const dir = mkdtempSync(join(tmpdir(), 'minewatch-tail-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('the last lines of a large file', () => {
  const file = join(dir, 'day.jsonl')
  // 200,000 lines of about 100 bytes: 20 MB
  const lines = Array.from({ length: 200_000 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(80) }))
  writeFileSync(file, lines.join('\n') + '\n')

  it('gives the newest lines first and reads only about what they need', async () => {
    const { lines: got, bytesRead } = await tailLines(file, 100, 16 * 1024 * 1024, 4096)
    expect(got.map((l) => JSON.parse(l).i)).toEqual(Array.from({ length: 100 }, (_, k) => 199_999 - k))
    expect(bytesRead).toBeLessThanOrEqual(100 * 100 + 4096)
  })

  it('stops at its byte cap, leaving out a line the cap cuts', async () => {
    const { lines: got, bytesRead } = await tailLines(file, 1000, 5000, 1024)
    expect(bytesRead).toBe(5000)
    expect(got.length).toBeLessThan(50)
    expect(got.every((l) => JSON.parse(l).pad.length === 80)).toBe(true)
  })

  it('reads a small file whole, its first line included, and counts lines in chunks', async () => {
    const small = join(dir, 'small.jsonl')
    writeFileSync(small, 'a\nb\nc\n')
    expect((await tailLines(small, 10, 1000, 2)).lines).toEqual(['c', 'b', 'a'])
    expect(await countLines(file)).toBe(200_000)
  })
})
