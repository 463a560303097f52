import { parentPort, workerData } from 'node:worker_threads'
import type { AlertEvent } from '../alerting/book/alert.js'
import type { AlertEventStore } from '../alerting/store.js'
import type { Log } from '../ingest/log.js'
import type { Reading } from '../ingest/reading.js'
import type { Store } from '../ingest/store.js'
import { InfluxStore } from './influx-store.js'
import { SqliteStore } from './sqlite-store.js'
import type { StoreRequest, StoreTarget } from './store-thread.js'

/**
 * The store thread's entry (store-thread.ts starts it): its own connection to the store, used
 * only to write. Requests are answered in the order they came.
 */
const { target } = workerData as { target: StoreTarget }
const port = parentPort!
const log: Log = {
  debug: (fields, msg) => port.postMessage({ log: 'debug', fields, msg }),
  info: (fields, msg) => port.postMessage({ log: 'info', fields, msg }),
  warn: (fields, msg) => port.postMessage({ log: 'warn', fields, msg }),
  error: (fields, msg) => port.postMessage({ log: 'error', fields, msg }),
}
// writes carry their measurement (the reading's kind): the device → kind map is for queries
const store: Store & AlertEventStore = target.kind === 'sqlite' ? new SqliteStore(target.file) : new InfluxStore(target.cfg, () => undefined, log)
const decoder = new TextDecoder()

async function answer(req: StoreRequest): Promise<void> {
  if (req.op === 'close') return store.close()
  const items = JSON.parse(decoder.decode(req.json)) as unknown[]
  if (req.op === 'readings') return store.write(items as Reading[])
  return store.appendAlertEvents(items as AlertEvent[])
}

// one at a time, in order: the writers send one batch and wait for its answer anyway
let queue = Promise.resolve()
port.on('message', (msg: { id: number; req: StoreRequest }) => {
  queue = queue.then(() =>
    answer(msg.req).then(
      () => port.postMessage({ id: msg.id, ok: true }),
      (err: Error) => port.postMessage({ id: msg.id, ok: false, error: err.message }),
    ),
  )
})
port.postMessage({ ready: true })
