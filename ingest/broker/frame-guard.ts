import type { Duplex } from 'node:stream'
import type { Socket } from 'node:net'

/**
 * MQTT packets may be up to 256 MB (MQTT 3.1.1 §2.2.3) and aedes buffers a whole packet before it
 * hands it to a hook, so one device (or anyone, before CONNECT) could make the broker hold 256 MB.
 * The guard reads only the fixed headers of the byte stream and closes the connection when a
 * packet announces more than `maxFrameBytes`. Packets above the payload limit but below this cap
 * still arrive, and are quarantined as PAYLOAD_TOO_LARGE with their first bytes kept.
 */
/**
 * The first packet of a connection is its CONNECT: a client id, a user name, a password and a will
 * (here only `{"online": false}` on the device's status topic). 64 KiB is far more than that
 * needs; a CONNECT announcing more is closed at its header, so a thousand connections that never
 * finish a CONNECT hold kilobytes, not the frame limit each (docs/security.md).
 */
export const MAX_CONNECT_BYTES = 64 * 1024

export class FrameScanner {
  private state: 'type' | 'length' | 'body' = 'type'
  private length = 0
  private multiplier = 1
  private remaining = 0
  private packets = 0

  constructor(
    private readonly maxFrameBytes: number,
    private readonly maxConnectBytes = MAX_CONNECT_BYTES,
  ) {}

  /** Returns the announced length of the first packet over the cap, or -1 when all is within it. */
  feed(chunk: Buffer): number {
    let i = 0
    while (i < chunk.length) {
      if (this.state === 'body') {
        const take = Math.min(this.remaining, chunk.length - i)
        this.remaining -= take
        i += take
        if (this.remaining === 0) this.state = 'type'
        continue
      }
      const byte = chunk[i++]!
      if (this.state === 'type') {
        this.state = 'length'
        this.length = 0
        this.multiplier = 1
        continue
      }
      // remaining length: 7 bits per byte, least significant first (§2.2.3)
      this.length += (byte & 0x7f) * this.multiplier
      this.multiplier *= 128
      if (byte & 0x80) {
        if (this.multiplier >= 128 ** 4) return Number.POSITIVE_INFINITY // malformed: more than 4 bytes
        continue
      }
      if (this.length > (this.packets++ === 0 ? Math.min(this.maxConnectBytes, this.maxFrameBytes) : this.maxFrameBytes)) return this.length
      this.remaining = this.length
      this.state = this.remaining === 0 ? 'type' : 'body'
    }
    return -1
  }
}

export class FrameTooLargeError extends Error {
  constructor(
    readonly announced: number,
    readonly limit: number,
  ) {
    super(`MQTT packet of ${announced} bytes is over the ${limit}-byte frame limit; connection closed`)
  }
}

/**
 * The protocol level a CONNECT at the start of `first` asks for, when it is one this broker does not
 * speak (MQTT 3.1 "MQIsdp" 3, 3.1.1 "MQTT" 4; 5 is answered by aedes itself), else undefined. The
 * packet parser closes such a connection without a word, while [MQTT-3.1.2-2] asks the server to
 * answer CONNACK 0x01 (unacceptable protocol version) first. Pure; undefined when `first` is too
 * short to tell or is not a CONNECT of MQTT.
 */
export function unsupportedProtocolLevel(first: Buffer): number | undefined {
  if (first.length < 2 || first[0] !== 0x10) return undefined
  let i = 1
  while (i < first.length && i < 5 && first[i]! & 0x80) i++
  i++ // past the last byte of the remaining length
  if (first.length < i + 2) return undefined
  const nameLength = first.readUInt16BE(i)
  const name = first.subarray(i + 2, i + 2 + nameLength).toString('latin1')
  const level = first[i + 2 + nameLength]
  if (level === undefined || (name !== 'MQTT' && name !== 'MQIsdp')) return undefined
  return level === 3 || level === 4 || level === 5 ? undefined : level
}

/** CONNACK, session present 0, return code 0x01: unacceptable protocol version (MQTT 3.1.1 §3.2.2.3). */
const CONNACK_UNACCEPTABLE_PROTOCOL = Buffer.from([0x20, 0x02, 0x00, 0x01])

/**
 * Guards a connection in place: aedes pulls bytes with `read()` when the stream is readable
 * (paused mode), so the scanner wraps that one method of this stream instance. No stream stage is
 * added in front of aedes: an extra Transform and Duplex per connection cost a fifth of the
 * broker's CPU under load (measured with bench/, see docs/benchmarks.md).
 */
export function guardedConnection<S extends Socket | Duplex>(
  stream: S,
  maxFrameBytes: number,
  onTooLarge: (err: FrameTooLargeError) => void,
  onUnsupportedProtocol: (level: number) => void = () => undefined,
): S {
  const scanner = new FrameScanner(maxFrameBytes)
  const read = stream.read.bind(stream)
  let first = true
  stream.read = (size?: number) => {
    const chunk: unknown = read(size)
    if (Buffer.isBuffer(chunk)) {
      if (first) {
        first = false
        const level = unsupportedProtocolLevel(chunk)
        if (level !== undefined) {
          onUnsupportedProtocol(level)
          stream.write(CONNACK_UNACCEPTABLE_PROTOCOL, () => stream.destroy())
          return null
        }
      }
      const over = scanner.feed(chunk)
      if (over >= 0) {
        onTooLarge(new FrameTooLargeError(over, maxFrameBytes))
        stream.destroy()
        return null
      }
    }
    return chunk
  }
  return stream
}
