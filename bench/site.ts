import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { hashSecret, type ScryptCost } from '../ingest/secrets.js'

/**
 * A site file for N benchmark devices: prisms (three metrics a reading, the commonest kind on a
 * slope), 100 to a mine. Secrets are hashed at a lower scrypt cost than production so that
 * setting up 10,000 devices takes seconds; the cost of admitting devices at the production cost
 * is measured on its own (see run.ts, "admission").
 */
export const BENCH_COST: ScryptCost = { N: 2 ** 10, r: 8, p: 1 }

export interface BenchDevice {
  readonly id: string
  readonly mineId: string
  readonly password: string
}

/** The alerting probe: a piezometer with a red threshold at 4.0 m, and an account that reads its mine's warnings. */
export const PROBE = { mineId: 'bench-probe-mine', device: 'bench-probe', password: 'bench-probe-secret', account: 'bench-svc', accountPassword: 'bench-svc-secret' }

export async function writeBenchSite(dir: string, count: number, cost: ScryptCost = BENCH_COST, intervalSeconds = 60): Promise<{ file: string; devices: BenchDevice[] }> {
  const devices: BenchDevice[] = Array.from({ length: count }, (_, i) => ({
    id: `bench-${String(i).padStart(5, '0')}`,
    mineId: `bench-mine-${String(Math.floor(i / 100)).padStart(3, '0')}`,
    password: `bench-secret-${i}`,
  }))
  const hashes = await Promise.all(devices.map((d) => hashSecret(d.password, cost)))
  const mines = new Map<string, object[]>()
  devices.forEach((d, i) => {
    const list = mines.get(d.mineId) ?? []
    list.push({ id: d.id, kind: 'prism', name: `基准测试棱镜 ${i}`, position: { lat: 37.35, lon: 120.85 }, interval: intervalSeconds, secretHash: hashes[i] })
    mines.set(d.mineId, list)
  })
  const probe = {
    id: PROBE.mineId,
    name: '基准告警探针矿山',
    region: 'bench',
    location: { lat: 37.35, lon: 120.85 },
    status: 'producing',
    devices: [
      {
        id: PROBE.device,
        kind: 'piezometer',
        name: '告警探针 浸润线',
        position: { lat: 37.35, lon: 120.85 },
        interval: 60,
        secretHash: await hashSecret(PROBE.password, cost),
        rules: [{ kind: 'threshold', id: 'probe-depth', source: { metric: 'depth' }, direction: 'below', thresholds: { red: 4.0 } }],
      },
    ],
  }
  const site = {
    regions: [{ id: 'bench', name: '基准测试' }],
    mines: [...[...mines].map(([id, list]) => ({ id, name: `基准矿山 ${id}`, region: 'bench', location: { lat: 37.35, lon: 120.85 }, status: 'producing', devices: list })), probe],
    serviceAccounts: [{ id: PROBE.account, name: '基准告警订阅', secretHash: await hashSecret(PROBE.accountPassword, cost), mines: [PROBE.mineId] }],
  }
  const file = join(dir, 'bench-site.yaml')
  writeFileSync(file, stringify(site))
  return { file, devices }
}
