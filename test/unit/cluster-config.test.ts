import { describe, expect, it } from 'vitest'
import { clusterConfig, describeRedis } from '../../infra/cluster/config.js'
import { parseEnv, type Env } from '../../infra/config/env.js'

const env = (vars: Record<string, string>): Env => {
  const parsed = parseEnv(vars)
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'))
  return parsed.env
}

describe('cluster settings (docs/cluster.md)', () => {
  it('is a single node without Redis', () => {
    expect(clusterConfig(env({}), false)).toBeUndefined()
  })

  it('takes Redis directly or through Sentinel, and names the node', () => {
    expect(clusterConfig(env({ MINEWATCH_REDIS_URL: 'redis://:pw@redis.example:6380/2', MINEWATCH_NODE_ID: 'node-1' }), true)).toEqual({
      redis: { url: 'redis://:pw@redis.example:6380/2' },
      nodeId: 'node-1',
      replicas: 0,
    })
    const viaSentinel = clusterConfig(env({ MINEWATCH_REDIS_SENTINELS: 's1:26379, s2:26380', MINEWATCH_REDIS_MASTER: 'mymaster' }), true)
    expect(viaSentinel).toMatchObject({
      redis: {
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26380 },
        ],
        master: 'mymaster',
      },
      nodeId: expect.stringMatching(/-\d+$/),
      replicas: 1,
    })
  })

  it('refuses what would not work, saying which variable and what to do', () => {
    const errors = (vars: Record<string, string>, influx = true) => (clusterConfig(env(vars), influx) as { errors: string[] }).errors
    // each node's own SQLite file would hold only part of the readings
    expect(errors({ MINEWATCH_REDIS_URL: 'redis://127.0.0.1:6379' }, false)).toEqual([expect.stringMatching(/^MINEWATCH_INFLUX_URL: cluster mode stores in InfluxDB/)])
    expect(errors({ MINEWATCH_REDIS_SENTINELS: 's1:26379,s2' })).toEqual([
      expect.stringMatching(/^MINEWATCH_REDIS_SENTINELS: "s2" is not host:port/),
      expect.stringMatching(/^MINEWATCH_REDIS_MASTER: required with MINEWATCH_REDIS_SENTINELS/),
    ])
    expect(errors({ MINEWATCH_REDIS_MASTER: 'mymaster' })).toEqual(['MINEWATCH_REDIS_MASTER: only with MINEWATCH_REDIS_SENTINELS'])
    expect(parseEnv({ MINEWATCH_REDIS_URL: 'http://redis:6379' })).toMatchObject({ ok: false, errors: [expect.stringMatching(/^MINEWATCH_REDIS_URL: expected a redis:\/\/ or rediss:\/\/ URL/)] })
    expect(parseEnv({ MINEWATCH_NODE_ID: 'node 1' })).toMatchObject({ ok: false })
  })

  it('never shows the password when it says where Redis is', () => {
    expect(describeRedis({ url: 'redis://:s3cret@redis.example:6380/2' })).toBe('redis://redis.example:6380/2')
    expect(describeRedis({ url: 'rediss://user:s3cret@redis.example:6380' })).toBe('rediss://redis.example:6380')
    expect(describeRedis({ sentinels: [{ host: 's1', port: 26379 }], master: 'mymaster', url: 'redis://:s3cret@x' })).toBe('sentinel mymaster via s1:26379')
  })
})
