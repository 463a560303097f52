/** The logging surface ingest needs; pino's Logger satisfies it. Never pass secrets in `fields`. */
export interface Log {
  debug(fields: object, msg: string): void
  info(fields: object, msg: string): void
  warn(fields: object, msg: string): void
  error(fields: object, msg: string): void
}

/**
 * One line per (key) per window: a device sending garbage ten times a second must not bury the
 * log; the quarantine and the counters keep every occurrence.
 */
export class LogThrottle {
  private readonly seen = new Map<string, { at: number; suppressed: number }>()

  constructor(private readonly windowMs: number) {}

  /** Returns how many were suppressed since the last line, or -1 to stay quiet now. */
  admit(key: string, now: number): number {
    const entry = this.seen.get(key)
    if (entry && now - entry.at < this.windowMs) {
      entry.suppressed++
      return -1
    }
    if (this.seen.size > 10_000) this.seen.clear()
    this.seen.set(key, { at: now, suppressed: 0 })
    return entry?.suppressed ?? 0
  }
}
