import type { Worker } from 'node:worker_threads'
import type { Log } from '../ingest/log.js'
import { spawnWorker } from '../ingest/spawn-worker.js'
import { joinArrays } from '../ingest/journal/join.js'
import type { PayloadSink } from '../ingest/writer.js'
import type { InfluxConfig } from './influx/server.js'

/** Which store the thread writes to: the SQLite file, or InfluxDB. */
export type StoreTarget = { readonly kind: 'sqlite'; readonly file: string } | { readonly kind: 'influx'; readonly cfg: InfluxConfig }

/** What the thread is asked: readings or alert events to write, as JSON arrays joined into one. */
export type StoreRequest = { readonly op: 'readings' | 'events'; readonly json: Uint8Array } | { readonly op: 'close' }

type Answer = { id: number; ok: true } | { id: number; ok: false; error: string }
type LogLine = { log: 'debug' | 'info' | 'warn' | 'error'; fields: object; msg: string }

/**
 * The store's writes on a thread of their own (issue 13: nothing long on the main event loop). A
 * batch of 5,000 readings took 64 ms of the broker's thread to encode as line protocol, gzip and
 * send to InfluxDB, or to insert into SQLite and fsync; PUBACKs and warnings waited behind it. The
 * writers (ingest/writer.ts) send the journal's records as they are on disk, JSON, joined into
 * one buffer that is moved, not copied; the thread parses and writes them with the store's own
 * code (infra/store-worker.ts), and answers once the store confirmed. Queries stay on the main
 * thread's own store object (SQLite in WAL mode lets them read beside the thread's writes).
 */
export class StoreThread {
  private next = 0
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>()
  private stopping = false
  private dead: Error | undefined

  private constructor(private readonly worker: Worker) {}

  /** Starts the thread on the store; `onExit` hears of a thread that died. */
  static start(target: StoreTarget, log: Log, onExit: (err: Error) => void): Promise<StoreThread> {
    const worker = spawnWorker(import.meta.url, './store-worker', { workerData: { target } })
    return new Promise((resolve, reject) => {
      let thread: StoreThread | undefined
      worker.on('message', (msg: { ready: true } | Answer | LogLine) => {
        if ('log' in msg) return log[msg.log](msg.fields, msg.msg)
        if ('ready' in msg) return resolve((thread = new StoreThread(worker)))
        const w = thread?.waiting.get(msg.id)
        if (!w) return
        thread!.waiting.delete(msg.id)
        if (msg.ok) w.resolve()
        else w.reject(new Error(msg.error))
      })
      worker.on('error', (err) => {
        if (!thread) reject(err)
        else thread.fail(err, onExit)
      })
      worker.on('exit', (code) => {
        const err = new Error(`the store thread exited with code ${code}`)
        if (!thread) reject(err)
        else if (!thread.stopping) thread.fail(err, onExit)
      })
    })
  }

  /** The sink of the readings' writer. */
  readonly readings: PayloadSink = { writePayloads: (payloads) => this.write('readings', payloads) }
  /** The sink of the alert events' writer. */
  readonly events: PayloadSink = { writePayloads: (payloads) => this.write('events', payloads) }

  /** Closes the store on the thread and ends it. */
  async stop(): Promise<void> {
    if (this.stopping) return
    try {
      await this.ask({ op: 'close' })
    } catch {
      // a thread that cannot close its store still ends below
    }
    this.stopping = true
    await this.worker.terminate()
  }

  private write(op: 'readings' | 'events', payloads: readonly Buffer[]): Promise<void> {
    const json = joinArrays(payloads)
    return this.ask({ op, json }, [json.buffer as ArrayBuffer])
  }

  private ask(req: StoreRequest, transfer: ArrayBuffer[] = []): Promise<void> {
    if (this.dead) return Promise.reject(this.dead)
    if (this.stopping) return Promise.reject(new Error('the store thread is stopped'))
    const id = ++this.next
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject })
      this.worker.postMessage({ id, req }, transfer)
    })
  }

  private fail(err: Error, onExit: (err: Error) => void): void {
    this.dead = err
    for (const w of this.waiting.values()) w.reject(err)
    this.waiting.clear()
    if (!this.stopping) {
      this.stopping = true
      onExit(err)
    }
  }
}
