import type { AedesOptions } from 'aedes'
import { malformedString } from '../contract/topics.js'
import type { BrokerContext } from './context.js'

/**
 * aedes gives a client with an empty id a generated one even when it asks to keep its session.
 * [MQTT-3.1.3-8]: the server must then answer CONNACK 0x02 (identifier rejected) and close. The
 * packet is only visible here, so we mark the client and `authenticate` refuses it with code 2.
 */
export function preConnect(ctx: BrokerContext): NonNullable<AedesOptions['preConnect']> {
  return function preConnect(client, packet, callback) {
    // a client id, user name or will topic holding NUL or bytes that are not UTF-8 makes the
    // CONNECT malformed: closed without a CONNACK [MQTT-1.5.3-1], [MQTT-1.5.3-2]
    const bad = [packet.clientId, packet.username ?? '', packet.will?.topic ?? ''].findIndex(malformedString)
    if (bad >= 0) {
      const reason = bad === 2 ? 'MALFORMED_TOPIC' : 'MALFORMED_CONNECT'
      const what = ['client id', 'user name', 'will topic'][bad]
      ctx.metrics.connectionsRefused.inc({ reason })
      ctx.log.warn({ reason }, `MQTT connection closed: its ${what} holds NUL or is not UTF-8 [MQTT-1.5.3]`)
      return callback(new Error(`${what} holds NUL or is not UTF-8 [MQTT-1.5.3]`), false)
    }
    if (!packet.clientId && packet.clean === false) ctx.emptyIdPersistent.add(client)
    callback(null, true)
  }
}
