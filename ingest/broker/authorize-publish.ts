import type { AedesOptions } from 'aedes'
import { JournalRefusal } from '../journal/journal.js'
import { malformedString } from '../contract/topics.js'
import type { BrokerContext } from './context.js'

/**
 * Every device PUBLISH (and every will) passes here before aedes writes the PUBACK; readings are
 * on disk in the journal before this calls back (see intake.ts).
 *
 * A refused message is still acknowledged, as mosquitto and EMQX do by default: [MQTT-3.3.5-2]
 * lets the server either acknowledge or close, and closing makes a device with a bad reading
 * resend it forever. It is then routed nowhere: its topic is moved under `$minewatch/` (no client
 * may subscribe to `$` topics) and its retain flag cleared, so it reaches no subscriber and no
 * retained store.
 */
export const DROPPED_TOPIC = '$minewatch/dropped'

export function authorizePublish(ctx: BrokerContext): NonNullable<AedesOptions['authorizePublish']> {
  const corkUntilNextTurn = corker()
  return function authorizePublish(client, packet, callback) {
    const principal = client ? ctx.principals.get(client) : undefined
    if (!client || !principal) {
      // a will left by a session that is gone: we cannot say whose it is
      drop(packet)
      return callback(null)
    }
    if (malformedString(packet.topic)) {
      ctx.metrics.connectionsRefused.inc({ reason: 'MALFORMED_TOPIC' })
      ctx.log.warn({ reason: 'MALFORMED_TOPIC', principal: principal.id, clientId: client.id }, 'topic holds NUL or is not UTF-8; connection closed [MQTT-1.5.3]')
      return callback(new Error('topic holds NUL or is not UTF-8 [MQTT-1.5.3]'))
    }
    ctx.intake.publish(principal, client.id, packet.topic, toBuffer(packet.payload)).then(
      (result) => {
        if (!result.route) drop(packet)
        else if (!result.retainable) packet.retain = false
        corkUntilNextTurn(client.conn)
        callback(null)
      },
      (err: Error) => {
        // the journal cannot keep it: no PUBACK. aedes closes the connection on this error, and
        // the device keeps the message and sends it again after reconnecting ([MQTT-4.4.0-1])
        const code = err instanceof JournalRefusal ? err.code : 'JOURNAL_FAILED'
        ctx.metrics.journalRefused.inc({ code })
        if (ctx.refusalLog.admit(code, ctx.now()) >= 0) {
          ctx.log.warn({ code, principal: principal.id, clientId: client.id }, `message not acknowledged, connection closed: ${err.message}`)
        }
        callback(err)
      },
    )
  }
}

function drop(packet: { topic: string; retain: boolean }): void {
  packet.topic = DROPPED_TOPIC
  packet.retain = false
}

function toBuffer(payload: Buffer | string): Buffer {
  return typeof payload === 'string' ? Buffer.from(payload) : payload
}

/**
 * A journal group commit releases the PUBACKs of many messages at once, often several for one
 * connection. Corking each connection until the next turn of the event loop sends them in one
 * write instead of one system call per PUBACK.
 */
type Corkable = { cork(): void; uncork(): void }
function corker(): (conn: Partial<Corkable>) => void {
  const corked = new Set<Corkable>()
  return (conn) => {
    if (!conn.cork || !conn.uncork || corked.has(conn as Corkable)) return
    conn.cork()
    corked.add(conn as Corkable)
    if (corked.size === 1) {
      setImmediate(() => {
        for (const c of corked) c.uncork()
        corked.clear()
      })
    }
  }
}
