import { describe, expect, it } from 'vitest'
import { FrameScanner, unsupportedProtocolLevel } from '../../ingest/broker/frame-guard.js'

/** The fixed header of a PUBLISH announcing `length` body bytes (MQTT 3.1.1 §2.2.3). */
function header(length: number): Buffer {
  const bytes = [0x30]
  let x = length
  do {
    let byte = x % 128
    x = Math.floor(x / 128)
    if (x > 0) byte |= 0x80
    bytes.push(byte)
  } while (x > 0)
  return Buffer.from(bytes)
}

const packet = (length: number) => Buffer.concat([header(length), Buffer.alloc(length, 0x61)])

describe('FrameScanner', () => {
  it.each([0, 1, 127, 128, 16_383, 16_384, 1000])('lets a %d-byte packet through under a 16 KiB cap', (n) => {
    expect(new FrameScanner(16_384).feed(packet(n))).toBe(-1)
  })

  it.each([16_385, 2_097_152, 268_435_455])('stops a %d-byte packet at its header', (n) => {
    // only the header is needed: the body never has to arrive
    expect(new FrameScanner(16_384).feed(header(n))).toBe(n)
  })

  it('follows packets split across chunks at every byte', () => {
    const stream = Buffer.concat([packet(5), packet(200), packet(0), packet(130)])
    for (let cut = 0; cut <= stream.length; cut++) {
      const s = new FrameScanner(200)
      expect(s.feed(stream.subarray(0, cut))).toBe(-1)
      expect(s.feed(stream.subarray(cut))).toBe(-1)
    }
    const s = new FrameScanner(199)
    expect(s.feed(stream)).toBe(200)
  })

  it('refuses a length field longer than four bytes', () => {
    expect(new FrameScanner(1 << 30).feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBe(Number.POSITIVE_INFINITY)
  })
})

describe('unsupportedProtocolLevel', () => {
  const connect = (name: string, level: number) => {
    const body = Buffer.concat([Buffer.from([0, name.length]), Buffer.from(name, 'latin1'), Buffer.from([level, 0x02, 0, 60, 0, 1, 0x78])])
    return Buffer.concat([Buffer.from([0x10, body.length]), body])
  }
  it('names a level it does not speak, and passes 3.1, 3.1.1 and 5 (which aedes answers) and what is not a CONNECT of MQTT', () => {
    expect([9, 2, 0, 6].map((l) => unsupportedProtocolLevel(connect('MQTT', l)))).toEqual([9, 2, 0, 6])
    expect(unsupportedProtocolLevel(connect('MQIsdp', 7))).toBe(7)
    expect([3, 4, 5].map((l) => unsupportedProtocolLevel(connect('MQTT', l)))).toEqual([undefined, undefined, undefined])
    expect(unsupportedProtocolLevel(connect('XMPP', 9))).toBeUndefined()
    expect(unsupportedProtocolLevel(Buffer.from([0x30, 0x02, 0, 0]))).toBeUndefined()
    expect(unsupportedProtocolLevel(connect('MQTT', 9).subarray(0, 5))).toBeUndefined()
  })
})
