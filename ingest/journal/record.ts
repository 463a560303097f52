import { crc32 } from 'node:zlib'

/**
 * The journal's on-disk record: a 12-byte header (payload length, CRC-32 of the payload, number of
 * readings; all u32 little-endian) and the readings as UTF-8 JSON. The CRC finds a record torn by
 * a crash mid-write; the count lets the journal know its backlog without parsing JSON.
 */
export const HEADER_BYTES = 12
/** Far above any one MQTT message's readings; a larger length means a damaged header. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024

/** One record: the items of one append (the readings of one MQTT message, or alert events). */
export function encodeRecord(readings: readonly unknown[]): Buffer {
  // one allocation per record: this runs once per accepted message
  const json = JSON.stringify(readings)
  const length = Buffer.byteLength(json)
  const record = Buffer.allocUnsafe(HEADER_BYTES + length)
  record.write(json, HEADER_BYTES, 'utf8')
  record.writeUInt32LE(length, 0)
  record.writeUInt32LE(crc32(record.subarray(HEADER_BYTES)), 4)
  record.writeUInt32LE(readings.length, 8)
  return record
}

export type Scanned =
  | { readonly kind: 'record'; readonly bytes: number; readonly count: number; readonly payload: Buffer }
  /** The buffer ends inside this record: read more (or, at the end of a file, a torn write). */
  | { readonly kind: 'partial'; readonly need: number }
  | { readonly kind: 'corrupt'; readonly reason: string }

/** Looks at the record starting at `offset` of `buf`. Pure; never throws. */
export function scanRecord(buf: Buffer, offset: number): Scanned {
  if (buf.length - offset < HEADER_BYTES) return { kind: 'partial', need: HEADER_BYTES }
  const length = buf.readUInt32LE(offset)
  const crc = buf.readUInt32LE(offset + 4)
  const count = buf.readUInt32LE(offset + 8)
  if (length === 0 || length > MAX_RECORD_BYTES) return { kind: 'corrupt', reason: `impossible record length ${length}` }
  const end = offset + HEADER_BYTES + length
  if (end > buf.length) return { kind: 'partial', need: HEADER_BYTES + length }
  const payload = buf.subarray(offset + HEADER_BYTES, end)
  if (crc32(payload) !== crc) return { kind: 'corrupt', reason: 'checksum mismatch' }
  return { kind: 'record', bytes: HEADER_BYTES + length, count, payload }
}

export function decodePayload<T>(payload: Buffer): T[] {
  return JSON.parse(payload.toString('utf8')) as T[]
}
