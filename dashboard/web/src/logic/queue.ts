import { RANK, type Level } from './levels.js'

/**
 * The seat's queue (README, "The web screens"): unresolved warnings, unsigned first (they sound until signed),
 * then the most severe, then the oldest; resolved ones leave the queue.
 */
export interface QueueAlert {
  readonly id: string
  readonly mineId: string
  readonly level: Level
  readonly state: 'open' | 'acknowledged' | 'assigned' | 'resolved'
  readonly raisedAt: number
  readonly updatedAt: number
  readonly overdue: boolean
}

export function queue<A extends QueueAlert>(alerts: Iterable<A>, mineId?: string): A[] {
  return [...alerts]
    .filter((a) => a.state !== 'resolved' && (mineId === undefined || a.mineId === mineId))
    .sort((a, b) => Number(b.state === 'open') - Number(a.state === 'open') || RANK[b.level] - RANK[a.level] || a.raisedAt - b.raisedAt)
}

/** Keeps the newest version of each warning: a push can overtake a REST answer, or the reverse. */
export function upsert<A extends QueueAlert>(book: Map<string, A>, alert: A): boolean {
  const had = book.get(alert.id)
  if (had && had.updatedAt > alert.updatedAt) return false
  book.set(alert.id, alert)
  return true
}

/**
 * Whether the seat must sound: some warning of these is not signed for. The tone follows the
 * worst unsigned level, and stops once every one is signed (签收).
 */
export function alarmLevel(alerts: Iterable<QueueAlert>): Level | null {
  let w: Level | null = null
  for (const a of alerts) if (a.state === 'open' && (w === null || RANK[a.level] > RANK[w])) w = a.level
  return w
}
