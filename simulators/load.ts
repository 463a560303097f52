import type { MqttClient } from 'mqtt'

/**
 * Load mode's core (used by the fault tests and `npm run bench`; the simulator CLI builds on it):
 * one device connection publishing QoS 1 readings, either as fast as PUBACKs allow with a fixed
 * window in flight, or at a fixed rate. It records what was acknowledged, which is exactly what
 * the platform promised to keep.
 */
export interface PublisherOptions {
  readonly topic: string
  /** QoS 1 messages in flight at most. */
  readonly window: number
  /** Messages per second; undefined: as fast as acknowledgements allow. */
  readonly ratePerSec?: number
  /** The i-th message: its body and the reading's ts (the identity the store keeps it under). */
  readonly message: (i: number) => { readonly ts: number; readonly body: string }
  readonly onAck?: (ts: number, latencyMs: number) => void
}

export interface PublisherResult {
  readonly sent: number
  readonly acked: number
  /** Set when the connection failed or closed before stop() was called. */
  readonly error?: Error
}

export interface Publisher {
  /** Resolves when stopped (and every PUBACK still expected has arrived) or when the connection failed. */
  readonly done: Promise<PublisherResult>
  stop(): void
  readonly stats: { sent: number; acked: number }
}

export function startPublisher(client: MqttClient, opts: PublisherOptions): Publisher {
  const stats = { sent: 0, acked: 0 }
  let inflight = 0
  let stopped = false
  let error: Error | undefined
  let finish: (r: PublisherResult) => void = () => undefined
  const done = new Promise<PublisherResult>((resolve) => (finish = resolve))
  const started = performance.now()
  let timer: NodeJS.Timeout | undefined

  const end = () => {
    if (inflight > 0 && !error) return
    clearInterval(timer)
    client.off('close', onClose)
    finish({ sent: stats.sent, acked: stats.acked, ...(error ? { error } : {}) })
  }
  const onClose = () => {
    if (stopped && inflight === 0) return
    error ??= new Error('connection closed')
    stopped = true
    end()
  }
  client.on('close', onClose)

  const allowed = () => (opts.ratePerSec === undefined ? Infinity : Math.floor(((performance.now() - started) / 1000) * opts.ratePerSec) - stats.sent)
  const pump = () => {
    let budget = allowed()
    while (!stopped && inflight < opts.window && budget-- > 0) {
      const { ts, body } = opts.message(stats.sent++)
      inflight++
      const t0 = performance.now()
      client.publish(opts.topic, body, { qos: 1 }, (err) => {
        inflight--
        if (err) {
          error ??= err
          stopped = true
        } else {
          stats.acked++
          opts.onAck?.(ts, performance.now() - t0)
        }
        if (stopped) end()
        else if (opts.ratePerSec === undefined) pump()
      })
    }
  }
  if (opts.ratePerSec !== undefined) timer = setInterval(pump, 5)
  pump()
  return {
    done,
    stats,
    stop() {
      stopped = true
      end()
    },
  }
}
