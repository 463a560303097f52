/**
 * 联网在线率 (docs/uplink.md, "The links judged"): the share of a period a mine platform's link was
 * connected, from its changes. Pure.
 *
 * `changes` are in time order; a change at `at` holds until the next. Before the first change in
 * the list the link was down (a regulator's start is such a change: nothing is connected to a
 * platform that is not running, so its own downtime counts against the link, as the regulator saw
 * it).
 */
export interface LinkChange {
  readonly at: number
  readonly connected: boolean
}

export function onlineShare(changes: readonly LinkChange[], from: number, to: number): number | null {
  if (to <= from) return null
  let connected = false
  let since = from
  let online = 0
  for (const c of changes) {
    if (c.at >= to) break
    if (c.at > since) {
      if (connected) online += c.at - since
      since = c.at
    }
    connected = c.connected
  }
  if (connected) online += to - since
  return online / (to - from)
}
