import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_TOKEN, startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { TEST_DEVICES } from '../helpers/site.js'

/**
 * A password guesser against the broker (docs/security.md): 500 CONNECTs with wrong secrets, 50 at
 * a time, over many device names, from one address, while a working device keeps publishing.
 * Bounded: the guesses get at most the per-address number of secret checks (scrypt runs on the
 * thread pool the journal's fsync needs), every refusal is counted, and every reading of the
 * working device is acknowledged.
 */
let t: TestPlatform
beforeAll(async () => {
  t = await startTestPlatform()
})
afterAll(async () => {
  await t?.stop()
})

async function refused(): Promise<Record<string, number>> {
  const res = await fetch(`http://127.0.0.1:${t.platform.ports.http}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  const out: Record<string, number> = {}
  for (const m of (await res.text()).matchAll(/^minewatch_connections_refused_total\{reason="([A-Z_]+)"\} (\d+)/gm)) out[m[1]!] = Number(m[2])
  return out
}

describe('a flood of wrong secrets', () => {
  it('gets at most 50 secret checks from one address, every refusal counted, and the working device is acknowledged throughout', async () => {
    // a device that was connected before the flood (its secret already verified)
    const working = await t.connect('a-prism')
    const names = TEST_DEVICES.map((d) => d.id)
    let acked = 0
    let sending = true
    const publishing = (async () => {
      for (let i = 0; sending || i < 20; i++) {
        await working.publishAsync('mines/mine-a/devices/a-prism/telemetry', JSON.stringify({ ts: Date.now() - 60_000 + i, values: { dN: i / 10 } }), { qos: 1 })
        acked++
      }
    })()
    const codes: number[] = []
    for (let round = 0; round < 10; round++) {
      const tries = Array.from({ length: 50 }, (_, i) =>
        mqtt.connectAsync(t.mqttUrl, { username: names[(round * 50 + i) % names.length], password: 'guess', clientId: `guess-${round}-${i}`, reconnectPeriod: 0, connectTimeout: 30_000 }).then(
          (c) => {
            void c.endAsync(true)
            return 0
          },
          (err: { code?: number }) => err.code ?? -1,
        ),
      )
      codes.push(...(await Promise.all(tries)))
    }
    sending = false
    await publishing
    // every guess refused: bad secret (4), too many failures (5) or busy (3)
    expect(codes.filter((c) => ![3, 4, 5].includes(c))).toEqual([])
    const counts = await refused()
    expect(counts.BAD_SECRET ?? 0).toBeLessThanOrEqual(50)
    expect((counts.BAD_SECRET ?? 0) + (counts.TOO_MANY_FAILURES ?? 0) + (counts.AUTH_BUSY ?? 0)).toBe(500)
    // the working device never stopped being acknowledged, and comes back at once when it reconnects
    expect(acked).toBeGreaterThanOrEqual(20)
    expect(working.connected).toBe(true)
    await working.endAsync()
    const again = await t.connect('a-prism')
    await again.endAsync()
  })
})
