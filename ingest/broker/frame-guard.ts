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
 * Guards a connection in place: aedes pulls bytes with `read()` when the stream is readable
 * (paused mode), so the scanner wraps that one method of this stream instance. No stream stage is
 * added in front of aedes: an extra Transform and Duplex per connection cost a fifth of the
 * broker's CPU under load (measured with bench/, see docs/benchmarks.md).
 */
export function guardedConnection<S extends Socket | Duplex>(stream: S, maxFrameBytes: number, onTooLarge: (err: FrameTooLargeError) => void): S {
  const scanner = new FrameScanner(maxFrameBytes)
  const read = stream.read.bind(stream)
  stream.read = (size?: number) => {
    const chunk: unknown = read(size)
    if (Buffer.isBuffer(chunk)) {
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
