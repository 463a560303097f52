import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DEVICE_KINDS } from '../../ingest/contract/kinds.js'
import { verifySecret } from '../../ingest/secrets.js'
import { DEMO_SITE, parseEnv, tlsFiles, trustProxy } from '../../infra/config/env.js'
import { loadSiteFile, parseSite } from '../../infra/config/site-file.js'

const HASH = 'scrypt$1024$8$1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g='
const device = (id: string, extra: object = {}) => ({
  id,
  kind: 'prism',
  name: id,
  position: { lat: 37, lon: 120 },
  interval: 600,
  secretHash: HASH,
  ...extra,
})
const site = (mines: object[], extra: object = {}) => ({ regions: [{ id: 'r1', name: '一市' }], mines, ...extra })
const mine = (id: string, devices: object[], extra: object = {}) => ({
  id,
  name: id,
  region: 'r1',
  location: { lat: 37, lon: 120 },
  status: 'producing',
  devices,
  ...extra,
})

describe('the demo site', () => {
  const loaded = loadSiteFile(DEMO_SITE)

  it('is valid', () => {
    expect(loaded.ok ? [] : loaded.errors).toEqual([])
  })

  it('has two mines in different regions and every device kind', () => {
    if (!loaded.ok) throw new Error('invalid')
    const { mines } = loaded.site
    expect(mines).toHaveLength(2)
    expect(new Set(mines.map((m) => m.region)).size).toBe(2)
    expect(new Set(mines.flatMap((m) => m.devices.map((d) => d.kind)))).toEqual(new Set(DEVICE_KINDS))
    expect(mines.every((m) => m.timezone === 'Asia/Shanghai')).toBe(true)
  })

  it('holds hashes of the documented demo secrets, not the secrets', async () => {
    if (!loaded.ok) throw new Error('invalid')
    const d = loaded.site.mines[0]!.devices[0]!
    expect(d.secretHash).toMatch(/^scrypt\$/)
    expect(d.secretHash).not.toContain(`${d.id}-demo`)
    expect(await verifySecret(`${d.id}-demo`, d.secretHash)).toBe(true)
    expect(await verifySecret('wrong', d.secretHash)).toBe(false)
  })
})

