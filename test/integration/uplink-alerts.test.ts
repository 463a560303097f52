import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { parseSite } from '../../infra/config/site-file.js'
import { DEMO_SITE } from '../../infra/config/env.js'
import { UPLINK_DEFAULTS } from '../../infra/uplink/uplink.js'
import { hashSecret } from '../../ingest/secrets.js'
import { MINEWATCH_MAPPING } from '../../ingest/uplink/mapping.js'
import { eventually } from '../helpers/eventually.js'
import { freePort } from '../helpers/influxdb.js'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { runPlatform, testEnv, type PlatformProcess } from '../helpers/process.js'
import { secretOf } from '../helpers/site.js'
import { selfSignedCert, type TestCert } from '../helpers/certs.js'
import { request as httpsRequest } from 'node:https'

/**
 * 上报预警 (issue 16 items 3 and 4; docs/uplink.md "Warning events"): a mine platform (this
 * process, the demo site) raises a warning from a reading, its dispatcher signs for it, and the
 * warning's steps go upstream over the uplink, MQTT over TLS trusting the regulator's certificate
 * (self-signed, made by OpenSSL), to a regulator platform (the real entry point in a child process,
 * a site file naming the mine platform's account). An uplink that does not trust the certificate
 * does not connect, and says why. The regulator shows the warning
 * as the mine handled it; killed with SIGKILL right after it acknowledged a step and started again,
 * it still does (the step was journaled before the PUBACK, and the mine does not send it again);
 * the resolution that follows reaches it too, and its 月报 counts the reported warning. A hostile
 * client with the account's password is refused another mine's topic and a bad message, each
 * with its code, and nothing of it is kept.
 */
const MINE = 'yt-jinshan'
const ACCOUNT = 'up-yt'
const TOKEN = 'uplink-alerts-test-admin-token-0123'

let mine: TestPlatform
let regulator: PlatformProcess
let regulatorHttp = 0
let regulatorMqtts = 0
let regulatorDir = ''
const dirs: string[] = []

let cert: TestCert

async function startRegulator(): Promise<void> {
  regulator = runPlatform(
    testEnv(regulatorDir, {
      MINEWATCH_ADMIN_TOKEN: TOKEN,
      MINEWATCH_SITE: join(regulatorDir, '..', 'regulator-site.json'),
      MINEWATCH_TLS_CERT: cert.certFile,
      MINEWATCH_TLS_KEY: cert.keyFile,
      // the same port after a restart: the mine platform's uplink names it
      MINEWATCH_MQTTS_PORT: String(regulatorMqtts),
    }),
  )
  regulatorHttp = (await regulator.started()).http
}

/** The regulator's API over HTTPS, trusting its certificate only. */
function regulatorGet<T>(path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: regulatorHttp, path, ca: cert.cert, headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body) as T) : reject(new Error(`${path}: ${res.statusCode} ${body}`))))
    })
    req.on('error', reject)
    req.end()
  })
}

interface Reported {
  counts: { open: number; overdue: number }
  alerts: { id: string; state: string; level: string; subject: { id: string }; acknowledged?: { by: string }; evidence?: unknown }[]
}
const reportedAt = () => regulatorGet<Reported>(`/api/mines/${MINE}/reported-alerts`)

beforeAll(async () => {
  const base = mkdtempSync(join(tmpdir(), 'minewatch-uplink-alerts-'))
  dirs.push(base)
  regulatorDir = join(base, 'regulator')
  // the demo site, and the mine platform's account on the regulator: a gateway naming the mine
  const site = parseYaml(readFileSync(DEMO_SITE, 'utf8')) as Record<string, unknown>
  site.gateways = [{ id: ACCOUNT, name: '金山矿平台 联网', secretHash: await hashSecret(secretOf(ACCOUNT), { N: 1024, r: 8, p: 1 }), mines: [MINE] }]
  writeFileSync(join(base, 'regulator-site.json'), JSON.stringify(site))
  regulatorMqtts = await freePort()
  cert = selfSignedCert('minewatch regulator')
  await startRegulator()
  const mineSite = parseSite(parseYaml(readFileSync(DEMO_SITE, 'utf8')))
  if (!mineSite.ok) throw new Error(mineSite.errors.join('\n'))
  mine = await startTestPlatform({
    site: mineSite.site,
    uplink: {
      ...UPLINK_DEFAULTS,
      url: `mqtts://127.0.0.1:${regulatorMqtts}`,
      ca: cert.cert,
      username: ACCOUNT,
      password: secretOf(ACCOUNT),
      mapping: MINEWATCH_MAPPING,
      mines: [MINE],
      // the regulator comes back within the test's time
      maxBackoffMs: 500,
    },
  })
}, 60_000)

