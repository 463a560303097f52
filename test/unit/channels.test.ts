import { describe, expect, it } from 'vitest'
import { channelSchema } from '../../alerting/notify/policy.js'
import { makeChannel } from '../../infra/notify/channels.js'

describe('the log channel (记录: a dry run, the demo)', () => {
  it('writes the message to the platform’s log, and not the one-time link, which is a credential', async () => {
    const lines: { fields: object; msg: string }[] = []
    const log = { info: (fields: object, msg: string) => lines.push({ fields, msg }), warn: () => undefined, error: () => undefined, debug: () => undefined }
    const send = makeChannel(channelSchema.parse({ id: 'dry', type: 'log' }), Date.now, {}, log)
    const text = '【橙色预警】金山矿: P-07 位移速率 2 mm/h。发布于 2026-12-02 03:00, 尚未签收, 请立即签收处置: http://localhost:3000/s/AbCdEfGhIjKlMnOpQrStUv'
    await send({ id: 'c1', text, subject: text.slice(0, 60), to: '13800000001', alert: {} })
    expect(lines).toHaveLength(1)
    expect(lines[0]!.fields).toEqual({ channel: 'dry', to: '13800000001', call: 'c1' })
    expect(lines[0]!.msg).toContain('【橙色预警】金山矿: P-07 位移速率 2 mm/h')
    expect(lines[0]!.msg).toContain('http://localhost:3000/s/(一次性链接不记入日志)')
    expect(lines[0]!.msg).not.toContain('AbCdEfGhIjKlMnOpQrStUv')
  })
})
