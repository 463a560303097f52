import type { AedesOptions } from 'aedes'
import type { BrokerContext } from './context.js'

/**
 * aedes gives a client with an empty id a generated one even when it asks to keep its session.
 * [MQTT-3.1.3-8]: the server must then answer CONNACK 0x02 (identifier rejected) and close. The
 * packet is only visible here, so we mark the client and `authenticate` refuses it with code 2.
 */
export function preConnect(ctx: BrokerContext): NonNullable<AedesOptions['preConnect']> {
  return function preConnect(client, packet, callback) {
    if (!packet.clientId && packet.clean === false) ctx.emptyIdPersistent.add(client)
    callback(null, true)
  }
}
