import { spawn, spawnSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request as httpsRequest } from 'node:https'
import { connect as tcpConnect } from 'node:net'
import type { TLSSocket } from 'node:tls'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aptInstall } from '../helpers/apt.js'
import { selfSignedCert, type TestCert } from '../helpers/certs.js'
import { eventually } from '../helpers/eventually.js'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { runPlatform, testEnv } from '../helpers/process.js'
import { secretOf } from '../helpers/site.js'

/**
 * TLS (docs/security.md, "TLS"): the platform given a certificate serves MQTTS, MQTT over secure
 * WebSocket and HTTPS with it, to MQTT.js, mosquitto_pub and Node's https client trusting only
 * that certificate; its session cookie is Secure and HSTS is sent; a renewed certificate is
 * served to new connections without a restart. Behind a reverse proxy that ends TLS, the proxy's
 * X-Forwarded-Proto and X-Forwarded-For are believed only when it is trusted.
 */
let cert: TestCert
let t: TestPlatform
beforeAll(async () => {
  cert = selfSignedCert('minewatch test')
  t = await startTestPlatform({ tls: { cert: cert.cert, key: cert.key }, mqttsPort: 0 })
})
afterAll(async () => {
  await t?.stop()
})

const telemetry = 'mines/mine-a/devices/a-prism/telemetry'

/** True once the store holds a dN reading of a-prism at exactly `ts` with `value`. */
async function stored(ts: number, value: number): Promise<boolean> {
  const res = await t.admin(`/api/readings?device=a-prism&metric=dN&from=${ts}&to=${ts + 1}`)
  return (res.body?.points ?? []).some((p: { ts: number; value: number }) => p.ts === ts && p.value === value)
}

