import { reactive } from 'vue'
import { io, type Socket } from 'socket.io-client'
import type { ClientToServerEvents, ServerToClientEvents } from '../../live-events.js'
import { api, serverNow } from './api.js'
import { alarmLevel, upsert } from './logic/queue.js'
import { ring } from './alarm.js'
import type { AlertView, DeviceView, Me, MineView } from './types.js'

/**
 * What the screen knows, kept live: the signed-in user, the mines and warnings they may see, and
 * the devices of the mines opened. REST gives the state on login and whenever socket.io could not
 * recover a lost connection; pushes keep it current in between (dashboard/live.ts).
 */
export const session = reactive({
  me: null as Me | null,
  mines: [] as MineView[],
  alerts: new Map<string, AlertView>(),
  devices: {} as Record<string, DeviceView[]>,
  /** deviceId → [ts, value] of the sparkline metric, appended by pushes. */
  live: {} as Record<string, { ts: number; values: Record<string, number | boolean> }[]>,
  connected: false,
  now: serverNow(),
  error: '' as string,
})

let socket: Socket<ServerToClientEvents, ClientToServerEvents> | undefined
let alarmTimer: ReturnType<typeof setInterval> | undefined
let clockTimer: ReturnType<typeof setInterval> | undefined

export async function loadMines(): Promise<void> {
  session.mines = await api<MineView[]>('/api/mines')
}

export async function loadAlerts(): Promise<void> {
  // the whole book: what is unresolved, and what was resolved in the last days (the seat lists the day's)
  const { alerts } = await api<{ alerts: AlertView[] }>('/api/alerts?state=all')
  // the REST answer is the whole book: a warning resolved while we were away is there as resolved
  session.alerts = new Map(alerts.map((a) => [a.id, a]))
}

export async function loadDevices(mineId: string): Promise<void> {
  session.devices[mineId] = await api<DeviceView[]>(`/api/mines/${encodeURIComponent(mineId)}/devices`)
}

async function resync(): Promise<void> {
  await Promise.all([loadMines(), loadAlerts(), ...Object.keys(session.devices).map(loadDevices)])
}

let minesTimer: ReturnType<typeof setTimeout> | undefined
/** The mines' summary (devices connected) after a burst of device changes, once. */
function refreshMinesSoon(): void {
  clearTimeout(minesTimer)
  minesTimer = setTimeout(() => void loadMines().catch(() => undefined), 1000)
}

export async function start(me: Me): Promise<void> {
  session.me = me
  await resync()
  socket = io({ path: '/socket.io', withCredentials: true })
  socket.on('connect', () => {
    session.connected = true
    // a connection socket.io could not recover missed pushes: read the state again
    if (!socket?.recovered) void resync().catch((e: Error) => (session.error = e.message))
  })
  socket.on('disconnect', () => (session.connected = false))
  socket.on('connect_error', (err) => {
    session.connected = false
    if (err.message.startsWith('MW_UNAUTHORIZED')) void stop()
  })
  socket.on('alert', (e) => {
    upsert(session.alerts, e.alert)
    if (e.notify && e.alert.state === 'open' && me.role !== 'regulator') ring(e.alert.level)
  })
  socket.on('device', (d) => {
    const device = session.devices[d.mineId]?.find((x) => x.id === d.deviceId)
    if (device) {
      device.connected = d.online
      // connected again: nothing heard on this connection yet (the next reading makes it online)
      device.state = d.online ? 'waiting' : 'offline'
    }
    refreshMinesSoon()
  })
  socket.on('reading', (r) => {
    const device = session.devices[r.mineId]?.find((x) => x.id === r.deviceId)
    if (device) {
      device.last = { ts: r.ts, time: r.time, values: { ...r.values } }
      device.state = device.connected ? 'online' : device.state
    }
    const list = (session.live[r.deviceId] ??= [])
    list.push({ ts: r.ts, values: { ...r.values } })
    if (list.length > 500) list.splice(0, list.length - 500)
  })
  clockTimer = setInterval(() => (session.now = serverNow()), 1000)
  // the seat sounds every few seconds until every warning is signed for; a regulator watches, and
  // signing is not theirs to do, so their screen stays quiet
  if (me.role === 'regulator') return
  alarmTimer = setInterval(() => {
    const level = alarmLevel(session.alerts.values())
    if (level) ring(level)
  }, 4000)
}

export async function stop(): Promise<void> {
  socket?.close()
  socket = undefined
  clearInterval(alarmTimer)
  clearInterval(clockTimer)
  session.me = null
  session.alerts = new Map()
  session.devices = {}
}

export async function logout(): Promise<void> {
  await api('/api/logout', { method: 'POST' }).catch(() => undefined)
  await stop()
}

export function act(alert: AlertView, action: 'acknowledge' | 'assign' | 'resolve', body: Record<string, string> = {}): Promise<AlertView> {
  return api<AlertView>(`/api/alerts/${encodeURIComponent(alert.id)}/${action}`, { method: 'POST', body }).then((a) => {
    upsert(session.alerts, a)
    return a
  })
}
