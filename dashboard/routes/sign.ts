import type { FastifyPluginAsync, FastifyReply } from 'fastify'

/**
 * 签收 from the message (issue 15 item 3): the one-time link in each call opens a small page, made
 * for a phone, with the warning and one button. The token is the only credential: it names one call
 * (one warning, one person) and signs once. A plain form posts back to the same address, so the page
 * needs no script (the CSP allows none inline) and works in any phone's browser.
 */
export interface LinkView {
  readonly ok: boolean
  readonly signed?: boolean
  readonly reason?: 'unknown' | 'gone' | 'used' | 'signed'
  readonly who?: string
  readonly alert?: { readonly mineName: string; readonly level: string; readonly message: string; readonly raisedTime: string; readonly mineId: string }
}

export interface SignByLink {
  open(token: string): Promise<LinkView>
  sign(token: string): Promise<LinkView>
}

const LEVEL = { blue: ['蓝色预警', '#1e88e5'], yellow: ['黄色预警', '#f9a825'], orange: ['橙色预警', '#fb8c00'], red: ['红色预警', '#e53935'] } as Record<string, [string, string]>
const REASON = {
  unknown: '链接无效 (this link is not valid)。请登录平台在预警专席签收。',
  gone: '该预警已处置完毕或已归档, 无需签收。',
  used: '此链接已使用过, 每个链接只能签收一次。',
  signed: '该预警已有人签收, 叫应已停止。',
} as const

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

function page(reply: FastifyReply, view: LinkView, status = 200): FastifyReply {
  const a = view.alert
  const [levelName, color] = LEVEL[a?.level ?? ''] ?? ['预警', '#546e7a']
  const body = `${a ? `<p class="lvl" style="background:${color}">${levelName}</p><h1>${escape(a.mineName)}</h1><p>${escape(a.message)}</p><p class="meta">发布于 ${escape(a.raisedTime.slice(0, 16).replace('T', ' '))}${view.who ? ` · 通知: ${escape(view.who)}` : ''}</p>` : ''}${
    view.ok && !view.signed
      ? `<form method="post"><button type="submit" data-test="link-sign">签收 (我已收到, 立即核查)</button></form>`
      : view.ok
        ? `<p class="done" data-test="link-signed">已签收。叫应已停止, 请按预案核查处置, 并在平台记录处置情况。</p>`
        : `<p class="why" data-test="link-refused">${REASON[view.reason ?? 'unknown']}</p>`
  }`
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(
      `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>签收预警 · minewatch</title><style>body{font-family:system-ui,sans-serif;margin:0;padding:1.2rem;background:#0e1a22;color:#eceff1;max-width:36rem}h1{font-size:1.3rem;margin:.6rem 0}.lvl{display:inline-block;padding:.2rem .7rem;border-radius:4px;color:#fff;font-weight:bold;margin:0}.meta{color:#90a4ae;font-size:.9rem}button{font-size:1.2rem;width:100%;padding:1rem;border:0;border-radius:6px;background:#1565c0;color:#fff;margin-top:1rem}.done{color:#a5d6a7;font-size:1.1rem}.why{color:#ffcc80}</style></head><body>${body}</body></html>`,
    )
}

export const signRoutes: FastifyPluginAsync<{ links: SignByLink }> = async (app, opts) => {
  // the page's form posts as a browser does; the body carries nothing the answer needs
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 }, (_request, _body, done) => done(null, {}))
  const token = (params: unknown) => String((params as { token?: string }).token ?? '').slice(0, 400)
  app.get('/s/:token', { schema: { hide: true } }, async (request, reply) => {
    const view = await opts.links.open(token(request.params))
    return page(reply, view, view.reason === 'unknown' ? 404 : 200)
  })
  app.post('/s/:token', { schema: { hide: true } }, async (request, reply) => {
    const view = await opts.links.sign(token(request.params))
    return page(reply, view, view.reason === 'unknown' ? 404 : 200)
  })
}
