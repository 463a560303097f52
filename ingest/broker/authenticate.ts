import type { AedesOptions, AuthenticateError } from 'aedes'
import { willAllowed } from './acl.js'
import { remoteAddress, type BrokerContext } from './context.js'
import { VerifierBusy } from '../secrets.js'

// CONNACK return codes, MQTT 3.1.1 §3.2.2.3
const IDENTIFIER_REJECTED = 2
const SERVER_UNAVAILABLE = 3
const BAD_USERNAME_OR_PASSWORD = 4
const NOT_AUTHORIZED = 5

/** Per-device authentication: MQTT username = device (or service account) id, password = its secret. */
export function authenticate(ctx: BrokerContext): NonNullable<AedesOptions['authenticate']> {
  return function authenticate(client, username, password, done) {
    const refuse = (returnCode: number, reason: string, message: string) => {
      ctx.metrics.connectionsRefused.inc({ reason })
      // the password is never logged, not even its length
      ctx.log.warn({ reason, username, clientId: client.id, remote: remoteAddress(client) }, `MQTT connection refused: ${message}`)
      const err = new Error(message) as AuthenticateError
      err.returnCode = returnCode
      done(err, false)
    }
    if (ctx.emptyIdPersistent.has(client)) {
      return refuse(IDENTIFIER_REJECTED, 'CLIENT_ID_REJECTED', 'an empty client id needs clean session on [MQTT-3.1.3-8]')
    }
    if (!username) return refuse(BAD_USERNAME_OR_PASSWORD, 'NO_USERNAME', 'no username; use the device id')
    const principal = ctx.registry.principal(username)
    if (!principal || !password) {
      return refuse(BAD_USERNAME_OR_PASSWORD, principal ? 'NO_PASSWORD' : 'UNKNOWN_PRINCIPAL', 'bad username or password')
    }
    const secret = password.toString('utf8')
    const accept = () => {
      // aedes publishes the will through authorizePublish only at disconnect; a will on a foreign
      // topic is refused now, while the device can still be told
      const will = (client as unknown as { _will?: { topic: string } })._will
      if (will && !willAllowed(principal, will.topic)) {
        return refuse(NOT_AUTHORIZED, 'WILL_FORBIDDEN', `will topic "${will.topic}" is not this device's status topic`)
      }
      // a client id in use by another principal is not taken over (client-ids.ts)
      const owner = ctx.clientIds.ownerOf(client.id)
      if (owner !== undefined && owner !== principal.id) {
        return refuse(IDENTIFIER_REJECTED, 'CLIENT_ID_TAKEN', `client id "${client.id}" belongs to another device or account; use one of your own (e.g. your device id)`)
      }
      const unavailable = principal.type !== 'account' ? ctx.unavailable() : undefined
      if (unavailable) {
        // the journal cannot keep readings now: say so at the door instead of closing after each publish
        return refuse(SERVER_UNAVAILABLE, 'SERVER_UNAVAILABLE', `server unavailable: ${unavailable}`)
      }
      const persistent = !(client as unknown as { clean?: boolean }).clean
      const admit = () => {
        ctx.principals.set(client, principal)
        ctx.clientIds.claim(client.id, principal.id, persistent)
        done(null, true)
      }
      if (!ctx.sharedClientIds) return admit()
      // in a cluster, the id may be another principal's on another node
      ctx.sharedClientIds.claim(client.id, principal.id, persistent).then(
        (other) => {
          if (other === undefined) return admit()
          refuse(IDENTIFIER_REJECTED, 'CLIENT_ID_TAKEN', `client id "${client.id}" belongs to another device or account; use one of your own (e.g. your device id)`)
        },
        (err: Error) => {
          ctx.log.error({ err: err.message, clientId: client.id }, 'client id ownership could not be checked in the cluster (Redis)')
          refuse(SERVER_UNAVAILABLE, 'CLUSTER_UNAVAILABLE', 'server unavailable: the cluster cannot be reached; try again shortly')
        },
      )
    }
    // a secret verified before needs no scrypt and no limit: a mine's devices reconnecting after a
    // network cut come straight back, whatever a guesser does meanwhile
    if (ctx.verifier.cached(principal.id, secret, principal.secretHash)) return accept()
    // the failed-login limit, tries in flight included (ingest/login-limit.ts)
    const started = ctx.authLimiter.begin(username, remoteAddress(client) ?? 'unknown', ctx.now())
    if ('retryAfter' in started) {
      return started.reason === 'failures'
        ? refuse(NOT_AUTHORIZED, 'TOO_MANY_FAILURES', `too many failed connections; try again in ${started.retryAfter} s`)
        : refuse(SERVER_UNAVAILABLE, 'AUTH_BUSY', 'too many connections being checked from this address; try again shortly')
    }
    ctx.verifier.verify(principal.id, secret, principal.secretHash).then(
      (ok) => {
        ctx.authLimiter.settle(started.ticket, ok)
        if (!ok) return refuse(BAD_USERNAME_OR_PASSWORD, 'BAD_SECRET', 'bad username or password')
        accept()
      },
      (err: Error) => {
        ctx.authLimiter.abandon(started.ticket)
        if (err instanceof VerifierBusy) return refuse(SERVER_UNAVAILABLE, 'AUTH_BUSY', err.message)
        ctx.log.error({ err, username }, 'secret verification failed')
        refuse(NOT_AUTHORIZED, 'VERIFY_ERROR', 'could not verify the secret')
      },
    )
  }
}