function httpsCall(path: string, init: { method?: string; body?: object } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const body = init.body ? JSON.stringify(init.body) : undefined
    const req = httpsRequest(
      { host: '127.0.0.1', port: t.platform.ports.http, path, method: init.method ?? 'GET', ca: cert.cert, headers: body ? { 'content-type': 'application/json' } : {} },
      (res) => {
        let text = ''
        res.on('data', (c) => (text += c))
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

describe('with a certificate', () => {
  it('takes QoS 1 readings over MQTTS from MQTT.js trusting only that certificate, and refuses plain MQTT on that port', async () => {
    const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${t.platform.ports.mqtts}`, { ca: cert.cert, username: 'a-prism', password: secretOf('a-prism'), reconnectPeriod: 0 })
    expect((client.stream as TLSSocket).getPeerCertificate().subject.CN).toBe('minewatch test')
    const ts = Date.now() - 5000
    await client.publishAsync(telemetry, JSON.stringify({ ts, values: { dN: 1.5 } }), { qos: 1 })
    await client.endAsync()
    expect(await eventually(() => stored(ts, 1.5))).toBe(true)
    // a plain MQTT CONNECT to the MQTTS port is not TLS: closed, no CONNACK
    const raw = tcpConnect(t.platform.ports.mqtts!, '127.0.0.1')
    const received: Buffer[] = []
    raw.on('data', (c: Buffer) => received.push(c))
    raw.on('error', () => undefined)
    const closed = new Promise<void>((resolve) => raw.on('close', () => resolve()))
    const body = Buffer.concat([Buffer.from([0, 4]), Buffer.from('MQTT'), Buffer.from([4, 0x02, 0, 30, 0, 3]), Buffer.from('abc')])
    raw.write(Buffer.concat([Buffer.from([0x10, body.length]), body]))
    await closed
    expect(Buffer.concat(received).subarray(0, 1)).not.toEqual(Buffer.from([0x20]))
  })

  it('takes a reading from mosquitto_pub over TLS (--cafile), a client the project did not write', async () => {
    if (spawnSync('mosquitto_pub', ['--help']).error) aptInstall(['mosquitto-clients'], 'the TLS test publishes with mosquitto_pub')
    const ts = Date.now() - 4000
    // asynchronously: the platform runs in this process, and a synchronous spawn would stall it
    const pub = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn(
        'mosquitto_pub',
        [
          '-h',
          '127.0.0.1',
          '-p',
          String(t.platform.ports.mqtts),
          '--cafile',
          cert.certFile,
          '-u',
          'a-prism',
          '-P',
          secretOf('a-prism'),
          '-i',
          'a-prism-mosq',
          '-q',
          '1',
          '-t',
          telemetry,
          '-m',
          JSON.stringify({ ts, values: { dN: 2.5 } }),
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      )
      let stderr = ''
      child.stderr.on('data', (c) => (stderr += c))
      child.on('exit', (status) => resolve({ status, stderr }))
    })
    expect(pub.status, pub.stderr).toBe(0)
    expect(await eventually(() => stored(ts, 2.5))).toBe(true)
  })

  it('serves MQTT over secure WebSocket (wss://)', async () => {
    const client = await mqtt.connectAsync(`wss://127.0.0.1:${t.platform.ports.ws}/mqtt`, {
      ca: cert.cert,
      username: 'a-prism',
      password: secretOf('a-prism'),
      reconnectPeriod: 0,
    } as mqtt.IClientOptions)
    const ts = Date.now() - 3000
    await client.publishAsync(telemetry, JSON.stringify({ ts, values: { dN: 3.5 } }), { qos: 1 })
    await client.endAsync()
    expect(await eventually(() => stored(ts, 3.5))).toBe(true)
  })

  it('serves HTTPS: the session cookie is Secure, HSTS and the security headers are sent', async () => {
    const login = await httpsCall('/api/login', { method: 'POST', body: { username: 'disp-a', password: secretOf('disp-a') } })
    expect(login.status).toBe(200)
    const cookie = String(login.headers['set-cookie'])
    expect(cookie).toMatch(/mw_session=[^;]+;.*HttpOnly/)
    expect(cookie).toContain('; Secure')
    expect(login.headers['strict-transport-security']).toBe('max-age=15552000')
    const page = await httpsCall('/')
    expect(page.headers['content-security-policy']).toContain("script-src 'self'")
    expect(page.headers['content-security-policy']).not.toContain('upgrade-insecure-requests')
    expect(page.headers['x-content-type-options']).toBe('nosniff')
    expect(page.headers['x-frame-options']).toBe('SAMEORIGIN')
  })

  it('counts a connection as not logged in from before its TLS handshake until it logs in', async () => {
    const pending = async () => {
      const res = await t.admin('/metrics')
      return Number(/^minewatch_connections_pending (\d+)/m.exec(res.text)?.[1])
    }
    expect(await pending()).toBe(0)
    // a socket that never starts its handshake holds a place
    const raw = tcpConnect(t.platform.ports.mqtts!, '127.0.0.1')
    raw.on('error', () => undefined)
    await eventually(async () => (await pending()) === 1)
    const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${t.platform.ports.mqtts}`, { ca: cert.cert, username: 'a-gnss', password: secretOf('a-gnss'), reconnectPeriod: 0 })
    // the one that logged in gave its place back
    expect(await pending()).toBe(1)
    raw.destroy()
    await eventually(async () => (await pending()) === 0)
    await client.endAsync()
  })

  it('serves a renewed certificate to new connections without a restart; open connections stay', async () => {
    const before = await mqtt.connectAsync(`mqtts://127.0.0.1:${t.platform.ports.mqtts}`, { ca: cert.cert, username: 'a-prism', password: secretOf('a-prism'), reconnectPeriod: 0 })
    const renewed = selfSignedCert('minewatch renewed')
    t.platform.reloadTls({ cert: renewed.cert, key: renewed.key })
    const after = await mqtt.connectAsync(`mqtts://127.0.0.1:${t.platform.ports.mqtts}`, { ca: renewed.cert, username: 'a-gnss', password: secretOf('a-gnss'), reconnectPeriod: 0 })
    expect((after.stream as TLSSocket).getPeerCertificate().subject.CN).toBe('minewatch renewed')
    cert = renewed
    const page = await httpsCall('/api/health')
    expect(page.status).toBe(200)
    expect(before.connected).toBe(true)
    await before.publishAsync(telemetry, JSON.stringify({ ts: Date.now() - 2000, values: { dN: 4 } }), { qos: 1 })
    await Promise.all([before.endAsync(), after.endAsync()])
  })
})

describe('behind a reverse proxy that ends TLS', () => {
  let plain: TestPlatform
  let proxied: TestPlatform
  beforeAll(async () => {
    plain = await startTestPlatform()
    proxied = await startTestPlatform({ trustProxy: '127.0.0.1' })
  })
  afterAll(async () => {
    await plain?.stop()
    await proxied?.stop()
  })

  const login = (p: TestPlatform, headers: Record<string, string>, password = secretOf('disp-a')) =>
    p.platform.app.inject({ method: 'POST', url: '/api/login', remoteAddress: '127.0.0.1', headers: { 'content-type': 'application/json', ...headers }, payload: { username: 'disp-a', password } })

  it('marks the cookie Secure and sends HSTS only when a trusted proxy says the request came over HTTPS', async () => {
    const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '10.1.2.3' }
    const trusted = await login(proxied, forwarded)
    expect(trusted.statusCode).toBe(200)
    expect(String(trusted.headers['set-cookie'])).toContain('; Secure')
    expect(trusted.headers['strict-transport-security']).toBe('max-age=15552000')
    // the same headers from anyone, to a platform that trusts no proxy, are ignored
    const untrusted = await login(plain, forwarded)
    expect(untrusted.statusCode).toBe(200)
    expect(String(untrusted.headers['set-cookie'])).not.toContain('Secure')
    expect(untrusted.headers['strict-transport-security']).toBeUndefined()
    expect(untrusted.headers['content-security-policy']).toContain("default-src 'self'")
  })

  it("limits failed logins per client address as the trusted proxy forwards it, not per the proxy's", async () => {
    const from = (ip: string) => ({ 'x-forwarded-proto': 'https', 'x-forwarded-for': ip })
    const codes: number[] = []
    for (let i = 0; i < 21; i++) codes.push((await login(proxied, from('10.9.9.9'), 'wrong')).statusCode)
    expect(codes.slice(0, 5)).toEqual([401, 401, 401, 401, 401])
    expect(codes.at(-1)).toBe(429)
    // another client behind the same proxy still signs in
    expect((await login(proxied, from('10.9.9.10'))).statusCode).toBe(200)
  })
})

