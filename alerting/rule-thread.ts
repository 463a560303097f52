import type { Worker } from 'node:worker_threads'
import { spawnWorker } from '../ingest/spawn-worker.js'
import type { Reading } from '../ingest/reading.js'
import type { EngineDevice, Fired, Judged, PointLevels, RuleStates } from './runner.js'

/** What the platform asks of the rule thread (worker.ts). */
export type Request =
  /** Readings as the journal's JSON (one array, moved here, not copied): parsed on the rule thread. */
  | { readonly op: 'json'; readonly json: Uint8Array; readonly now: number }
  | { readonly op: 'tick'; readonly now: number }
  | { readonly op: 'warm'; readonly readings: readonly Reading[]; readonly now: number }
  | { readonly op: 'reset'; readonly deviceIds: readonly string[]; readonly now: number }
  | { readonly op: 'load'; readonly deviceIds: readonly string[]; readonly states: RuleStates; readonly now: number }
  | { readonly op: 'configure'; readonly devices: readonly EngineDevice[]; readonly now: number }
  | { readonly op: 'peek'; readonly deviceId: string; readonly ruleId: string }
  | { readonly op: 'judged'; readonly deviceIds: readonly string[] }
  | { readonly op: 'snapshot' }

type Answer = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string }

/**
 * The rules on a thread of their own (issue 13: nothing long on the main event loop). A slope
 * forecast fits days of readings, and a province's prisms put thousands of readings a second
 * through the rules; on the broker's thread that time would delay every PUBACK and every
 * warning. Requests are answered in the order they were sent, and readings are sent in the order
 * they were committed, so the rules see exactly what they saw on one thread.
 */
export class RuleThread {
  private next = 0
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  private stopping = false

  private constructor(
    private readonly worker: Worker,
    /** The points' warning levels once the restored states were loaded. */
    readonly levels: PointLevels,
  ) {}

  /** Starts the thread with these devices' rules, from restored states; `onExit` hears of a thread that died. */
  static start(devices: readonly EngineDevice[], now: number, restored: RuleStates, onExit: (err: Error) => void): Promise<RuleThread> {
    const worker = spawnWorker(import.meta.url, './worker', { workerData: { devices, now, restored } })
    return new Promise((resolve, reject) => {
      let thread: RuleThread | undefined
      worker.on('message', (msg: { ready: PointLevels } | Answer) => {
        if ('ready' in msg) {
          thread = new RuleThread(worker, msg.ready)
          resolve(thread)
          return
        }
        const w = thread?.waiting.get(msg.id)
        if (!w) return
        thread!.waiting.delete(msg.id)
        if (msg.ok) w.resolve(msg.value)
        else w.reject(new Error(`rule thread: ${msg.error}`))
      })
      worker.on('error', (err) => {
        if (!thread) reject(err)
        else thread.fail(err, onExit)
      })
      worker.on('exit', (code) => {
        const err = new Error(`the rule thread exited with code ${code}`)
        if (!thread) reject(err)
        else if (!thread.stopping) thread.fail(err, onExit)
      })
    })
  }

  private fail(err: Error, onExit: (err: Error) => void): void {
    for (const w of this.waiting.values()) w.reject(err)
    this.waiting.clear()
    if (!this.stopping) {
      this.stopping = true
      onExit(err)
    }
  }

  private ask<T>(req: Request, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.stopping) return Promise.reject(new Error('the rule thread is stopped'))
    const id = this.next++
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.worker.postMessage({ id, req }, transfer)
    })
  }

  /**
   * Readings as committed, the level changes they caused. They come as one JSON array in a buffer of its own (journal/join.ts), which is
   * moved to the thread: this thread neither copies the readings' objects nor builds new ones.
   */
  json(json: Uint8Array, now: number): Promise<Fired[]> {
    return this.ask({ op: 'json', json, now }, [json.buffer as ArrayBuffer])
  }

  tick(now: number): Promise<Fired[]> {
    return this.ask({ op: 'tick', now })
  }

  /** Readings judged before a restart: state moves on, nothing fires; the points' levels after. */
  warm(readings: readonly Reading[], now: number): Promise<PointLevels> {
    return this.ask({ op: 'warm', readings, now })
  }

  reset(deviceIds: readonly string[], now: number): Promise<PointLevels> {
    return this.ask({ op: 'reset', deviceIds, now })
  }

  /** These devices' rules from saved states (RuleRunner.load); the points' levels after. */
  load(deviceIds: readonly string[], states: RuleStates, now: number): Promise<PointLevels> {
    return this.ask({ op: 'load', deviceIds, states, now })
  }

  /** The devices and rules from now on (站点管理); unchanged rules keep their state. The points' levels after. */
  configure(devices: readonly EngineDevice[], now: number): Promise<PointLevels> {
    return this.ask({ op: 'configure', devices, now })
  }

  peek(deviceId: string, ruleId: string): Promise<unknown> {
    return this.ask({ op: 'peek', deviceId, ruleId })
  }

  judged(deviceIds: readonly string[]): Promise<Record<string, Record<string, Judged>>> {
    return this.ask({ op: 'judged', deviceIds }) as Promise<Record<string, Record<string, Judged>>>
  }

  /** The rules' state, covering every request sent before this one. */
  snapshot(): Promise<RuleStates> {
    return this.ask({ op: 'snapshot' })
  }

  async stop(): Promise<void> {
    this.stopping = true
    for (const w of this.waiting.values()) w.reject(new Error('the rule thread is stopped'))
    this.waiting.clear()
    await this.worker.terminate()
  }
}
