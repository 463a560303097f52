import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { stringify } from 'yaml'
import { hashSecret } from '../../ingest/secrets.js'
import { connectMines, startProvinceLoad } from '../../simulators/province-load.js'
import { provinceMines, provinceSite, type ProvinceOptions } from '../../simulators/province.js'

/**
 * `npm run sim -- --province 500x50 --out province/`: a generated province (simulators/province.ts)
 * as a site file for the province's platform, each mine platform's uplink password in
 * `passwords.json` beside it (owner-only; the site file holds only hashes), and then the mine
 * platforms reporting to it over MQTT, one connection each, a reading per device per interval.
 */
export async function runProvince(
  spec: string,
  opts: { out: string; url: string; interval: number; durationMs: number; seed: number },
  say: (line: string) => void,
  fail: (message: string) => never,
): Promise<void> {
  const m = /^(\d+)x(\d+)$/.exec(spec)
  if (!m) fail(`--province ${spec}: expected <mines>x<devices per mine>, e.g. 500x50`)
  const options: ProvinceOptions = { mines: Number(m[1]), devicesPerMine: Number(m[2]), interval: opts.interval, seed: opts.seed }
  if (options.mines < 1 || options.devicesPerMine < 1) fail(`--province ${spec}: at least one mine of one device`)
  const dir = resolve(opts.out)
  const siteFile = join(dir, 'site.yaml')
  const passwordsFile = join(dir, 'passwords.json')
  const mines = provinceMines(options)
  let passwords: Record<string, string> = {}
  if (existsSync(passwordsFile)) passwords = JSON.parse(readFileSync(passwordsFile, 'utf8')) as Record<string, string>
  if (!existsSync(siteFile) || mines.some((mine) => passwords[mine.account] === undefined)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    passwords = Object.fromEntries(mines.map((mine) => [mine.account, randomBytes(12).toString('base64url')]))
    const hashes = new Map<string, string>()
    for (const [i, mine] of mines.entries()) {
      hashes.set(mine.account, await hashSecret(passwords[mine.account]!))
      if ((i + 1) % 50 === 0 || i + 1 === mines.length) say(`[province] hashing the uplink accounts' passwords ${i + 1}/${mines.length}`)
    }
    const userPassword = randomBytes(9).toString('base64url')
    const site = provinceSite(options, { device: await hashSecret(randomBytes(16).toString('hex')), account: (a) => hashes.get(a)!, user: await hashSecret(userPassword) })
    writeFileSync(siteFile, stringify(site), { mode: 0o600 })
    writeFileSync(passwordsFile, JSON.stringify({ ...passwords, 'province-regulator': userPassword }, null, 2), { mode: 0o600 })
    say(`[province] wrote ${siteFile} (${options.mines} mines, ${options.mines * options.devicesPerMine} devices, ${options.mines} uplink accounts) and ${passwordsFile}`)
    say(`[province] the province's platform: MINEWATCH_SITE=${siteFile} npm start   (sign in as province-regulator, password in passwords.json)`)
  }
  say(`[province] ${options.mines} mine platforms → ${opts.url}, a reading per device every ${options.interval} s (${Math.round((options.mines * options.devicesPerMine) / options.interval)}/s)`)
  let clients
  try {
    clients = await connectMines(opts.url, mines, (account) => passwords[account]!)
  } catch (err) {
    fail(`could not connect to ${opts.url}: ${(err as Error).message} (is the province's platform running on ${siteFile}?)`)
  }
  const load = startProvinceLoad(clients, mines, options.interval, options.seed)
  const timer = setInterval(() => say(`[province] acknowledged ${load.acked} · failed ${load.failed}`), 5000)
  await new Promise((r) => setTimeout(r, opts.durationMs))
  clearInterval(timer)
  await load.stop()
  say(`done: acknowledged ${load.acked}, failed ${load.failed}`)
}
