import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import nodemailer from 'nodemailer'
import type { ChannelConfig } from '../../alerting/notify/policy.js'
import type { Log } from '../../ingest/log.js'

/**
 * The channels a call goes out on (issue 15 item 1), each as its vendor documents its custom robot:
 * - 企业微信 group robot: POST {msgtype: text, text: {content, mentioned_mobile_list}}, answer {errcode: 0};
 * - 钉钉 robot: POST {msgtype: text, text: {content}, at: {atMobiles}}; with 加签, `timestamp` (ms) and
 *   `sign` = base64(HmacSHA256(key = secret, timestamp + "\n" + secret)), URL-encoded, on the URL; answer {errcode: 0};
 * - 飞书 robot: POST {msg_type: text, content: {text}}; with 签名校验, `timestamp` (s) and
 *   `sign` = base64(HmacSHA256(key = timestamp + "\n" + secret, "")) in the body; answer {code: 0};
 * - a generic webhook: POST the call and the warning as JSON, an Idempotency-Key header of the call's id;
 * - SMS through any HTTP gateway: the site's body template with {{to}} and {{text}} filled in;
 * - e-mail over SMTP (nodemailer);
 * - the platform's log (for a dry run and the demo: written, reaching no one).
 * A send that fails throws, with the vendor's own answer in its message (the outbox retries it).
 * Secrets are read from their variable or file when the channel is made, and never logged.
 */
export interface Outgoing {
  readonly id: string
  readonly text: string
  readonly subject: string
  /** The person's address on this channel: an e-mail address, a mobile number to @-mention. */
  readonly to?: string | undefined
  /** The warning, for the generic webhook. */
  readonly alert: unknown
}

export type Send = (message: Outgoing) => Promise<void>

type SecretRef = { env?: string | undefined; file?: string | undefined }

export function readSecret(ref: SecretRef, env: NodeJS.ProcessEnv = process.env): string {
  if (ref.env) {
    const v = env[ref.env]
    if (!v) throw new Error(`the environment variable ${ref.env} is not set`)
    return v
  }
  return readFileSync(ref.file!, 'utf8').trim()
}

const TIMEOUT_MS = 10_000

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body), signal: AbortSignal.timeout(TIMEOUT_MS) })
  const text = await res.text()
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`)
  try {
    return text ? JSON.parse(text) : {}
  } catch {
    return {}
  }
}

/** The robots answer 200 with an error code in the body when they refuse (a bad sign, a rate limit). */
function expectZero(answer: unknown, field: 'errcode' | 'code'): void {
  const code = (answer as Record<string, unknown>)[field]
  if (code !== undefined && code !== 0) throw new Error(`refused: ${JSON.stringify(answer).slice(0, 200)}`)
}

export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64')
}

export function feishuSign(secret: string, timestampS: number): string {
  return createHmac('sha256', `${timestampS}\n${secret}`).update('').digest('base64')
}

export function makeChannel(config: ChannelConfig, now: () => number = Date.now, env: NodeJS.ProcessEnv = process.env, log?: Log): Send {
  switch (config.type) {
    case 'log':
      // the one-time link signs as the person called: a credential, so it is not written to the log
      return async (m) =>
        log?.info({ channel: config.id, to: m.to ?? null, call: m.id }, `叫应 (记录渠道, 未实际发送 not sent to anyone): ${m.text.replace(/\/s\/[A-Za-z0-9_-]+/g, '/s/(一次性链接不记入日志)')}`)
    case 'wecom': {
      const url = readSecret(config.url, env)
      return async (m) => expectZero(await postJson(url, { msgtype: 'text', text: { content: m.text, ...(m.to ? { mentioned_mobile_list: [m.to] } : {}) } }), 'errcode')
    }
    case 'dingtalk': {
      const url = readSecret(config.url, env)
      const secret = config.secret ? readSecret(config.secret, env) : undefined
      return async (m) => {
        const ts = now()
        const signed = secret ? `${url}${url.includes('?') ? '&' : '?'}timestamp=${ts}&sign=${encodeURIComponent(dingtalkSign(secret, ts))}` : url
        expectZero(await postJson(signed, { msgtype: 'text', text: { content: m.text }, at: { atMobiles: m.to ? [m.to] : [], isAtAll: false } }), 'errcode')
      }
    }
    case 'feishu': {
      const url = readSecret(config.url, env)
      const secret = config.secret ? readSecret(config.secret, env) : undefined
      return async (m) => {
        const ts = Math.floor(now() / 1000)
        const sign = secret ? { timestamp: String(ts), sign: feishuSign(secret, ts) } : {}
        expectZero(await postJson(url, { ...sign, msg_type: 'text', content: { text: m.text } }), 'code')
      }
    }
    case 'webhook': {
      const token = config.token ? readSecret(config.token, env) : undefined
      return async (m) => {
        await postJson(config.url, { id: m.id, to: m.to ?? null, text: m.text, alert: m.alert }, { 'idempotency-key': m.id, ...(token ? { authorization: `Bearer ${token}` } : {}) })
      }
    }
    case 'sms': {
      const token = config.token ? readSecret(config.token, env) : undefined
      const fill = (escape: (s: string) => string, to: string, text: string) => config.body.replaceAll('{{to}}', escape(to)).replaceAll('{{text}}', escape(text))
      return async (m) => {
        if (!m.to) throw new Error('no mobile number for this person on this channel (via[].to)')
        const json = config.format === 'json'
        const body = json ? fill((s) => JSON.stringify(s).slice(1, -1), m.to, m.text) : fill(encodeURIComponent, m.to, m.text)
        const res = await fetch(config.url, {
          method: 'POST',
          headers: { 'content-type': json ? 'application/json; charset=utf-8' : 'application/x-www-form-urlencoded', 'idempotency-key': m.id, ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body,
          signal: AbortSignal.timeout(TIMEOUT_MS),
        })
        if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`)
      }
    }
    case 'email': {
      const transport = nodemailer.createTransport({
        host: config.host,
        port: config.port,
        secure: config.secure,
        ...(config.user ? { auth: { user: config.user, pass: config.password ? readSecret(config.password, env) : '' } } : {}),
        connectionTimeout: TIMEOUT_MS,
      })
      return async (m) => {
        if (!m.to) throw new Error('no e-mail address for this person on this channel (via[].to)')
        await transport.sendMail({ from: config.from, to: m.to, subject: m.subject, text: m.text, messageId: `<${m.id.replace(/[^A-Za-z0-9.-]/g, '.')}@minewatch>` })
      }
    }
  }
}
