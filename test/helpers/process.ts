import { spawn } from 'node:child_process'
import { afterAll } from 'vitest'

/** The real entry point, as `npm start` runs it, in a child process. */
export interface PlatformProcess {
  readonly child: ReturnType<typeof spawn>
  readonly exited: Promise<number | null>
  output(): string
  /** Waits for the start-up line and returns the ports it names (ephemeral ports are allowed). */
  started(timeoutMs?: number): Promise<{ mqtt: number; ws: number; http: number }>
}

/** The TypeScript entry point through tsx (as in development), or the compiled one (as `npm start` runs it). */
export const SOURCE_ENTRY = ['--import', 'tsx', 'infra/main.ts']
/** `npm start`'s young generation (README, "Memory and GC"): a reading in flight no longer outlives a scavenge. */
export const COMPILED_ENTRY = ['--max-semi-space-size=64', 'dist/infra/main.js']

/** Platform processes still running: killed after the test file, whatever its tests did. */
const children = new Set<ReturnType<typeof spawn>>()
// (under vitest only: `npm run bench` starts platforms with these helpers too, outside any test)
if (process.env.VITEST)
  afterAll(() => {
    for (const child of children) child.kill('SIGKILL')
  })

export function runPlatform(env: Record<string, string>, nodeArgs: string[] = [], entry: readonly string[] = SOURCE_ENTRY): PlatformProcess {
  const child = spawn(process.execPath, [...nodeArgs, ...entry], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout.on('data', (c) => (out += c))
  child.stderr.on('data', (c) => (out += c))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  // a test that fails half-way must not leave its platform running (holding ports and CPU)
  children.add(child)
  child.on('exit', () => children.delete(child))
  return {
    child,
    exited,
    output: () => out,
    async started(timeoutMs = 30_000) {
      await waitFor(() => out.includes('minewatch 已启动') || child.exitCode !== null, timeoutMs)
      const line = out.split('\n').find((l) => l.includes('minewatch 已启动'))
      if (!line) throw new Error(`the platform did not start:\n${out}`)
      return JSON.parse(line).ports
    },
  }
}

export async function waitFor(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Ports 0 and loopback: the environment a test platform process runs with. */
export function testEnv(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    MINEWATCH_DATA_DIR: dataDir,
    MINEWATCH_BIND: '127.0.0.1',
    MINEWATCH_MQTT_PORT: '0',
    MINEWATCH_MQTT_WS_PORT: '0',
    MINEWATCH_HTTP_PORT: '0',
    MINEWATCH_LOG_FORMAT: 'json',
    // the tests run the demo site, whose credentials are refused outside the demo
    MINEWATCH_DEMO: '1',
    ...extra,
  }
}
