/**
 * How old a journal consumer's backlog is (the store writer's, the uplink's), to within a second:
 * one mark a second at most, each the journal head and the time of the first commit it covers. The
 * first mark the consumer has not passed is the age of what it has not done (a large backlog with a
 * young age is a burst; an old one, an outage).
 */
export class BacklogClock {
  private readonly marks: { head: number; at: number }[] = []

  constructor(private readonly now: () => number) {}

  /** What a previous run left behind is at least as old as this start (its commit times are not kept). */
  static fromStart(now: () => number, head: number, cursor: number): BacklogClock {
    const clock = new BacklogClock(now)
    if (head > cursor) clock.marks.push({ head, at: now() })
    return clock
  }

  /** The journal committed up to `head`. */
  committed(head: number): void {
    const at = this.now()
    const last = this.marks.at(-1)
    if (last && at - last.at < 1000) last.head = head
    else this.marks.push({ head, at })
  }

  /** The consumer is done with everything before `end`. */
  passed(end: number): void {
    while (this.marks.length > 0 && this.marks[0]!.head <= end) this.marks.shift()
  }

  /** Milliseconds since the oldest commit past `cursor` (0: none, the consumer is at `head`). */
  ageMs(head: number, cursor: number): number {
    const oldest = this.marks[0]
    return oldest && head > cursor ? Math.max(0, this.now() - oldest.at) : 0
  }
}
