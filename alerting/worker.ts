import { parentPort, workerData } from 'node:worker_threads'
import { RuleRunner, type EngineDevice, type RuleStates } from './runner.js'
import type { Request } from './rule-thread.js'
import type { Reading } from '../ingest/reading.js'

/**
 * The rule thread's entry (rule-thread.ts starts it): the rules' state lives here and every
 * request is answered in the order it came, so a snapshot covers exactly the readings sent before it.
 */
const { devices, now, restored } = workerData as { devices: EngineDevice[]; now: number; restored: RuleStates }
const runner = new RuleRunner(devices, now, restored)
const port = parentPort!
const utf8 = new TextDecoder()

function answer(req: Request): unknown {
  switch (req.op) {
    case 'json':
      return runner.onReadings(JSON.parse(utf8.decode(req.json)) as Reading[], req.now)
    case 'tick':
      return runner.tick(req.now)
    case 'warm':
      runner.warm(req.readings, req.now)
      return runner.pointLevels()
    case 'reset':
      runner.reset(req.deviceIds, req.now)
      return runner.pointLevels()
    case 'load':
      runner.load(req.deviceIds, req.states, req.now)
      return runner.pointLevels()
    case 'configure':
      runner.configure(req.devices, req.now)
      return runner.pointLevels()
    case 'peek':
      return runner.peek(req.deviceId, req.ruleId)
    case 'judged':
      return runner.judged(req.deviceIds)
    case 'snapshot':
      // postMessage copies it: a copy of our own first would be the work twice
      return runner.current()
  }
}

port.on('message', (msg: { id: number; req: Request }) => {
  try {
    port.postMessage({ id: msg.id, ok: true, value: answer(msg.req) })
  } catch (err) {
    // a rule that throws fails its request, not the thread: the other devices' rules go on
    port.postMessage({ id: msg.id, ok: false, error: (err as Error).stack ?? String(err) })
  }
})
port.postMessage({ ready: runner.pointLevels() })
