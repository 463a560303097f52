import type { Server as HttpServer } from 'node:http'
import { Server, type ServerOptions } from 'socket.io'
import type { AlertEvent } from '../alerting/book/alert.js'
import type { Reading } from '../ingest/reading.js'
import { isoInZone } from '../ingest/zone-time.js'
import type { Access } from './access.js'
import { peopleOf } from './people.js'
import { SESSION_COOKIE, cookieValue, type Auth } from './auth.js'
import { tokenDigest } from './sessions.js'
import type { ClientToServerEvents, DevicePush, ServerToClientEvents, SocketData } from './live-events.js'

/**
 * Live push over socket.io (README, "The web screens"): a socket signs in with its session (the cookie, or
 * `auth: { token }`), joins one room per mine it may see, and receives that mine's warnings and
 * device changes. Connection state recovery lets a screen that lost the network for up to two
 * minutes get what it missed; `skipMiddlewares: false`, so a recovered socket is authenticated
 * again. A screen whose `socket.recovered` is false re-reads `GET /api/alerts`.
 */
export interface Live {
  alert(event: AlertEvent): void
  /** Readings as committed; the latest of each device goes out at most every `readingEveryMs`. */
  readings(readings: readonly Reading[]): void
  device(event: DevicePush): void
  /** Closes the live connections of a session or display that ended (logout, revocation). */
  endSession(digest: string): void
  /** Closes a user's live connections (站点管理 changed what they may see): the screen reconnects with the new rights. */
  endUser(userId: string): void
  close(): Promise<void>
}

export const room = (mineId: string) => `mine:${mineId}`
const sessionRoom = (digest: string) => `session:${digest}`
const userRoom = (userId: string) => `user:${userId}`

export function startLive(
  server: HttpServer,
  deps: {
    auth: Auth
    access: Access
    timeZoneOf: (mineId: string) => string
    nameOf: (userId: string) => string | undefined
    now: () => number
    readingEveryMs?: number
    /** Cluster mode: the adapter that carries every push to the sockets of every node, and keeps what a dropped screen missed (docs/cluster.md, "Screens"). */
    adapter?: ServerOptions['adapter']
  },
): Live {
  const every = deps.readingEveryMs ?? 5000
  const lastSent = new Map<string, number>()
  const io = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>(server, {
    path: '/socket.io',
    serveClient: false,
    connectionStateRecovery: { maxDisconnectionDuration: 2 * 60_000, skipMiddlewares: false },
    ...(deps.adapter ? { adapter: deps.adapter } : {}),
  })
  io.use((socket, next) => {
    const token = typeof socket.handshake.auth?.token === 'string' ? socket.handshake.auth.token : undefined
    // Auth reads a bearer header or the session cookie; a socket may bring either
    const request = { headers: { ...socket.handshake.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } }
    deps.auth
      .user(request as never)
      .then((user) => {
        // a recovered socket brings back the rooms of the session it names: only its own user may
        // recover it (a stolen session id with another user's token gets nothing of that session)
        if (socket.recovered && socket.data.userId !== user.id) {
          next(Object.assign(new Error('MW_UNAUTHORIZED: 该连接属于另一用户 (that connection belongs to another user)'), { data: { code: 'MW_UNAUTHORIZED' } }))
          return
        }
        socket.data.userId = user.id
        // a room per session, so that a logout or a revoked display ends its live connections
        const used = token ?? cookieValue(socket.handshake.headers.cookie, SESSION_COOKIE)
        if (used) void socket.join(sessionRoom(tokenDigest(used)))
        void socket.join(userRoom(user.id))
        if (!socket.recovered) for (const mine of deps.access.visibleMines(user)) void socket.join(room(mine))
        next()
      })
      .catch(() => next(Object.assign(new Error('MW_UNAUTHORIZED: 请先登录 (log in first)'), { data: { code: 'MW_UNAUTHORIZED' } })))
  })
  return {
    alert(e) {
      const tz = deps.timeZoneOf(e.mineId)
      io.to(room(e.mineId)).emit('alert', {
        type: e.type,
        at: e.at,
        actor: e.actor,
        notify: e.notify,
        alert: { ...e.alert, timeZone: tz, raisedTime: isoInZone(e.alert.raisedAt, tz), deadlineTime: isoInZone(e.alert.deadline, tz), people: peopleOf(e.alert, deps.nameOf) },
      })
    },
    readings(readings) {
      const now = deps.now()
      // nearly every message is one reading of a device pushed less than `every` ago: nothing to do
      if (readings.length === 1 && now - (lastSent.get(readings[0]!.deviceId) ?? -Infinity) < every) return
      // a screen needs the latest value, not every one: a backlog of 3 days is one push, its newest
      const newest = new Map<string, Reading>()
      for (const r of readings) if ((newest.get(r.deviceId)?.ts ?? -Infinity) < r.ts) newest.set(r.deviceId, r)
      for (const r of newest.values()) {
        if (now - (lastSent.get(r.deviceId) ?? -Infinity) < every) continue
        lastSent.set(r.deviceId, now)
        io.to(room(r.mineId)).emit('reading', { deviceId: r.deviceId, mineId: r.mineId, ts: r.ts, time: isoInZone(r.ts, deps.timeZoneOf(r.mineId)), values: r.values })
      }
    },
    device(d) {
      io.to(room(d.mineId)).emit('device', d)
    },
    endSession(digest) {
      io.in(sessionRoom(digest)).disconnectSockets(true)
    },
    endUser(userId) {
      io.in(userRoom(userId)).disconnectSockets(true)
    },
    // the HTTP server is fastify's to close: only the sockets and the engine end here
    close: async () => {
      io.local.disconnectSockets(true)
      io.engine.close()
    },
  }
}
