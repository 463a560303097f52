import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'

/**
 * One log line per HTTP request, when it completes: method, path, status and milliseconds (Fastify
 * writes two, "incoming request" and "request completed", each with the whole request and
 * reply). At `info` in production; at `debug` in the demo, whose screens poll every few seconds
 * and would bury the log. Errors and 5xx answers are logged at `error` whatever the level.
 * Health probes, scrapes and the API docs are not logged.
 */
export class RequestLog extends LogController {
  constructor(private readonly level: 'info' | 'debug') {
    super({ disableRequestLogging: (r) => r.url.startsWith('/api/health') || r.url.startsWith('/metrics') || r.url.startsWith('/docs') })
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return
    const line = { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }
    const text = `${request.method} ${request.url} ${reply.statusCode}`
    if (error) reply.log.error({ ...line, err: error.message }, text)
    else if (reply.statusCode >= 500) reply.log.error(line, text)
    else reply.log[this.level](line, text)
  }
}