describe('site validation reports every problem with its path', () => {
  it.each([
    [site([mine('m1', [device('d1', { interval: -5 })])]), 'mines[0].devices[0].interval: expected a positive number'],
    [site([mine('m1', [device('d1', { interval: 'often' })])]), 'mines[0].devices[0].interval: expected a positive number'],
    [site([mine('m1', [device('d1', { kind: 'laser' })])]), 'mines[0].devices[0].kind: expected one of prism, gnss'],
    [site([mine('m1', [device('d 1')])]), 'mines[0].devices[0].id: expected an id'],
    [site([mine('m1', [device('d1', { secretHash: 'hunter2' })])]), 'mines[0].devices[0].secretHash: expected an scrypt hash'],
    [site([mine('m1', [device('d1', { position: { lat: 95, lon: 120 } })])]), 'mines[0].devices[0].position.lat: latitude must be within ±90°'],
    [site([mine('m1', [device('d1', { colour: 'red' })])]), 'mines[0].devices[0]: Unrecognized key: "colour"'],
    [site([mine('m1', [], { region: 'r9' })]), 'mines[0].region: unknown region "r9"'],
    [site([mine('m1', [], { status: 'closed' })]), 'mines[0].status: expected producing or suspended'],
    [site([mine('m1', [], { timezone: 'Mars/Olympus' })]), 'mines[0].timezone: expected an IANA time zone'],
    [site([mine('m1', [device('d1')]), mine('m2', [device('d1')])]), 'mines[1].devices[0].id: id "d1" is already used at mines[0].devices[0].id'],
    [site([mine('m1', []), mine('m1', [])]), 'mines[1].id: duplicate mine id "m1"'],
    [site([mine('m1', [])], { serviceAccounts: [{ id: 's', name: 'S', secretHash: HASH, mines: ['m7'] }] }), 'serviceAccounts[0].mines[0]: unknown mine "m7"'],
    [{ regions: [], mines: [] }, 'regions: expected at least one region'],
    [site([mine('m1', [device('d1')])], { gateways: [{ id: 'g', name: 'G', secretHash: HASH, mines: ['m9'] }] }), 'gateways[0].mines[0]: unknown mine "m9"'],
    [site([mine('m1', [device('d1')])], { gateways: [{ id: 'g', name: 'G', secretHash: HASH }] }), 'gateways[0].devices: expected at least one device (or the mines it carries)'],
    [
      site([mine('m1', [device('d1')])], { gateways: [{ id: 'g', name: 'G', secretHash: HASH, devices: ['d1'], link: { downAfter: 60 } }] }),
      'gateways[0].link: a link is judged for a mine platform (a gateway naming mines); name its mines or drop link',
    ],
    [
      site([mine('m1', [device('d1', { kind: 'pump', modbus: { host: 'plc', registers: [{ metric: 'level', address: 0 }] } })])]),
      'mines[0].devices[0].modbus.registers[0].metric: a pump has no metric "level"',
    ],
    [site([mine('m1', [])], { notify: { rosters: [{ id: 'r', rotation: { start: '2026-12-01', crews: [['x'], ['y']] } }] } }), 'notify.rosters[0].rotation.crews[0][0]: unknown contact "x"'],
    [
      site([mine('m1', [])], {
        notify: { rosters: [{ id: 'r', rotation: { start: '2026-12-01', crews: [['x'], ['y']] }, dates: [{ date: '2026-10-01', shifts: [{ from: '08:00', to: '08:00', contacts: ['z'] }] }] }] },
      }),
      'notify.rosters[0].dates[0].shifts[0].contacts[0]: unknown contact "z"',
    ],
  ])('%#: %s', (input, message) => {
    const result = parseSite(input)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.errors.join('\n')).toContain(message)
  })

  it('reports all problems at once, not the first only', () => {
    const result = parseSite(site([mine('m1', [device('d1', { interval: 0 }), device('d2', { kind: 'x' })], { region: 'nope' })]))
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.errors.length).toBeGreaterThanOrEqual(2)
  })

  it('reports a missing file and bad YAML clearly', () => {
    const missing = loadSiteFile('/nonexistent/site.yaml')
    expect(!missing.ok && missing.errors[0]).toMatch(/cannot read site file .*ENOENT/)
    const dir = mkdtempSync(join(tmpdir(), 'minewatch-site-'))
    try {
      const file = join(dir, 'site.yaml')
      writeFileSync(file, 'regions:\n  - { id: sd, name: 山东省\nmines: []\n')
      const bad = loadSiteFile(file)
      expect(!bad.ok && bad.errors).toEqual([expect.stringMatching(/site\.yaml \(line \d+\): not valid YAML\/JSON: /)])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('environment', () => {
  it('has the documented defaults', () => {
    const r = parseEnv({})
    expect(r.ok && r.env).toMatchObject({
      MINEWATCH_SITE: DEMO_SITE,
      MINEWATCH_MQTT_PORT: 1883,
      MINEWATCH_MQTT_WS_PORT: 8083,
      MINEWATCH_HTTP_PORT: 3000,
      MINEWATCH_DATA_DIR: 'data',
      MINEWATCH_MAX_PAYLOAD_BYTES: 262144,
    })
  })

  it('reports every bad variable by name', () => {
    const r = parseEnv({ MINEWATCH_MQTT_PORT: 'abc', MINEWATCH_HTTP_PORT: '70000', MINEWATCH_ADMIN_TOKEN: 'short' })
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.errors.join('\n')).toMatch(/MINEWATCH_MQTT_PORT/)
      expect(r.errors.join('\n')).toMatch(/MINEWATCH_HTTP_PORT/)
      expect(r.errors.join('\n')).toMatch(/MINEWATCH_ADMIN_TOKEN: must be at least 16/)
    }
  })

  it('refuses the placeholder admin token of .env.example', () => {
    const r = parseEnv({ MINEWATCH_ADMIN_TOKEN: 'change-me-minewatch-admin-token' })
    expect(r.ok ? [] : r.errors).toEqual([expect.stringMatching(/^MINEWATCH_ADMIN_TOKEN: is the placeholder of \.env\.example/)])
  })

  it('reads a trusted proxy as true, one address or a list, and the demo switch as a boolean', () => {
    const env = (v: Record<string, string>) => {
      const r = parseEnv(v)
      if (!r.ok) throw new Error(r.errors.join('; '))
      return r.env
    }
    expect(trustProxy(env({}))).toBeUndefined()
    expect(trustProxy(env({ MINEWATCH_TRUST_PROXY: 'true' }))).toBe(true)
    expect(trustProxy(env({ MINEWATCH_TRUST_PROXY: '127.0.0.1' }))).toBe('127.0.0.1')
    expect(trustProxy(env({ MINEWATCH_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }))).toEqual(['10.0.0.0/8', '127.0.0.1'])
    expect(env({ MINEWATCH_DEMO: '1' }).MINEWATCH_DEMO).toBe(true)
    expect(env({}).MINEWATCH_DEMO).toBe(false)
    expect(parseEnv({ MINEWATCH_DEMO: 'maybe' }).ok).toBe(false)
    expect(tlsFiles(env({ MINEWATCH_TLS_KEY: 'k.pem' }))).toEqual({ errors: [expect.stringMatching(/^MINEWATCH_TLS_CERT: required with MINEWATCH_TLS_KEY/)] })
  })

  it('treats an empty variable as unset', () => {
    const r = parseEnv({ MINEWATCH_HTTP_PORT: '' })
    expect(r.ok && r.env.MINEWATCH_HTTP_PORT).toBe(3000)
  })
})

describe('warning rules in the site file', () => {
  const errorsOf = (input: object) => {
    const r = parseSite(input)
    return r.ok ? [] : r.errors
  }
  const depth = { kind: 'threshold', id: 'depth', source: { metric: 'depth' }, direction: 'below', thresholds: { orange: 4.4, red: 4.0 } }

  it('takes rules per device, per kind on a mine and per kind for the site, replacing by id', async () => {
    const { rulesFor } = await import('../../alerting/config.js')
    const parsed = parseSite(
      site([mine('m1', [device('z1', { kind: 'piezometer', rules: [depth] })], { rules: { rain: [{ kind: 'accumulation', id: 'rain-24h', thresholds: { yellow: 30 } }] } })], {
        rules: { piezometer: [{ ...depth, thresholds: { red: 3 } }] },
      }),
    )
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'))
    const m = parsed.site.mines[0]!
    const z1 = rulesFor('piezometer', parsed.site.rules, m.rules, m.devices[0]!.rules)
    expect(z1.map((r) => r.id)).toEqual(['silence', 'depth'])
    expect(z1[1]).toMatchObject({ thresholds: { orange: 4.4, red: 4.0 } }) // the device's own wins
    expect(rulesFor('rain', parsed.site.rules, m.rules, [])).toMatchObject([{ id: 'silence' }, { id: 'rain-24h', thresholds: { yellow: 30 } }])
    expect(rulesFor('prism', parsed.site.rules, m.rules, []).map((r) => r.id)).toEqual(['silence', 'rate-day', 'rate-hour', 'inverse-velocity', 'step'])
  })

  it('names a metric the device kind does not have, and a displacement a rain gauge cannot have', () => {
    expect(
      errorsOf(
        site([
          mine('m1', [
            device('r1d', {
              kind: 'rain',
              rules: [
                { ...depth, id: 'x' },
                { kind: 'rate', id: 'v', source: { derived: 'total' }, window: 3600, thresholds: { red: 1 } },
              ],
            }),
          ]),
        ]),
      ),
    ).toEqual([
      'mines[0].devices[0].rules: rule "x": a rain has no metric "depth" (it has rainfall)',
      'mines[0].devices[0].rules: rule "v": a total displacement needs a prism or GNSS device, not rain',
    ])
  })

  it('refuses thresholds out of order and unknown rule kinds, with their paths', () => {
    const errors = errorsOf(
      site([
        mine('m1', [
          device('z1', {
            kind: 'piezometer',
            rules: [
              { ...depth, thresholds: { orange: 4, red: 4.4 } },
              { kind: 'magic', id: 'm' },
            ],
          }),
        ]),
      ]),
    )
    expect(errors).toContain('mines[0].devices[0].rules[0].thresholds: thresholds must grow more extreme from blue to red in the rule direction')
    expect(errors.some((e) => e.startsWith('mines[0].devices[0].rules[1].kind'))).toBe(true)
  })
})

describe('composite rules in the site file', () => {
  const errorsOf = (input: object) => {
    const r = parseSite(input)
    return r.ok ? [] : r.errors
  }
  it('puts a composite rule only on its kind of device, and a pump only watches a device of its mine', () => {
    expect(
      errorsOf(
        site([
          mine('m1', [
            device('p1', { kind: 'pump', rules: [{ kind: 'pumpFailure', id: 'pf', watch: { device: 'nowhere', above: 1 } }] }),
            device('c1', { kind: 'prism', rules: [{ kind: 'videoOffline', id: 'v' }] }),
          ]),
        ]),
      ),
    ).toEqual([
      'mines[0].devices[0].rules: rule "pf": watches "nowhere", which is not a device of this mine',
      'mines[0].devices[1].rules: rule "v": videoOffline belongs on a video device, not a prism',
    ])
  })
})
