import { describe, expect, it } from 'vitest'
import { parseSite } from '../../infra/config/site-file.js'
import { DEVICE_KINDS } from '../../ingest/contract/kinds.js'
import { decodeTelemetry } from '../../ingest/decode.js'
import { gatewayDevices } from '../../ingest/site.js'
import { provinceMines, provinceSite, provinceValues } from '../../simulators/province.js'
import { seeded } from '../../simulators/random.js'

const HASH = 'scrypt$1024$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='

describe('a generated province', () => {
  it('is a valid site: 500 mines of 50 devices over 16 cities, each mine with its uplink account carrying all its devices', () => {
    const opts = { mines: 500, devicesPerMine: 50, interval: 60, seed: 7 }
    const parsed = parseSite(provinceSite(opts, { device: HASH, account: () => HASH, user: HASH }))
    if (!parsed.ok) throw new Error(parsed.errors.slice(0, 5).join('\n'))
    const site = parsed.site
    expect(site.mines).toHaveLength(500)
    expect(site.mines.reduce((n, m) => n + m.devices.length, 0)).toBe(25_000)
    expect(new Set(site.mines.map((m) => m.region)).size).toBe(16)
    expect(site.gateways).toHaveLength(500)
    for (const g of site.gateways.slice(0, 20)) expect(gatewayDevices(site, g)).toHaveLength(50)
    // every kind, slope prisms the most
    const kinds = site.mines[0]!.devices.map((d) => d.kind)
    expect(new Set(kinds)).toEqual(new Set(DEVICE_KINDS))
    expect(kinds.filter((k) => k === 'prism')).toHaveLength(20)
    // the same seed, the same province
    expect(provinceSite(opts, { device: HASH, account: () => HASH, user: HASH })).toEqual(provinceSite(opts, { device: HASH, account: () => HASH, user: HASH }))
  })

  it('sends readings that the device contract takes, of every kind', () => {
    const random = seeded(1)
    const now = Date.UTC(2026, 11, 1)
    for (const d of provinceMines({ mines: 1, devicesPerMine: 50, interval: 60, seed: 7 })[0]!.devices) {
      for (let n = 0; n < 5; n++) {
        const payload = Buffer.from(JSON.stringify({ ts: now, values: provinceValues(d.kind, n, random) }))
        const decoded = decodeTelemetry(payload, { mineId: d.mineId, deviceId: d.id, kind: d.kind }, now, { maxPayloadBytes: 256 * 1024, maxFutureMs: 300_000, maxAgeMs: 86_400_000 })
        expect(decoded.problems, `${d.kind} reading ${n}`).toEqual([])
        expect(decoded.readings).toHaveLength(1)
      }
    }
  })
})
