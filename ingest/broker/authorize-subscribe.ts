import type { AedesOptions } from 'aedes'
import { forwardAllowed, subscribeAllowed } from './acl.js'
import type { BrokerContext } from './context.js'

/** A refused filter gets SUBACK 0x80 (failure, MQTT 3.1.1 §3.9.3); the connection stays up. */
export function authorizeSubscribe(ctx: BrokerContext): NonNullable<AedesOptions['authorizeSubscribe']> {
  return function authorizeSubscribe(client, sub, callback) {
    const principal = ctx.principals.get(client)
    if (principal && subscribeAllowed(principal, sub.topic)) return callback(null, sub)
    ctx.metrics.subscriptionsRefused.inc()
    ctx.log.warn({ principal: principal?.id, clientId: client.id, filter: sub.topic }, 'MQTT subscription refused by the ACL')
    callback(null, null)
  }
}

export function authorizeForward(ctx: BrokerContext): NonNullable<AedesOptions['authorizeForward']> {
  return function authorizeForward(client, packet) {
    const principal = ctx.principals.get(client)
    return principal && forwardAllowed(principal, packet.topic) ? packet : null
  }
}
