import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runPlatform, testEnv, type PlatformProcess } from './process.js'

export interface ClusterNode {
  readonly process: PlatformProcess
  readonly mqtt: number
  readonly http: number
  readonly dir: string
}

/**
 * Cluster nodes for a test file (docs/cluster.md): each the real entry point in its own process,
 * with its own data directory, started with `env(node)` (the Redis, InfluxDB and token the file
 * shares); asked over HTTP as an operator or a person would.
 */
export class TestCluster {
  readonly nodes = new Map<string, ClusterNode>()
  private readonly dirs: string[] = []

  constructor(
    private readonly name: string,
    private readonly token: string,
    private readonly env: (node: string) => Record<string, string>,
  ) {}

  /** Starts a node on a new data directory, or on `dir` (a restart on its volume). */
  async start(node: string, dir?: string): Promise<ClusterNode> {
    const d = dir ?? mkdtempSync(join(tmpdir(), `minewatch-${this.name}-${node}-`))
    if (!dir) this.dirs.push(d)
    const p = runPlatform(testEnv(d, { MINEWATCH_ADMIN_TOKEN: this.token, MINEWATCH_NODE_ID: node, ...this.env(node) }))
    const ports = await p.started(60_000)
    const n = { process: p, mqtt: ports.mqtt, http: ports.http, dir: d }
    this.nodes.set(node, n)
    return n
  }

  /** Kills a node with SIGKILL (a crash, a power cut). */
  async kill(node: string): Promise<void> {
    const n = this.nodes.get(node)!
    n.process.child.kill('SIGKILL')
    await n.process.exited
    this.nodes.delete(node)
  }

  /** Stops a node with SIGTERM (a clean stop); its exit code. */
  async stop(node: string): Promise<number | null> {
    const n = this.nodes.get(node)!
    n.process.child.kill('SIGTERM')
    const code = await n.process.exited
    this.nodes.delete(node)
    return code
  }

  url(node: string): string {
    return `http://127.0.0.1:${this.nodes.get(node)!.http}`
  }

  /** A GET as the operator (the admin token), or as `token`. */
  async get<T>(node: string, path: string, token = this.token): Promise<T> {
    return (await (await fetch(`${this.url(node)}${path}`, { headers: { authorization: `Bearer ${token}` } })).json()) as T
  }

  /** Whether the node owns the mine's rules and book now (its health says so). */
  async owns(node: string, mine: string): Promise<boolean> {
    const health = await this.get<{ cluster: { partitions: { owns: { mineId: string }[] } } }>(node, '/api/health')
    return health.cluster.partitions.owns.some((o) => o.mineId === mine)
  }

  /** A person's session token (the demo's passwords: `<user>-demo`). */
  async login(node: string, user: string): Promise<string> {
    const res = await fetch(`${this.url(node)}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: user, password: `${user}-demo` }),
    })
    if (!res.ok) throw new Error(`${user} could not sign in on ${node}: HTTP ${res.status} ${await res.text()}`)
    return ((await res.json()) as { token: string }).token
  }

  /** Kills what is still running and removes the data directories. */
  async dispose(): Promise<void> {
    for (const n of this.nodes.values()) n.process.child.kill('SIGKILL')
    await Promise.all([...this.nodes.values()].map((n) => n.process.exited))
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true })
  }
}
