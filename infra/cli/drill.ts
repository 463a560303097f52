import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { scenarioNames } from '../../simulators/scenario.js'
import { parseEnv } from '../config/env.js'

/**
 * `npm run drill -- slope-failure`: runs a scenario into the running demo (`npm run demo`) as the
 * devices' shadows (docs/drills.md) and follows it to the end; the warnings climb on the 预警专席
 * meanwhile. Ctrl-C stops the drill; `npm run drill -- --stop` stops the one running. It asks the platform over
 * HTTP with the admin token (MINEWATCH_ADMIN_TOKEN, or the one the platform keeps in
 * <data dir>/admin-token); the platform replays the scenario (infra/simulation.ts says how).
 */
const usage = `usage: npm run drill -- <${scenarioNames().join('|')}> [--url http://127.0.0.1:3000]\n       npm run drill -- --stop   (stops the drill running)`
const say = (line: string) => process.stdout.write(`${line}\n`)
function fail(message: string): never {
  process.stderr.write(`minewatch drill: ${message}\n${usage}\n`)
  process.exit(2)
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { url: { type: 'string' }, stop: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } } })
if (values.help) {
  say(usage)
  process.exit(0)
}
const scenario = values.stop ? '' : (positionals[0] ?? fail('which scenario?'))
const envResult = parseEnv(process.env)
if (!envResult.ok) fail(envResult.errors.join('; '))
const env = envResult.env
const url = values.url ?? `http://127.0.0.1:${env.MINEWATCH_HTTP_PORT}`
let token = process.env.MINEWATCH_ADMIN_TOKEN
if (!token) {
  const file = join(env.MINEWATCH_DATA_DIR, 'admin-token')
  try {
    token = readFileSync(file, 'utf8').trim()
  } catch {
    fail(`no admin token: set MINEWATCH_ADMIN_TOKEN, or run this where the demo keeps ${file} (is the demo running? npm run demo)`)
  }
}

interface Drill {
  scenario: string
  title: string
  running: boolean
  progress: number
  from: number
  durationMs: number
  speed: number
  expect: { device: string; rule: string; level: string }[]
  error: string | null
  stopped: boolean
}

async function call(method: 'GET' | 'POST' | 'DELETE', body?: object): Promise<Drill> {
  let res: Response
  try {
    res = await fetch(`${url}/api/demo/drill`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    })
  } catch (err) {
    fail(`could not reach the platform at ${url} (${(err as Error).message}); is the demo running? npm run demo`)
  }
  const json = (await res.json().catch(() => ({}))) as { drill?: Drill; error?: { code: string; message: string } }
  if (!res.ok || !json.drill) fail(json.error ? `${json.error.message} [${json.error.code}]` : `HTTP ${res.status}`)
  return json.drill
}

if (values.stop) {
  const stopped = await call('DELETE')
  say(stopped.stopped ? `演练已停止 drill stopped: ${stopped.title}` : `没有正在进行的演练 (no drill was running; the last one: ${stopped.title})`)
  process.exit(0)
}

let drill = await call('POST', { scenario })
// Ctrl-C stops the drill, not only this command
process.once('SIGINT', () => {
  void call('DELETE').then(() => {
    say('演练已停止 drill stopped')
    process.exit(130)
  })
})
say(`演练 drill: ${drill.title} · ${(drill.durationMs / 3_600_000).toFixed(0)} simulated hours at ×${drill.speed} (about ${Math.ceil(drill.durationMs / drill.speed / 1000)} s)`)
if (drill.expect.length > 0) say(`expected warnings: ${drill.expect.map((e) => `${e.device} ${e.rule} ≥ ${e.level}`).join('; ')}`)
say(`watch them on the 预警专席: ${url}/#/seat`)
while (drill.running) {
  await new Promise((r) => setTimeout(r, 2000))
  drill = await call('GET')
  say(`[drill] ${(drill.progress * 100).toFixed(0)}%`)
}
if (drill.error) fail(`the drill stopped: ${drill.error}`)
if (drill.stopped) say('演练已停止 drill stopped')
else say('演练结束 drill over: its warnings (marked 演练) wait on the seat to be signed and resolved; the devices’ own series and warnings were not touched')
