import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { JournalRefusal, type Journal } from '../../ingest/journal/journal.js'
import { eventually } from '../helpers/eventually.js'
import { memoryLog, openJournal, powerCutFiles, readAll, reading, tempDir } from '../helpers/journal.js'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function dir() {
  const d = tempDir()
  cleanups.push(d.remove)
  return d.dir
}

async function open(d: string, ...rest: Parameters<typeof openJournal> extends [string, ...infer R] ? R : never): Promise<Journal> {
  const j = await openJournal(d, ...rest)
  cleanups.push(() => j.close())
  return j
}

const segmentFiles = (d: string) =>
  readdirSync(join(d, 'journal'))
    .filter((n) => n.endsWith('.seg'))
    .sort()
const values = (readings: { values: Record<string, unknown> }[]) => readings.map((r) => r.values.rainfall)

describe('Journal', () => {
  it('commits appends of one turn of the event loop with one write and fsync, in order', async () => {
    const groups: number[] = []
    const j = await open(dir(), {}, memoryLog(), { onGroup: (readings) => groups.push(readings) })
    const ends = await Promise.all(Array.from({ length: 100 }, (_, i) => j.append([reading(i)])))
    expect(groups).toEqual([100])
    expect(ends).toEqual([...ends].sort((a, b) => a - b))
    expect(ends.at(-1)).toBe(j.head)
    expect(j.unconfirmedReadings).toBe(100)
    expect(values(await readAll(j, 7))).toEqual(Array.from({ length: 100 }, (_, i) => i))
  })

  it('keeps through a power cut every append it resolved: nothing is acknowledged before it is synced (fdatasync, or a write to a file opened O_DSYNC)', async () => {
    const d = dir()
    const files = powerCutFiles()
    // small segments, so that appends also cross into new files
    const j = await openJournal(d, { openFile: files.open, segmentBytes: 2048 })
    const resolved: number[] = []
    for (let g = 0; g < 20; g++) {
      await Promise.all(Array.from({ length: 5 }, (_, i) => j.append([reading(g * 5 + i)]).then(() => resolved.push(g * 5 + i))))
    }
    cleanups.push(() => j.close())
    files.cut()
    const again = await open(d)
    const kept = new Set(values(await readAll(again)))
    expect(resolved).toHaveLength(100)
    expect(resolved.filter((v) => !kept.has(v))).toEqual([])
  })

  it('gives back at a restart exactly what the store has not confirmed', async () => {
    const d = dir()
    const j = await openJournal(d)
    const ends = await Promise.all(Array.from({ length: 10 }, (_, i) => j.append([reading(i), reading(i + 100)])))
    j.confirm(ends[3]!, 8)
    await j.close()

    const again = await open(d)
    expect(again.checkpoint).toBe(ends[3])
    expect(again.unconfirmedReadings).toBe(12)
    expect(values(await readAll(again))).toEqual([4, 104, 5, 105, 6, 106, 7, 107, 8, 108, 9, 109])
  })

  it('cuts a record torn by a crash at the end, and appends after it', async () => {
    const d = dir()
    const j = await openJournal(d)
    await j.append([reading(1)])
    await j.close()
    const [file] = segmentFiles(d)
    const size = statSync(join(d, 'journal', file!)).size
    // a crash in the middle of a write: a header that promises more than was written
    appendFileSync(join(d, 'journal', file!), Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 1, 0, 0, 0, 91, 123]))

    const log = memoryLog()
    const again = await open(d, {}, log)
    expect(again.head).toBe(size)
    expect(log.lines.some((l) => l.level === 'warn' && l.msg.includes('torn tail'))).toBe(true)
    await again.append([reading(2)])
    expect(values(await readAll(again))).toEqual([1, 2])
  })

  it('rolls segments and deletes those the store confirmed', async () => {
    const d = dir()
    const j = await open(d, { segmentBytes: 1024 })
    let end = 0
    for (let i = 0; i < 60; i++) end = await j.append([reading(i)])
    expect(segmentFiles(d).length).toBeGreaterThan(3)
    expect(values(await readAll(j))).toEqual(Array.from({ length: 60 }, (_, i) => i))
    j.confirm(end, 60)
    await eventually(() => segmentFiles(d).length === 1)
    expect(j.unconfirmedReadings).toBe(0)
  })

  it('keeps confirmed segments another consumer still needs, across a reopen', async () => {
    const d = dir()
    const j = await openJournal(d, { segmentBytes: 1024 })
    let end = 0
    let keep = 0
    for (let i = 0; i < 60; i++) {
      end = await j.append([reading(i)])
      if (i === 19) keep = end
    }
    j.retain('rules', keep)
    j.confirm(end, 60)
    // the segments before the one holding `keep` go; that one and the rest stay
    await eventually(async () => j.start > 0)
    expect(j.start).toBeLessThanOrEqual(keep)
    await j.close()
    const again = await open(d, {}, memoryLog(), {}, { rules: keep })
    expect(again.start).toBeLessThanOrEqual(keep)
    const { readings } = await again.read(keep, 1000)
    expect(readings[0]).toEqual(reading(20))
    expect(again.unconfirmedReadings).toBe(0)
  })

  it('keeps what the furthest-behind of two consumers needs, and lets it go once that one moves on', async () => {
    const d = dir()
    const j = await openJournal(d, { segmentBytes: 1024 }, memoryLog(), {}, { rules: 0, uplink: 0 })
    const ends: number[] = []
    for (let i = 0; i < 60; i++) ends.push(await j.append([reading(i)]))
    j.confirm(ends.at(-1)!, 60)
    // the rules are at the end, the uplink still at reading 10: its segment stays
    j.retain('rules', ends.at(-1)!)
    j.retain('uplink', ends[9]!)
    await eventually(async () => j.start > 0)
    expect(j.start).toBeLessThanOrEqual(ends[9]!)
    expect((await j.read(ends[9]!, 1)).readings[0]).toEqual(reading(10))
    // the uplink catches up: the segments before its new position go too
    j.retain('uplink', ends[49]!)
    await eventually(async () => j.start > ends[9]!)
    expect(j.start).toBeLessThanOrEqual(ends[49]!)
    expect((await j.read(ends[49]!, 1)).readings[0]).toEqual(reading(50))
    await j.close()
  })

  it('reads back from disk what no longer fits in memory', async () => {
    const d = dir()
    const j = await open(d, { memoryReadings: 10, segmentBytes: 2048 })
    for (let i = 0; i < 50; i++) await j.append([reading(i), reading(i + 1000)])
    const all = await readAll(j, 9)
    expect(all).toHaveLength(100)
    expect(all[0]).toEqual(reading(0))
    expect(all.at(-1)).toEqual(reading(1049))
  })

  it('hands over the same records as JSON, from memory and from disk, for a reader on another thread', async () => {
    const d = dir()
    const j = await open(d, { memoryReadings: 10, segmentBytes: 2048 })
    for (let i = 0; i < 50; i++) await j.append([reading(i), reading(i + 1000)])
    // the newest ten are in memory, the rest only on disk: read both ways in batches of 9 and compare
    for (let at = j.checkpoint; at < j.head;) {
      const objects = await j.read(at, 9)
      const json = await j.readPayloads(at, 9)
      expect(json.end).toBe(objects.end)
      expect(json.count).toBe(objects.readings.length)
      expect(json.payloads.flatMap((p) => JSON.parse(p.toString('utf8')) as unknown[])).toEqual(objects.readings)
      at = json.end
    }
  })

  it('skips a damaged segment in the middle, says so, and reads on', async () => {
    const d = dir()
    const j = await openJournal(d, { segmentBytes: 512 })
    for (let i = 0; i < 30; i++) await j.append([reading(i)])
    await j.close()
    const files = segmentFiles(d)
    expect(files.length).toBeGreaterThan(2)
    // damage the second record of the first segment
    const first = join(d, 'journal', files[0]!)
    const bytes = readFileSync(first)
    const firstRecord = 12 + bytes.readUInt32LE(0)
    bytes[firstRecord + 14] = bytes[firstRecord + 14]! ^ 0xff
    writeFileSync(first, bytes)

    const log = memoryLog()
    const again = await open(d, {}, log)
    expect(log.lines.some((l) => l.level === 'error' && l.msg.includes('damaged'))).toBe(true)
    const got = values(await readAll(again))
    expect(got[0]).toBe(0)
    expect(got).not.toContain(1)
    expect(got.at(-1)).toBe(29)
  })

  it('refuses appends while the disk is nearly full, and accepts again when space is back', async () => {
    let free = 10 * 1024 * 1024
    const refusing: (string | undefined)[] = []
    const j = await open(dir(), { minFreeBytes: 100 * 1024 * 1024, spaceCheckMs: 10, freeBytes: async () => free }, memoryLog(), {
      onRefusing: (r) => refusing.push(r?.code),
    })
    const refused = await j.append([reading(1)]).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(JournalRefusal)
    expect((refused as JournalRefusal).code).toBe('JOURNAL_FULL')
    expect((refused as JournalRefusal).message).toMatch(/only 10 MiB free .*\(minimum 100 MiB\)/)
    expect(j.status()).toMatchObject({ ok: false, freeBytes: free })
    free = 200 * 1024 * 1024
    await eventually(() => j.status().ok)
    await j.append([reading(2)])
    expect(values(await readAll(j))).toEqual([2])
    expect(refusing).toEqual(['JOURNAL_FULL', undefined])
  })

  it('refuses appends after close', async () => {
    const j = await openJournal(dir())
    await j.close()
    await expect(j.append([reading(1)])).rejects.toMatchObject({ code: 'JOURNAL_CLOSED' })
  })
})
