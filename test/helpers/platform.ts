import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { pino } from 'pino'
import { startPlatform, type Platform, type PlatformConfig } from '../../infra/platform.js'
import { secretOf, testSite } from './site.js'

export const ADMIN_TOKEN = 'test-admin-token-0123456789'

export interface TestPlatform {
  readonly platform: Platform
  readonly dataDir: string
  readonly mqttUrl: string
  /** A real MQTT.js client connected as `id` (with its own secret unless `password` is given). */
  connect(id: string, opts?: IClientOptions): Promise<MqttClient>
  /** GET through fastify's inject, with the admin token. */
  admin(url: string): Promise<{ status: number; body: any; text: string }>
  stop(): Promise<void>
}

/**
 * The real platform: aedes on an ephemeral loopback port, the SQLite store in a temp directory
 * (or in `overrides.dataDir`, which is then kept at stop: a restart test starts again on it).
 */
export async function startTestPlatform(overrides: Partial<PlatformConfig> = {}): Promise<TestPlatform> {
  const keep = overrides.dataDir !== undefined
  const dataDir = overrides.dataDir ?? mkdtempSync(join(tmpdir(), 'minewatch-test-'))
  const platform = await startPlatform({
    site: await testSite(),
    bind: '127.0.0.1',
    mqttPort: 0,
    wsPort: 0,
    httpPort: 0,
    dataDir,
    adminToken: ADMIN_TOKEN,
    limits: { maxPayloadBytes: 256 * 1024, maxFutureMs: 5 * 60_000, maxAgeMs: 30 * 86_400_000 },
    quarantineMaxBytesPerDay: 64 * 1024 * 1024,
    writer: { batchSize: 500, flushMs: 20 },
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    ...overrides,
  })
  const mqttUrl = `mqtt://127.0.0.1:${platform.ports.mqtt}`
  const clients: MqttClient[] = []
  return {
    platform,
    dataDir,
    mqttUrl,
    async connect(id, opts = {}) {
      const client = await mqtt.connectAsync(mqttUrl, {
        username: id,
        password: secretOf(id),
        clientId: `${id}-${clients.length}`,
        reconnectPeriod: 0,
        connectTimeout: 5000,
        ...opts,
      })
      clients.push(client)
      return client
    },
    async admin(url) {
      const res = await platform.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
      let body: unknown
      try {
        body = res.json()
      } catch {
        body = undefined
      }
      return { status: res.statusCode, body, text: res.body }
    },
    async stop() {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)))
      await platform.stop()
      if (!keep) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** Resolves with the next message on `topic`, or rejects after `ms`. */
export function nextMessage(client: MqttClient, topic: string, ms = 5000): Promise<any> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage)
      reject(new Error(`no message on ${topic} within ${ms} ms`))
    }, ms)
    function onMessage(t: string, payload: Buffer) {
      if (t !== topic) return
      clearTimeout(timer)
      client.off('message', onMessage)
      resolve(JSON.parse(payload.toString()))
    }
    client.on('message', onMessage)
  })
}
