import type { Redis } from 'ioredis'
import { HttpError } from '../../dashboard/errors.js'
import type { AuditEntry, SharedSite, SiteShare } from '../site-admin.js'

const SITE = 'minewatch:site'
const REVISION = 'minewatch:site-revision'
const AUDIT = 'minewatch:site-audit'
const CHANNEL = 'minewatch:site-changed'
const plansKey = 'minewatch:site-plans'
/** The audit entries Redis keeps (each node keeps its own file too). */
const AUDIT_KEEP = 100_000
const REREAD_MS = 30_000

// the site, its revision and its audit entry as one step, only over the revision the change was
// made to (a change made meanwhile on another node is not overwritten); then the nodes are told
const PUBLISH = `
local at = tonumber(redis.call('GET', KEYS[1]) or '0')
if at ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], ARGV[2])
if ARGV[4] ~= '' then redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'a', ARGV[4]) end
redis.call('PUBLISH', ARGV[6], ARGV[2])
return 1`

/**
 * The administered site in Redis (cluster mode; docs/cluster.md, "Site administration"): one
 * document with a revision, changed only over the revision it was read at, and a message to the
 * nodes at each change; the site-plan drawings beside it; the audit entries in a stream.
 */
export class RedisSiteShare implements SiteShare {
  private readonly sub: Redis
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly redis: Redis) {
    this.sub = redis.duplicate()
    this.sub.on('error', () => undefined)
  }

  async latest(): Promise<SharedSite | undefined> {
    const text = await this.redis.get(SITE).catch(unavailable)
    return text ? (JSON.parse(text) as SharedSite) : undefined
  }

  async publish(expected: number, next: SharedSite): Promise<boolean> {
    const audit = next.lastChange ? JSON.stringify(next.lastChange) : ''
    return Number(await this.redis.eval(PUBLISH, 3, REVISION, SITE, AUDIT, String(expected), String(next.revision), JSON.stringify(next), audit, String(AUDIT_KEEP), CHANNEL).catch(unavailable)) === 1
  }

  onChange(listener: () => void): void {
    this.sub.on('message', () => listener())
    void this.sub.subscribe(CHANNEL).catch(() => undefined)
    // and every half minute, for a message missed while the subscription was down
    this.timer = setInterval(listener, REREAD_MS)
    this.timer.unref()
  }

  async putPlan(image: string, bytes: Uint8Array): Promise<void> {
    await this.redis.hset(plansKey, image, Buffer.from(bytes))
  }

  async getPlan(image: string): Promise<Buffer | undefined> {
    return (await this.redis.hgetBuffer(plansKey, image)) ?? undefined
  }

  async audit(limit: number): Promise<AuditEntry[]> {
    const entries = (await this.redis.xrevrange(AUDIT, '+', '-', 'COUNT', limit)) as [string, string[]][]
    return entries.map(([, f]) => JSON.parse(f[1]!) as AuditEntry)
  }

  close(): void {
    clearInterval(this.timer)
    this.sub.disconnect()
  }
}

/** A change cannot reach the other nodes: the admin is told so and nothing is changed (a 503 that says what to do). */
function unavailable(err: Error): never {
  throw new HttpError('MW_CLUSTER_UNAVAILABLE', `集群的 Redis 暂不可用, 站点未修改, 请稍后重试 (the cluster’s Redis is unavailable: ${err.message}; the site was not changed; try again shortly)`)
}