describe('the platform process with TLS settings', () => {
  it('refuses half a setting, starts with both, and reloads the certificate on SIGHUP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'minewatch-tls-'))
    try {
      const half = runPlatform(testEnv(dir, { MINEWATCH_TLS_CERT: cert.certFile }))
      expect(await half.exited).toBe(2)
      expect(half.output()).toContain('MINEWATCH_TLS_KEY: required with MINEWATCH_TLS_CERT')
      // the operator's files: renewed in place, then SIGHUP
      const first = selfSignedCert('minewatch first')
      const p = runPlatform(testEnv(dir, { MINEWATCH_TLS_CERT: first.certFile, MINEWATCH_TLS_KEY: first.keyFile, MINEWATCH_MQTTS_PORT: '0' }))
      const ports = (await p.started()) as { mqtts?: number }
      expect(p.output()).toContain(`MQTTS mqtts://127.0.0.1:${ports.mqtts}`)
      const connect = (ca: string) => mqtt.connectAsync(`mqtts://127.0.0.1:${ports.mqtts}`, { ca, username: 'yt-rain-01', password: 'yt-rain-01-demo', reconnectPeriod: 0 })
      const client = await connect(first.cert)
      expect((client.stream as TLSSocket).getPeerCertificate().subject.CN).toBe('minewatch first')
      await client.endAsync()
      const renewed = selfSignedCert('minewatch renewed in place')
      copyFileSync(renewed.certFile, first.certFile)
      copyFileSync(renewed.keyFile, first.keyFile)
      p.child.kill('SIGHUP')
      await eventually(() => p.output().includes('TLS certificate reloaded'))
      const after = await connect(renewed.cert)
      expect((after.stream as TLSSocket).getPeerCertificate().subject.CN).toBe('minewatch renewed in place')
      await after.endAsync()
      p.child.kill('SIGTERM')
      expect(await p.exited).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
