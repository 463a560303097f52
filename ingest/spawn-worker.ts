import { Worker, type WorkerOptions } from 'node:worker_threads'

/**
 * Starts a worker thread whose entry module sits beside the caller (`./name`, no extension).
 * Compiled, the entry is `name.js`; from the TypeScript sources (tests, tsx) it is `name.ts`, loaded
 * through tsx's loader, because a worker's --import does not reach its entry module.
 */
export function spawnWorker(callerUrl: string, name: string, options: WorkerOptions): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`${name}.js`, callerUrl), options)
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'))
  const entry = JSON.stringify(new URL(`${name}.ts`, callerUrl).href)
  return new Worker(`import(${tsx}).then((tsx) => { tsx.register(); return import(${entry}) })`, { ...options, eval: true })
}
