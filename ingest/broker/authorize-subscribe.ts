import type { AedesOptions } from 'aedes'
import { forwardAllowed, subscribeAllowed } from './acl.js'
import { malformedString } from '../contract/topics.js'
import type { BrokerContext } from './context.js'

/**
 * A refused filter gets SUBACK 0x80 (failure, MQTT 3.1.1 §3.9.3); the connection stays up. A filter
 * holding NUL or bytes that are not UTF-8 is a malformed packet and closes it ([MQTT-1.5.3]).
 */
export function authorizeSubscribe(ctx: BrokerContext): NonNullable<AedesOptions['authorizeSubscribe']> {
  return function authorizeSubscribe(client, sub, callback) {
    const principal = ctx.principals.get(client)
    if (malformedString(sub.topic)) {
      ctx.metrics.connectionsRefused.inc({ reason: 'MALFORMED_TOPIC' })
      ctx.log.warn({ reason: 'MALFORMED_TOPIC', principal: principal?.id, clientId: client.id }, 'subscription filter holds NUL or is not UTF-8; connection closed [MQTT-1.5.3]')
      return callback(new Error('subscription filter holds NUL or is not UTF-8 [MQTT-1.5.3]'), null)
    }
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
