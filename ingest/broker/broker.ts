import { Aedes, type Client, type PublishPacket } from 'aedes'
import { routable } from './acl.js'
import { authenticate } from './authenticate.js'
import { authorizePublish } from './authorize-publish.js'
import { authorizeForward, authorizeSubscribe } from './authorize-subscribe.js'
import type { BrokerContext } from './context.js'
import { preConnect } from './pre-connect.js'

export const CONNECT_TIMEOUT_MS = 10_000

/**
 * The embedded broker with minewatch's hooks. aedes 1.x speaks MQTT 3.1.1 (README, "Durability: the journal").
 * Connection bookkeeping (presence) follows the broker's own events, so a takeover or a dropped
 * socket is seen the same way as a clean DISCONNECT.
 */
export async function createBroker(ctx: BrokerContext, engine: { mq?: unknown; persistence?: unknown } = {}): Promise<Aedes> {
  // A connection is over once, whichever comes first: aedes' clientDisconnect, or its socket
  // closing. A socket that closes between a successful authentication and the CONNACK gets no
  // clientDisconnect from aedes (it was never registered), yet aedes still emits clientReady for it
  // once its CONNACK is written to the dead socket: counted as connected, it stayed "online" until
  // a restart. So presence and client-id ownership follow the socket too.
  const ready = new WeakSet<Client>()
  const over = new WeakSet<Client>()
  const closed = (client: Client) => (client.conn as { destroyed?: boolean } | undefined)?.destroyed === true
  function gone(client: Client): void {
    if (over.has(client)) return
    over.add(client)
    const p = ctx.principals.get(client)
    if (!p) return
    ctx.clientIds.release(client.id, p.id)
    ctx.sharedClientIds?.release(client.id, p.id)
    if (p.type === 'device' && ready.has(client)) {
      ctx.presence.disconnected(p.id, ctx.now())
      ctx.metrics.devicesConnected.set(ctx.presence.connectedCount)
    } else if (p.type === 'gateway' && ready.has(client)) {
      ctx.presence.gatewayDisconnected(p.id, [...p.devices.keys()], ctx.now())
      ctx.metrics.devicesConnected.set(ctx.presence.connectedCount)
      ctx.metrics.gatewaysConnected.set(ctx.presence.gatewaysConnected)
    }
  }
  const checkSecret = authenticate(ctx)
  const broker = await Aedes.createBroker({
    // in a cluster, Redis's (infra/cluster/broker-engine.ts); else aedes' own in memory
    ...(engine.mq ? { mq: engine.mq } : {}),
    ...(engine.persistence ? { persistence: engine.persistence } : {}),
    preConnect: preConnect(ctx),
    authenticate: (client, username, password, done) =>
      checkSecret(client, username, password, (err, ok) => {
        if (ok) client.conn.once('close', () => gone(client))
        done(err, ok)
      }),
    authorizePublish: authorizePublish(ctx),
    authorizeSubscribe: authorizeSubscribe(ctx),
    authorizeForward: authorizeForward(ctx),
    // one slow subscriber must not hold every other delivery (aedes docs, drainTimeout)
    drainTimeout: 30_000,
    // a connection must finish its CONNECT within 10 s (aedes' default is 30 s): until then it is
    // anyone's and counts against the pending caps (pending-connections.ts, docs/security.md)
    connectTimeout: CONNECT_TIMEOUT_MS,
  })
  // what no one may receive is not routed; a device's PUBACK does not wait for routing anyway
  // aedes calls it as publish(packet, client, done) for what clients publish (its typings know only the API form)
  const route = broker.publish.bind(broker) as unknown as (packet: PublishPacket, client: Client | null, done: (err?: Error | null) => void) => void
  ;(broker as unknown as { publish: typeof route }).publish = function publishRoutable(packet, client, done) {
    if (client && typeof done === 'function' && !routable(packet.topic)) return done(null)
    return route(packet, client, done)
  }
  broker.on('clientReady', function trackConnect(client) {
    if (over.has(client) || closed(client)) return gone(client)
    ready.add(client)
    const p = ctx.principals.get(client)
    if (p?.type === 'device') {
      ctx.presence.connected(p.id, ctx.now())
      ctx.metrics.devicesConnected.set(ctx.presence.connectedCount)
    } else if (p?.type === 'gateway') {
      ctx.presence.gatewayConnected(p.id, [...p.devices.keys()], ctx.now())
      ctx.metrics.devicesConnected.set(ctx.presence.connectedCount)
      ctx.metrics.gatewaysConnected.set(ctx.presence.gatewaysConnected)
    }
  })
  broker.on('clientDisconnect', gone)
  broker.on('clientError', function reportClientError(client, err) {
    ctx.log.debug({ clientId: client.id, err: err.message }, 'MQTT client error; connection closed')
  })
  broker.on('connectionError', function reportConnectionError(client, err) {
    ctx.log.debug({ clientId: client?.id, err: err.message }, 'MQTT connection error')
  })
  return broker
}

/** Publishes a platform message (QoS 1, not retained) from inside the broker. */
export function brokerTeller(broker: Aedes, log: BrokerContext['log']) {
  return function tell(topic: string, body: object): void {
    broker.publish({ cmd: 'publish', topic, payload: Buffer.from(JSON.stringify(body)), qos: 1, retain: false, dup: false }, (err) => {
      if (err) log.warn({ topic, err: err.message }, 'could not publish platform message')
    })
  }
}
