import { open, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { scanRecord } from './record.js'

/**
 * Segment files: `<base position, 20 digits>.seg`, where the base is the journal position of the
 * segment's first byte (Kafka names its log segments the same way). A position is a byte offset
 * over the whole journal, so it only grows and never needs the segment number beside it.
 */
export interface Segment {
  readonly base: number
  readonly file: string
  /** Bytes of whole, checked records (the file may be longer after a torn write). */
  size: number
}

const NAME = /^(\d{20})\.seg$/
const CHUNK_BYTES = 4 * 1024 * 1024

export function segmentName(base: number): string {
  return `${String(base).padStart(20, '0')}.seg`
}

export async function listSegments(dir: string): Promise<Segment[]> {
  const names = (await readdir(dir)).filter((n) => NAME.test(n))
  return names.map((n) => ({ base: Number(NAME.exec(n)![1]), file: join(dir, n), size: 0 })).sort((a, b) => a.base - b.base)
}

export interface ScanResult {
  /** Offset just past the last whole record. */
  readonly validEnd: number
  readonly readings: number
  readonly fileSize: number
  /** Why the scan stopped before the end of the file. */
  readonly problem?: string
}

/** Walks a segment's records from `offset`, checking each checksum, without parsing JSON. */
export async function scanSegment(file: string, offset: number): Promise<ScanResult> {
  const handle = await open(file, 'r')
  try {
    const fileSize = (await handle.stat()).size
    if (offset > fileSize) return { validEnd: fileSize, readings: 0, fileSize, problem: `the checkpoint (offset ${offset}) is past the end of the file` }
    let pos = offset
    let readings = 0
    let buf = Buffer.alloc(0)
    let bufStart = pos
    while (pos < fileSize) {
      const at = pos - bufStart
      const scanned = scanRecord(buf, at)
      if (scanned.kind === 'record') {
        pos += scanned.bytes
        readings += scanned.count
        continue
      }
      if (scanned.kind === 'corrupt') return { validEnd: pos, readings, fileSize, problem: `${scanned.reason} at offset ${pos}` }
      const want = Math.max(scanned.need, CHUNK_BYTES)
      if (pos + scanned.need > fileSize) return { validEnd: pos, readings, fileSize, problem: `record cut short at offset ${pos}` }
      buf = Buffer.alloc(Math.min(want, fileSize - pos))
      await handle.read(buf, 0, buf.length, pos)
      bufStart = pos
    }
    return { validEnd: pos, readings, fileSize }
  } finally {
    await handle.close()
  }
}

/** One record as it is on disk: its place, how many items it holds, and their JSON (not parsed). */
export interface RawRecord {
  readonly start: number
  readonly end: number
  readonly count: number
  readonly payload: Buffer
}

export interface Chunk {
  readonly records: RawRecord[]
  /** The segment has no more readable records after these. */
  readonly exhausted: boolean
}

/**
 * Reads whole records of one segment from `offset` up to `limit` (its checked size), about
 * `maxReadings` readings (at least one record). Only bytes the journal has committed are read.
 */
export async function readSegment(segment: Segment, offset: number, limit: number, maxReadings: number): Promise<Chunk> {
  const handle = await open(segment.file, 'r')
  try {
    const records: RawRecord[] = []
    let pos = offset
    let count = 0
    while (pos < limit && count < maxReadings) {
      let buf = Buffer.alloc(Math.min(CHUNK_BYTES, limit - pos))
      await handle.read(buf, 0, buf.length, pos)
      let at = 0
      let progressed = false
      while (pos + at < limit && count < maxReadings) {
        let scanned = scanRecord(buf, at)
        if (scanned.kind === 'partial' && at === 0) {
          // one record larger than a chunk
          buf = Buffer.alloc(Math.min(scanned.need, limit - pos))
          await handle.read(buf, 0, buf.length, pos)
          scanned = scanRecord(buf, 0)
        }
        if (scanned.kind === 'partial') break
        if (scanned.kind === 'corrupt') return { records, exhausted: true }
        const start = segment.base + pos + at
        records.push({ start, end: start + scanned.bytes, count: scanned.count, payload: scanned.payload })
        at += scanned.bytes
        count += scanned.count
        progressed = true
      }
      pos += at
      if (!progressed) return { records, exhausted: true }
    }
    return { records, exhausted: pos >= limit }
  } finally {
    await handle.close()
  }
}
