import { hashSecret } from '../../ingest/secrets.js'
import type { DeviceKind } from '../../ingest/contract/kinds.js'
import { parseSite, type Site } from '../../infra/config/site-file.js'

/** Cheap scrypt cost for tests only: the format and the verification path are the real ones. */
const TEST_COST = { N: 1024, r: 8, p: 1 }

export const secretOf = (id: string) => `${id}-secret`

/** Phreatic depth thresholds on the test piezometer: orange at 4.4 m, red at 4.0 m (below). */
export const PIEZO_RULE = { kind: 'threshold', id: 'phreatic-depth', source: { metric: 'depth' }, direction: 'below', thresholds: { orange: 4.4, red: 4.0 }, clearMargin: 0.05 }

export const TEST_DEVICES: { id: string; mine: string; kind: DeviceKind; rules?: object[] }[] = [
  { id: 'a-prism', mine: 'mine-a', kind: 'prism' },
  { id: 'a-gnss', mine: 'mine-a', kind: 'gnss' },
  { id: 'a-piezo', mine: 'mine-a', kind: 'piezometer', rules: [PIEZO_RULE] },
  { id: 'a-reservoir', mine: 'mine-a', kind: 'reservoir' },
  { id: 'a-beach', mine: 'mine-a', kind: 'beach' },
  { id: 'a-rain', mine: 'mine-a', kind: 'rain' },
  { id: 'a-pump', mine: 'mine-a', kind: 'pump' },
  { id: 'a-power', mine: 'mine-a', kind: 'power' },
  { id: 'a-video', mine: 'mine-a', kind: 'video' },
  { id: 'b-prism', mine: 'mine-b', kind: 'prism' },
]

/** Dashboard users of the test site (password: secretOf(id)). */
export const TEST_USERS = [
  { id: 'disp-a', role: 'dispatcher', mines: ['mine-a'] },
  { id: 'dir-a', role: 'director', mines: ['mine-a'] },
  { id: 'disp-b', role: 'dispatcher', mines: ['mine-b'] },
  { id: 'reg-a', role: 'regulator', regions: ['region-a'] },
  { id: 'reg-all', role: 'regulator' },
]

export async function testSite(): Promise<Site> {
  const device = async (d: (typeof TEST_DEVICES)[number]) => ({
    id: d.id,
    kind: d.kind,
    name: `测试 ${d.id}`,
    position: { lat: 37.35, lon: 120.85 },
    interval: 60,
    secretHash: await hashSecret(secretOf(d.id), TEST_COST),
    ...(d.rules ? { rules: d.rules } : {}),
  })
  const mine = async (id: string, region: string, timezone: string) => ({
    id,
    name: `测试矿山 ${id}`,
    region,
    location: { lat: 37.35, lon: 120.85 },
    timezone,
    status: 'producing',
    devices: await Promise.all(TEST_DEVICES.filter((d) => d.mine === id).map(device)),
  })
  const parsed = parseSite({
    regions: [
      { id: 'region-a', name: '甲市' },
      { id: 'region-b', name: '乙市' },
    ],
    mines: [await mine('mine-a', 'region-a', 'Asia/Shanghai'), await mine('mine-b', 'region-b', 'Asia/Urumqi')],
    serviceAccounts: [{ id: 'svc-a', name: '甲市对接', secretHash: await hashSecret(secretOf('svc-a'), TEST_COST), mines: ['mine-a'] }],
    users: await Promise.all(TEST_USERS.map(async (u) => ({ ...u, name: `测试 ${u.id}`, passwordHash: await hashSecret(secretOf(u.id), TEST_COST) }))),
  })
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'))
  return parsed.site
}
