import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ensureCommand } from './apt.js'
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

export function ensureRedisServer(): string {
  return ensureCommand('redis-server', 'redis-server', 'redis-server not found (cluster tests)')
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

/** `args`: more of redis-server's options (e.g. `--replicaof 127.0.0.1 6379`); `port`: a fixed one (a server started again where it was). */
export async function startRedis(opts: { args?: readonly string[]; port?: number; config?: string } = {}): Promise<TestRedis> {
  const bin = ensureRedisServer()
  const dir = mkdtempSync(join(tmpdir(), 'minewatch-redis-'))
  const port = opts.port ?? (await freePort())
  let out = ''
  const base = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...(opts.args ?? [])]
  const child: ChildProcess = spawn(bin, opts.config ? [opts.config, ...base] : base, {
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

export interface TestSentinels {
  readonly master: string
  /** host:port of each sentinel, comma-separated (MINEWATCH_REDIS_SENTINELS). */
  readonly sentinels: string
  primary: TestRedis
  replica: TestRedis
  /** Cuts the replica off its primary for a while: it falls behind. */
  holdReplication(): Promise<void>
  /** The port of the server the sentinels now call the primary. */
  primaryPort(): Promise<number>
  dispose(): Promise<void>
}

/**
 * Redis with Sentinel, as production runs it (docs/cluster.md): a primary, a replica of it and
 * three sentinels (quorum 2) watching them, all Debian's redis-server on free loopback ports; a
 * primary unanswering for 1 s is failed over to the replica.
 */
export async function startSentinels(): Promise<TestSentinels> {
  const master = 'mymaster'
  const primary = await startRedis()
  const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port)] })
  const sentinels: TestRedis[] = []
  for (let i = 0; i < 3; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'minewatch-sentinel-'))
    const config = join(dir, 'sentinel.conf')
    // sentinel rewrites its configuration file as it learns: it must be its own and writable
    writeFileSync(
      config,
      `sentinel monitor ${master} 127.0.0.1 ${primary.port} 2\nsentinel down-after-milliseconds ${master} 1000\nsentinel failover-timeout ${master} 5000\nsentinel parallel-syncs ${master} 1\n`,
    )
    sentinels.push(await startRedis({ config, args: ['--sentinel'] }))
  }
  const ask = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => s.write(`SENTINEL get-master-addr-by-name ${master}\r\n`))
      s.setTimeout(2000, () => (s.destroy(), reject(new Error('sentinel did not answer'))))
      s.once('error', reject)
      s.once('data', (d) => {
        s.destroy()
        const port = /\r\n(\d+)\r\n$/.exec(d.toString())
        if (port) resolve(Number(port[1]))
        else reject(new Error(`sentinel: ${d.toString()}`))
      })
    })
  const result: TestSentinels = {
    master,
    sentinels: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
    primary,
    replica,
    // the replica told to follow port 1, where nothing answers (binding it takes root): it keeps what
    // it has and gets nothing more (the sentinels would put it right in about 10 s, their INFO period
    // for replicas); a free port another test might take next could hand it someone else's data
    holdReplication: async () => void (await command(replica.port, 'REPLICAOF 127.0.0.1 1')),
    primaryPort: () => ask(sentinels[0]!.port),
    async dispose() {
      for (const s of sentinels) await s.dispose()
      await result.primary.dispose()
      await result.replica.dispose()
    },
  }
  return result
}

/** One command over a plain socket; resolves with the first reply. */
function command(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.write(`${line}\r\n`))
    s.setTimeout(2000, () => (s.destroy(), reject(new Error(`redis on ${port} did not answer ${line}`))))
    s.once('error', reject)
    s.once('data', (d) => (s.destroy(), resolve(d.toString())))
  })
}
