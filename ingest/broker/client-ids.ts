/**
 * Who owns an MQTT client id (docs/security.md): the principal connected with it, or the one whose
 * persistent session (clean session off) it names. aedes, like the MQTT spec, lets a new
 * connection with a client id in use take the old one over; between principals that would let a
 * device of one mine cut off a meter of another, or read a service account's queued alerts. A
 * client id is therefore its owner's while connected or held by a session; the same principal may
 * take its own over (a reconnect). Memory is bounded: at most PER_PRINCIPAL session ids are
 * remembered per principal, the oldest forgotten first.
 */
const PER_PRINCIPAL = 16

export class ClientIds {
  private readonly connected = new Map<string, { principal: string; count: number }>()
  private readonly sessions = new Map<string, string>()
  private readonly sessionsOf = new Map<string, string[]>()

  /** The principal that owns this client id now, if any. */
  ownerOf(clientId: string): string | undefined {
    return this.connected.get(clientId)?.principal ?? this.sessions.get(clientId)
  }

  /** A connection of `principal` with this id was accepted; `persistent`: its session outlives it. */
  claim(clientId: string, principal: string, persistent: boolean): void {
    const c = this.connected.get(clientId)
    this.connected.set(clientId, { principal, count: c && c.principal === principal ? c.count + 1 : 1 })
    if (persistent) {
      const list = this.sessionsOf.get(principal) ?? []
      if (!list.includes(clientId)) list.push(clientId)
      while (list.length > PER_PRINCIPAL) this.sessions.delete(list.shift()!)
      this.sessionsOf.set(principal, list)
      this.sessions.set(clientId, principal)
    } else if (this.sessions.get(clientId) === principal) {
      // a clean session ends the persistent one of the same id
      this.sessions.delete(clientId)
      const list = this.sessionsOf.get(principal)
      if (list)
        this.sessionsOf.set(
          principal,
          list.filter((id) => id !== clientId),
        )
    }
  }

  /** A connection of `principal` with this id has closed. */
  release(clientId: string, principal: string): void {
    const c = this.connected.get(clientId)
    if (!c || c.principal !== principal) return
    if (c.count > 1) this.connected.set(clientId, { principal, count: c.count - 1 })
    else this.connected.delete(clientId)
  }

  get size(): number {
    return this.connected.size + this.sessions.size
  }
}

/**
 * Client id ownership across the nodes of a cluster (docs/cluster.md), kept where every node sees
 * it (Redis): the same rule as ClientIds, for a principal on another node. The local ClientIds
 * still answers first.
 */
export interface SharedClientIds {
  /** Claims the id for a connection of `principal`; resolves to the principal that owns it instead, or undefined once claimed. Rejects when the cluster cannot say. */
  claim(clientId: string, principal: string, persistent: boolean): Promise<string | undefined>
  /** That connection has closed. */
  release(clientId: string, principal: string): void
}
