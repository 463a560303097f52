import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { SharedClientIds } from '../../ingest/broker/client-ids.js'

/** A connection's hold on its id lapses this long after its node stops renewing it (the node died). */
export const CONNECTED_TTL_MS = 180_000
/** A persistent session's id stays its principal's this long after its last connection (aedes keeps the session in Redis). */
export const SESSION_TTL_MS = 30 * 86_400_000
const RENEW_EVERY_MS = 60_000

// the value is "<principal> <token>": principal ids have no spaces (ingest/contract/ids.ts)
const CLAIM = `
local v = redis.call('GET', KEYS[1])
if v then
  local owner = string.sub(v, 1, string.find(v, ' ', 1, true) - 1)
  if owner ~= ARGV[1] then return owner end
end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'PX', ARGV[3])
return ''`
// only the connection that holds the id may let it go or renew it: after a takeover by the same
// principal on another node, the old node's release must not free the new connection's id
const KEEP_OR_DROP = `
if redis.call('GET', KEYS[1]) == ARGV[1] .. ' ' .. ARGV[2] then
  if ARGV[3] == '0' then redis.call('DEL', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
  return 1
end
return 0`

/**
 * Client id ownership across the cluster's nodes (ingest/broker/client-ids.ts, docs/cluster.md),
 * in Redis: a key per id naming its principal and the connection holding it. A connected id is
 * renewed by its node every minute and lapses 3 minutes after the node dies; a persistent session's
 * id stays its principal's for 30 days after its last connection. Each step is one atomic script.
 */
export class RedisClientIds implements SharedClientIds {
  private readonly held = new Map<string, { principal: string; token: string; persistent: boolean; count: number }>()
  private readonly timer: NodeJS.Timeout

  constructor(
    private readonly redis: Redis,
    private readonly onError: (err: Error) => void,
    private readonly timeoutMs = 3000,
  ) {
    this.timer = setInterval(() => this.renew(), RENEW_EVERY_MS)
    this.timer.unref()
  }

  async claim(clientId: string, principal: string, persistent: boolean): Promise<string | undefined> {
    const mine = this.held.get(clientId)
    const token = mine && mine.principal === principal ? mine.token : randomUUID()
    const owner = await withTimeout(this.redis.eval(CLAIM, 1, key(clientId), principal, token, persistent ? SESSION_TTL_MS : CONNECTED_TTL_MS) as Promise<string>, this.timeoutMs)
    if (owner !== '') return owner
    this.held.set(clientId, { principal, token, persistent, count: mine && mine.principal === principal ? mine.count + 1 : 1 })
    return undefined
  }

  release(clientId: string, principal: string): void {
    const h = this.held.get(clientId)
    if (!h || h.principal !== principal) return
    if (h.count > 1) return void (h.count -= 1)
    this.held.delete(clientId)
    this.redis.eval(KEEP_OR_DROP, 1, key(clientId), principal, h.token, h.persistent ? SESSION_TTL_MS : 0).catch(this.onError)
  }

  private renew(): void {
    for (const [clientId, h] of this.held) this.redis.eval(KEEP_OR_DROP, 1, key(clientId), h.principal, h.token, h.persistent ? SESSION_TTL_MS : CONNECTED_TTL_MS).catch(this.onError)
  }

  close(): void {
    clearInterval(this.timer)
  }
}

const key = (clientId: string) => `minewatch:client-id:${clientId}`

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms)
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: Error) => (clearTimeout(t), reject(e)),
    )
  })
}
