import type { Logger } from 'pino'
import { simDevices } from '../simulators/plan.js'
import { SimRunner } from '../simulators/runner.js'
import { loadScenario } from '../simulators/scenario.js'
import { World } from '../simulators/world.js'
import type { Site } from './config/site-file.js'

/**
 * The demo's simulators (MINEWATCH_SIMULATE=normal): every device of the site as its own MQTT
 * client against the embedded broker, in real time (speed 1), for a year. Device passwords follow
 * the demo site's `<id>-demo`; with another site the connections are refused and the log says so.
 */
export async function startSimulation(name: string, site: Site, mqttPort: number, log: Logger): Promise<{ close(): Promise<void> }> {
  const scenario = loadScenario(name)
  const devices = simDevices(site)
  const durationMs = 365 * 86_400_000
  const runner = new SimRunner({
    url: `mqtt://127.0.0.1:${mqttPort}`,
    devices,
    world: new World(devices, scenario, 7, Date.now()),
    speed: 1,
    durationMs,
    password: (id) => `${id}-demo`,
    tickMs: 1000,
    // not `-sim`: a scenario run by `npm run sim` must not take these sessions over
    clientSuffix: '-demo-sim',
  })
  try {
    await runner.connect()
  } catch (err) {
    log.error({ err: (err as Error).message }, `simulators could not connect (MINEWATCH_SIMULATE=${name} needs the demo site's device passwords); running without them`)
    await runner.close()
    return { close: async () => undefined }
  }
  log.info({ scenario: name, devices: devices.length }, `模拟器已连接: ${devices.length} simulated devices report at their intervals (${scenario.title})`)
  void runner.run()
  return { close: () => runner.close() }
}
