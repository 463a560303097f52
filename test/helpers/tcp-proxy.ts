import { createServer, connect, type Server, type Socket } from 'node:net'

/**
 * A TCP proxy on a free loopback port to `target` (which a test can move), that a test can cut (every connection reset,
 * new ones refused at once) and restore. A line that goes down rarely says so: `blackhole` drops
 * the bytes both ways on the open connections and tells neither end, as a dead link does until a
 * keepalive or a timeout notices.
 */
export interface TcpProxy {
  readonly port: number
  blackhole(): void
  cut(): void
  restore(): void
  /** New connections go to this port from now on (a load balancer that moved a client to another node). */
  retarget(port: number): void
  close(): Promise<void>
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let down = false
  let holed = false
  let target = targetPort
  const server: Server = createServer((inbound) => {
    if (down) {
      inbound.resetAndDestroy()
      return
    }
    const outbound = connect(target, '127.0.0.1')
    for (const s of [inbound, outbound]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => undefined)
    }
    inbound.on('data', (chunk) => holed || outbound.write(chunk))
    outbound.on('data', (chunk) => holed || inbound.write(chunk))
    inbound.on('close', () => outbound.destroy())
    outbound.on('close', () => inbound.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('proxy has no port')
  const cut = () => {
    down = true
    holed = false
    for (const s of sockets) s.resetAndDestroy()
  }
  return {
    port: address.port,
    blackhole() {
      holed = true
    },
    cut,
    restore() {
      down = false
    },
    retarget(port) {
      target = port
    },
    close() {
      cut()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
