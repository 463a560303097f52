import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync } from 'fastify'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from '../../ingest/repo-root.js'

/** Where `npm run build:web` (Vite) puts the web UI. */
export const DEFAULT_WEB_ROOT = join(REPO_ROOT, 'dashboard/web/dist')

/**
 * The web UI at `/`: the files Vite built, everything local (no CDN, no map tiles: the dispatch
 * room may have no internet). Hashed assets are cached for good; index.html is asked for again
 * each time, so a new build reaches every screen on its next load. Without a build, `/` says how
 * to make one instead of a bare 404.
 */
export const webRoutes: FastifyPluginAsync<{ root?: string | undefined }> = async (app, opts) => {
  const root = opts.root
  if (!root || !existsSync(join(root, 'index.html'))) {
    app.get('/', async (_request, reply) =>
      reply
        .code(503)
        .type('text/html; charset=utf-8')
        .send(
          `<!doctype html><meta charset="utf-8"><title>minewatch</title><p>界面尚未构建 (the web UI is not built${root ? ` in ${root}` : ''}): 请运行 <code>npm run build:web</code>, 然后刷新本页. The API is at <a href="/docs">/docs</a>.</p>`,
        ),
    )
    return
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    decorateReply: false,
    setHeaders: (res, path) => res.setHeader('cache-control', path.startsWith(join(root, 'assets')) ? 'public, max-age=31536000, immutable' : 'no-cache'),
  })
}
