import type { Alert } from '../alerting/book/alert.js'
import type { ResolvedQuery } from '../alerting/store.js'

/** The record of resolved warnings is read in pages of this many, at most RECORD_SCAN of them per question. */
const RECORD_PAGE = 500
export const RECORD_SCAN = 20_000

/**
 * The warnings of these mines resolved since `from` (so every one raised since then and resolved),
 * read back from the record page by page, the latest resolved first, until a page reaches warnings
 * resolved before `from`; `complete` is false when RECORD_SCAN were read before that.
 */
export async function resolvedSince(resolved: (q: ResolvedQuery) => Promise<Alert[]>, mines: readonly string[], from: number): Promise<{ alerts: Alert[]; complete: boolean }> {
  const alerts: Alert[] = []
  let before: number | undefined
  for (;;) {
    const page = await resolved({ mines, before, limit: RECORD_PAGE }).catch(() => [])
    alerts.push(...page)
    if (page.length < RECORD_PAGE || page.at(-1)!.updatedAt < from) return { alerts, complete: true }
    if (alerts.length >= RECORD_SCAN) return { alerts, complete: false }
    before = page.at(-1)!.updatedAt
  }
}
