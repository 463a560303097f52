import type { Alert } from '../alerting/book/alert.js'

/**
 * The socket.io event maps, shared by the server and the browser (README, "Layout"): a renamed
 * event fails the type check on both sides.
 */
export interface AlertPush {
  readonly type: string
  readonly at: number
  readonly actor: string
  readonly notify: boolean
  /** `people`: the names of the users the warning's record names, by id. */
  readonly alert: Alert & { readonly raisedTime: string; readonly deadlineTime: string; readonly timeZone: string; readonly people: Readonly<Record<string, string>> }
}

export interface DevicePush {
  readonly deviceId: string
  readonly mineId: string
  readonly online: boolean
  readonly at: number
}

export interface ReadingPush {
  readonly deviceId: string
  readonly mineId: string
  readonly ts: number
  readonly time: string
  readonly values: Readonly<Record<string, number | boolean>>
}

export interface ServerToClientEvents {
  /** A device's latest reading, at most one per device every few seconds (boards and sparklines). */
  reading: (event: ReadingPush) => void
  /** A warning raised, changed or acted on, in a mine the user may see. */
  alert: (event: AlertPush) => void
  /** A device came online or went offline. */
  device: (event: DevicePush) => void
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ClientToServerEvents {}

export interface SocketData {
  userId: string
}
