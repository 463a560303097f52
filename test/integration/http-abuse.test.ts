import { Writable } from 'node:stream'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'

/**
 * What an anonymous caller sends to the HTTP API that is wrong (docs/security.md): each is answered
 * with its own 4xx status and a clear code, and none of it reaches the log as an error with a stack.
 */
let t: TestPlatform
const lines: { level: number; msg: string; err?: unknown }[] = []
beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l))
      done()
    },
  })
  t = await startTestPlatform({ logger: pino({ level: 'info' }, sink) })
})
afterAll(async () => {
  await t?.stop()
})

const raw = async (method: string, path: string, body?: string | Buffer, type = 'application/json') =>
  fetch(`http://127.0.0.1:${t.platform.ports.http}${path}`, { method, body: body ?? null, headers: body === undefined ? {} : { 'content-type': type } })

describe('client errors from an anonymous caller', () => {
  it('answers each with its 4xx and code, and logs no error for any', async () => {
    const cases: [string, () => Promise<Response>, number, string][] = [
      ['malformed JSON', () => raw('POST', '/api/login', '{"username": "a", '), 400, 'MW_BAD_REQUEST'],
      ['a __proto__ body', () => raw('POST', '/api/login', '{"__proto__": {"admin": true}, "username": "a", "password": "b"}'), 400, 'MW_BAD_REQUEST'],
      ['a constructor.prototype body', () => raw('POST', '/api/login', '{"constructor": {"prototype": {"admin": true}}}'), 400, 'MW_BAD_REQUEST'],
      ['a body over 1 MiB', () => raw('POST', '/api/login', Buffer.alloc(2 * 1024 * 1024, 'a')), 413, 'MW_BODY_TOO_LARGE'],
      ['an unsupported content type', () => raw('POST', '/api/login', 'username=a', 'application/x-www-form-urlencoded'), 415, 'MW_UNSUPPORTED_MEDIA_TYPE'],
    ]
    for (const [what, send, status, code] of cases) {
      const res = await send()
      const body = (await res.json()) as { error?: { code: string } }
      expect({ what, status: res.status, code: body.error?.code }).toEqual({ what, status, code })
    }
    // a path that climbs out of the API document's static files
    for (const path of ['/docs/static/../../package.json', '/docs/static/%2e%2e/%2e%2e/package.json', '/docs/static/..%2f..%2fpackage.json']) {
      const res = await raw('GET', path)
      expect({ path, status: res.status }).toEqual({ path, status: 404 })
      expect(await res.text()).not.toContain('"name": "minewatch"')
    }
    // not one error line, and no stack anywhere in the log
    expect(lines.filter((l) => l.level >= 50)).toEqual([])
    expect(lines.filter((l) => JSON.stringify(l).includes('    at '))).toEqual([])
  })
})
