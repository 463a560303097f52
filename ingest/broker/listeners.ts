import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import type { Duplex } from 'node:stream'
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net'
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls'
import { secureOptions, type TlsFiles } from '../tls.js'
import type { Aedes } from 'aedes'
import { WebSocketServer, createWebSocketStream } from 'ws'
import { guardedConnection, type FrameTooLargeError } from './frame-guard.js'
import type { PendingConnections, PendingRefusal } from './pending-connections.js'

export interface Listener {
  readonly port: number
  close(): Promise<void>
  /** Serve new connections with this certificate (a renewed one); open connections keep theirs. */
  reloadTls?(files: TlsFiles): void
}

export interface FrameLimit {
  readonly maxFrameBytes: number
  readonly onTooLarge: (err: FrameTooLargeError, remote: string | undefined) => void
  /** A CONNECT of a protocol level this broker does not speak (answered CONNACK 0x01, then closed). */
  readonly onUnsupportedProtocol?: (level: number, remote: string | undefined) => void
  /** Connections not yet logged in, capped per address and in total (pending-connections.ts). */
  readonly pending?: PendingConnections
  readonly onTooManyPending?: (cap: PendingRefusal, remote: string | undefined) => void
}

/** Hands a connection to aedes behind the frame guard (frame-guard.ts). */
function handle(broker: Aedes, conn: Duplex, remote: string | undefined, limit: FrameLimit, req?: IncomingMessage): void {
  const guarded = guardedConnection(
    conn,
    limit.maxFrameBytes,
    (err) => limit.onTooLarge(err, remote),
    (level) => limit.onUnsupportedProtocol?.(level, remote),
  )
  broker.handle(guarded, req)
}

/** Counts `conn` as pending, or closes it when a cap is full; false when closed. */
function admitted(conn: Duplex, remote: string | undefined, limit: FrameLimit): boolean {
  const refused = limit.pending?.open(conn, remote)
  if (refused === undefined) return true
  limit.onTooManyPending?.(refused, remote)
  conn.destroy()
  return false
}

/**
 * MQTT over TCP. `noDelay`: with Nagle on, a QoS 1 round trip through aedes measured 44 ms here,
 * with it off under 1 ms (README, "Durability: the journal").
 */
export async function listenTcp(broker: Aedes, host: string, port: number, limit: FrameLimit): Promise<Listener> {
  const server = createTcpServer({ noDelay: true }, (socket) => {
    const remote = socket.remoteAddress
    if (!admitted(socket, remote, limit)) return
    handle(broker, socket, remote, limit)
  })
  return listening(server, host, port)
}

/**
 * MQTT over TLS (MQTTS, 8883 by convention). The raw socket is admitted and counted as pending
 * before its handshake, so half-finished handshakes fall under the same caps and the same connect
 * timeout as half-finished CONNECTs: aedes' timer starts at once and closes a connection that has
 * not sent its CONNECT, handshake included, in time.
 */
export async function listenTls(broker: Aedes, host: string, port: number, files: TlsFiles, limit: FrameLimit): Promise<Listener> {
  let context: SecureContext = createSecureContext(secureOptions(files))
  const server = createTcpServer({ noDelay: true }, (raw) => {
    const remote = raw.remoteAddress
    if (!admitted(raw, remote, limit)) return
    const socket = new TLSSocket(raw, { isServer: true, secureContext: context })
    limit.pending?.alias(socket, raw)
    // a failed handshake is the client's problem; it must not surface as an unhandled error
    socket.on('error', () => socket.destroy())
    handle(broker, socket, remote, limit)
  })
  const listener = await listening(server, host, port)
  return {
    ...listener,
    reloadTls(next) {
      context = createSecureContext(secureOptions(next))
    },
  }
}

/** MQTT over WebSocket (subprotocol "mqtt"), for browsers and gateways behind HTTP proxies. */
export async function listenWebSocket(broker: Aedes, host: string, port: number, limit: FrameLimit, tls?: TlsFiles): Promise<Listener> {
  const answer = (_req: unknown, res: ServerResponse) => {
    res.writeHead(426, { 'content-type': 'text/plain; charset=utf-8' }).end('MQTT over WebSocket: connect with a WebSocket client\n')
  }
  // with a certificate it is MQTT over secure WebSocket (wss://), as browsers on an HTTPS page need
  const http = tls ? createHttpsServer(secureOptions(tls), answer) : createHttpServer(answer)
  // ws's own cap bounds one WebSocket message; the guard bounds an MQTT packet split over several
  const wss = new WebSocketServer({ server: http, maxPayload: limit.maxFrameBytes + 8 })
  wss.on('connection', (ws, req) => {
    ws.on('error', () => ws.terminate())
    const remote = req.socket.remoteAddress
    const stream = createWebSocketStream(ws)
    if (!admitted(stream, remote, limit)) return
    handle(broker, stream, remote, limit, req)
  })
  const listener = await listening(http, host, port)
  return {
    port: listener.port,
    ...(tls ? { reloadTls: (next: TlsFiles) => (http as HttpsServer).setSecureContext(secureOptions(next)) } : {}),
    async close() {
      for (const ws of wss.clients) ws.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      await listener.close()
    },
  }
}

function listening(server: Server | ReturnType<typeof createHttpServer> | ReturnType<typeof createHttpsServer>, host: string, port: number): Promise<Listener> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done())
            // established connections are closed by broker.close(); don't wait on idle keep-alives
            ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
          }),
      })
    })
  })
}
