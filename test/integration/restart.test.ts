import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { afterAll, describe, expect, it } from 'vitest'
import { runPlatform, testEnv, waitFor, type PlatformProcess } from '../helpers/process.js'

/**
 * Restarts under repeated crashes (docs/benchmarks.md, "Restarts under repeated kill -9"): a process killed every few seconds used never to
 * save a new rule snapshot, so each start replayed everything since the last one that did, and
 * restarts grew slower and the journal larger. Each start now saves one once it has replayed.
 */
const dirs: string[] = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

/** The `replayed` count of the start's "warning book ready" line. */
async function startAndReplayed(env: Record<string, string>): Promise<{ p: PlatformProcess; replayed: number; mqtt: number }> {
  const p = runPlatform(env)
  const ports = await p.started()
  await waitFor(() => p.output().includes('warning book ready'), 10_000)
  const line = p
    .output()
    .split('\n')
    .find((l) => l.includes('warning book ready'))!
  return { p, replayed: JSON.parse(line).replayed as number, mqtt: ports.mqtt }
}

async function kill(p: PlatformProcess) {
  p.child.kill('SIGKILL')
  await p.exited
}

describe('restarts under repeated kill -9', () => {
  it('replay only what came since the last start, and leave no half-written files behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'minewatch-restart-'))
    dirs.push(dir)
    const env = testEnv(dir)
    // what writes killed half-way leave behind
    mkdirSync(join(dir, 'journal'), { recursive: true })
    writeFileSync(join(dir, 'journal', 'checkpoint.json.tmp'), '{"posi')
    writeFileSync(join(dir, 'alerting-rule-state.json.tmp'), '{"posi')

    let run = await startAndReplayed(env)
    expect(existsSync(join(dir, 'journal', 'checkpoint.json.tmp'))).toBe(false)
    expect(existsSync(join(dir, 'alerting-rule-state.json.tmp'))).toBe(false)
    // readings, then a crash before the minute's snapshot
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${run.mqtt}`, { username: 'yt-rain-01', password: 'yt-rain-01-demo', reconnectPeriod: 0 })
    const t0 = Date.now() - 3_600_000
    for (let i = 0; i < 200; i++) await c.publishAsync('mines/yt-jinshan/devices/yt-rain-01/telemetry', JSON.stringify({ ts: t0 + i * 1000, values: { rainfall: 0.1 } }), { qos: 1 })
    await c.endAsync(true).catch(() => undefined)
    await kill(run.p)

    run = await startAndReplayed(env)
    expect(run.replayed).toBe(200)
    // killed again at once: the start before saved what it replayed
    await kill(run.p)
    run = await startAndReplayed(env)
    expect(run.replayed).toBe(0)
    run.p.child.kill('SIGTERM')
    expect(await run.p.exited).toBe(0)
  }, 60_000)
})