afterAll(async () => {
  await mine?.stop()
  regulator?.child.kill('SIGKILL')
  await regulator?.exited
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describe('上报预警: a mine platform’s warnings at its regulator', () => {
  it('shows the warning as the mine handled it, keeps an acknowledged step across a kill -9 of the regulator, and counts it in the 月报', async () => {
    // a pond level over the red line at the mine
    const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${mine.platform.ports.mqtt}`, { username: 'yt-reservoir-01', password: 'yt-reservoir-01-demo', reconnectPeriod: 0 })
    await device.publishAsync(`mines/${MINE}/devices/yt-reservoir-01/telemetry`, JSON.stringify({ ts: Date.now(), values: { level: 100.1 } }), { qos: 1 })
    await device.endAsync()
    const raised = await eventually(() => {
      const a = mine.platform.alerting.book.unresolved().find((x) => x.subject.id === 'yt-reservoir-01' && x.rule === 'pond-level')
      expect(a).toBeDefined()
      return a!
    })
    // the mine's dispatcher signs for it (the same call the seat's 签收 makes)
    await mine.platform.alerting.acknowledge(raised.id, 'yt-dispatcher')
    const signed = await eventually(async () => {
      const r = await reportedAt()
      const a = r.alerts.find((x) => x.id === raised.id)
      expect(a?.state).toBe('acknowledged')
      return r
    }, 15_000)
    expect(signed.alerts.find((x) => x.id === raised.id)).toMatchObject({ level: 'red', subject: { id: 'yt-reservoir-01' }, acknowledged: { by: 'yt-dispatcher' } })
    expect(signed.alerts.find((x) => x.id === raised.id)!.evidence).toBeUndefined()
    expect(signed.counts.open).toBeGreaterThanOrEqual(1)
    // the mine moved its cursor past the step: the regulator acknowledged it, so it must have it on disk
    await eventually(() => mine.platform.uplink!.status().alerts?.backlogBytes === 0)

    regulator.child.kill('SIGKILL')
    await regulator.exited
    await startRegulator()
    const after = await reportedAt()
    expect(after.alerts.find((x) => x.id === raised.id)).toMatchObject({ state: 'acknowledged', acknowledged: { by: 'yt-dispatcher' } })

    // the rest of the warning's life follows, through the uplink reconnecting by itself
    await mine.platform.alerting.resolve(raised.id, 'yt-dispatcher', '已开启溢洪道, 库水位回落')
    await eventually(async () => (await reportedAt()).alerts.find((x) => x.id === raised.id)?.state === 'resolved', 15_000)
    const month = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 7)
    const report = await regulatorGet<{ reported: { raised: number; resolved: number; resolvedSameDay: number; byLevel: Record<string, number> } | null }>(
      `/api/reports/monthly?mine=${MINE}&month=${month}`,
    )
    expect(report.reported).toMatchObject({ resolved: 1, resolvedSameDay: 1 })
    expect(report.reported!.byLevel.red).toBeGreaterThanOrEqual(1)
  }, 90_000)

  it('refuses the account another mine’s warnings and a malformed message, each with its code, and keeps neither', async () => {
    const before = await reportedAt()
    const refusedBefore = (await regulatorGet<{ counts: { readingsRefused: Record<string, number> } }>('/api/health')).counts.readingsRefused
    const hostile = await mqtt.connectAsync(`mqtts://127.0.0.1:${regulatorMqtts}`, { ca: cert.cert, username: ACCOUNT, password: secretOf(ACCOUNT), clientId: 'hostile-uplink', reconnectPeriod: 0 })
    const forged = [{ type: 'raised', alertId: 'forged', mineId: 'bt-baishi', at: Date.now(), actor: 'system', alert: { ...before.alerts[0], id: 'forged', mineId: 'bt-baishi' } }]
    await hostile.publishAsync('mines/bt-baishi/uplink/alerts', JSON.stringify(forged), { qos: 1 })
    await hostile.publishAsync(`mines/${MINE}/uplink/alerts`, '[{"type":"raised"}]', { qos: 1 })
    // the connection stays: a refused message is acknowledged and dropped, as a device's is
    expect(hostile.connected).toBe(true)
    await hostile.endAsync()
    await eventually(async () => {
      const refused = (await regulatorGet<{ counts: { readingsRefused: Record<string, number> } }>('/api/health')).counts.readingsRefused
      expect((refused.TOPIC_FORBIDDEN ?? 0) - (refusedBefore.TOPIC_FORBIDDEN ?? 0)).toBe(1)
      expect((refused.BAD_ALERT_EVENT ?? 0) - (refusedBefore.BAD_ALERT_EVENT ?? 0)).toBe(1)
      return true
    })
    const after = await reportedAt()
    expect(after.alerts.map((a) => a.id).sort()).toEqual(before.alerts.map((a) => a.id).sort())
    const other = await regulatorGet<Reported>('/api/mines/bt-baishi/reported-alerts')
    expect(other.alerts).toEqual([])
  })

  it('does not connect to an upstream whose certificate it does not trust, and says why', async () => {
    const stranger = selfSignedCert('someone else')
    const site = parseSite(parseYaml(readFileSync(DEMO_SITE, 'utf8')))
    if (!site.ok) throw new Error(site.errors.join('\n'))
    const other = await startTestPlatform({
      site: site.site,
      uplink: {
        ...UPLINK_DEFAULTS,
        url: `mqtts://127.0.0.1:${regulatorMqtts}`,
        ca: stranger.cert,
        username: ACCOUNT,
        password: secretOf(ACCOUNT),
        mapping: MINEWATCH_MAPPING,
        mines: [MINE],
        maxBackoffMs: 500,
      },
    })
    try {
      const status = await eventually(() => {
        const s = other.platform.uplink!.status()
        return s.lastError ? s : undefined
      }, 10_000)
      expect(status).toMatchObject({ connected: false, sentReadings: 0, lastError: expect.stringMatching(/self[- ]signed|certificate/i) })
    } finally {
      await other.stop()
    }
  })
})
