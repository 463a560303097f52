import type { Alert } from '../alerting/book/alert.js'

/**
 * The people a warning's record names (who signed, assigned and resolved it), by name: the book
 * keeps user ids, which are stable, and the screens show the person (issue: "actions show the
 * user id, not the person"). An id the site no longer knows is shown as it is.
 */
export function peopleOf(alert: Pick<Alert, 'acknowledged' | 'assigned' | 'resolved'>, nameOf: (userId: string) => string | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const id of [alert.acknowledged?.by, alert.assigned?.by, alert.resolved?.by]) if (id !== undefined) out[id] = nameOf(id) ?? id
  return out
}
