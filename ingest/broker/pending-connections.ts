/**
 * Connections that have not yet logged in, counted per remote address and in total. Before its
 * CONNECT is authenticated a connection is anyone's: it holds a socket, a parser and up to
 * MAX_CONNECT_BYTES of buffered CONNECT for up to the connect timeout. Without a cap, one address
 * opening thousands of such connections held the broker's memory and file descriptors for all
 * mines. A connection over either cap is closed at once, before a byte is read (docs/security.md,
 * "Connections").
 *
 * Pure bookkeeping: the listener admits a socket and releases it when it logs in or closes.
 */
export const PENDING_PER_ADDRESS = 100
export const PENDING_TOTAL = 1000

export type PendingRefusal = 'address' | 'total'

export class PendingConnections {
  private readonly byAddress = new Map<string, number>()
  private readonly releases = new WeakMap<object, () => void>()
  private count = 0

  constructor(
    readonly perAddress = PENDING_PER_ADDRESS,
    readonly total = PENDING_TOTAL,
    /** Told the new number of pending connections after each change (a metrics gauge). */
    private readonly onChange: (size: number) => void = () => undefined,
  ) {}

  get size(): number {
    return this.count
  }

  /**
   * Counts a new connection from `address` and returns its release (idempotent), or the cap it
   * would break. A connection whose address is unknown (a socket already gone) counts in the total.
   */
  admit(address: string | undefined): (() => void) | PendingRefusal {
    const key = address ?? ''
    const here = this.byAddress.get(key) ?? 0
    if (this.count >= this.total) return 'total'
    if (here >= this.perAddress) return 'address'
    this.byAddress.set(key, here + 1)
    this.count++
    this.onChange(this.count)
    let released = false
    return () => {
      if (released) return
      released = true
      this.count--
      const left = (this.byAddress.get(key) ?? 1) - 1
      if (left <= 0) this.byAddress.delete(key)
      else this.byAddress.set(key, left)
      this.onChange(this.count)
    }
  }

  /**
   * Admits the connection `conn` (a socket or stream) until it logs in or closes; returns the cap it
   * would break instead, and then the caller closes it.
   */
  open(conn: { once(event: 'close', listener: () => void): unknown }, address: string | undefined): PendingRefusal | undefined {
    const release = this.admit(address)
    if (typeof release === 'string') return release
    this.releases.set(conn, release)
    conn.once('close', release)
    return undefined
  }

  /** `conn` has logged in: it no longer counts as pending. */
  loggedIn(conn: object): void {
    this.releases.get(conn)?.()
  }

  /** `conn` carries `under`'s place (a TLS socket over the raw socket that was admitted). */
  alias(conn: object, under: object): void {
    const release = this.releases.get(under)
    if (release) this.releases.set(conn, release)
  }
}
