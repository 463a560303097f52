import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { aptInstall } from './apt.js'
import { freePort } from './influxdb.js'

/**
 * A real Redis for tests (docs/cluster.md): Debian's `redis-server` (7.0), installed with apt-get
 * when missing, started here on a free loopback port with a temp directory and no persistence of
 * its own, and stopped afterwards. Nothing is mocked.
 */
export interface TestRedis {
  readonly url: string
  readonly port: number
  /** Stops it (SIGKILL: as a crash). */
  kill(): Promise<void>
  /** Freezes it (SIGSTOP): connections stay open, nothing is answered, as a stalled server. */
  pause(): void
  /** Lets it go on (SIGCONT). */
  resume(): void
  dispose(): Promise<void>
}

function redisServerPath(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : undefined
}

export function ensureRedisServer(): string {
  const found = redisServerPath()
  if (found) return found
  aptInstall(['redis-server'], 'redis-server not found (cluster tests)')
  const path = redisServerPath()
  if (!path) throw new Error('apt-get installed redis-server but it is still not on PATH')
  return path
}

/** PING over a plain socket until Redis answers PONG. */
async function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.write('PING\r\n'))
    s.setTimeout(1000, () => (s.destroy(), resolve(false)))
    s.once('error', () => resolve(false))
    s.once('data', (d) => {
      s.destroy()
      resolve(d.toString().startsWith('+PONG'))
    })
  })
}

export async function startRedis(): Promise<TestRedis> {
  const bin = ensureRedisServer()
  const dir = mkdtempSync(join(tmpdir(), 'minewatch-redis-'))
  const port = await freePort()
  let out = ''
  const child: ChildProcess = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)))
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)))
  const deadline = Date.now() + 15_000
  while (!(await answers(port))) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}: ${out}`)
    if (Date.now() > deadline) throw new Error(`redis-server did not answer PING within 15 s: ${out}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve())
      child.kill('SIGKILL')
    })
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    async dispose() {
      child.kill('SIGCONT')
      await kill()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
