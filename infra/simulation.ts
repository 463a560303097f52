import type { Logger } from 'pino'
import { simDevices } from '../simulators/plan.js'
import { SimRunner } from '../simulators/runner.js'
import { defaultSpeed, loadScenario, scenarioNames } from '../simulators/scenario.js'
import { World, type SimDevice } from '../simulators/world.js'
import type { Site } from './config/site-file.js'

/** Where a drill has got to (GET /api/demo/drill). */
export interface DrillStatus {
  readonly scenario: string
  readonly title: string
  readonly running: boolean
  /** Real time the drill started and (once over) ended, epoch ms. */
  readonly startedAt: number
  readonly endedAt: number | null
  /** The simulated span it replays, ending when it started. */
  readonly from: number
  readonly durationMs: number
  readonly speed: number
  /** 0..1 of the simulated span sent. */
  readonly progress: number
  readonly expect: readonly { readonly device: string; readonly rule: string; readonly level: string }[]
  readonly error: string | null
}

export class DrillRefused extends Error {
  constructor(
    readonly code: 'MW_DRILL_RUNNING' | 'MW_UNKNOWN_SCENARIO',
    message: string,
  ) {
    super(message)
  }
}

/**
 * The demo's simulators (MINEWATCH_SIMULATE=normal): every device of the site as its own MQTT
 * client against the embedded broker, in real time, until stopped. Device passwords follow the
 * demo site's `<id>-demo`; with another site the connections are refused and the log says so.
 *
 * A drill (演练) runs a scenario into the live demo (README, "Run a scenario into the demo"). A
 * scenario compresses days into minutes, so its readings are set in the past, ending when the
 * drill starts. The rules do not let late readings rewrite the present, so a drill: stops the live
 * simulators, starts the devices' rules afresh, replays the scenario over MQTT (the warnings climb
 * on the seat as it goes), then starts the rules afresh again and resumes the live simulators,
 * whose calm signal would otherwise read as a jump back. The drill's warnings stay in the book
 * until people resolve them, like any other.
 */
export class DemoSimulation {
  private live: SimRunner | undefined
  private drillRunner: SimRunner | undefined
  private drillState: Omit<DrillStatus, 'progress'> | undefined
  private readonly devices: SimDevice[]
  private closed = false

  private constructor(
    private readonly name: string,
    site: Site,
    private readonly mqttPort: number,
    private readonly log: Logger,
    private readonly resetRules: (deviceIds: readonly string[]) => void,
  ) {
    this.devices = simDevices(site)
  }

  static async start(name: string, site: Site, mqttPort: number, log: Logger, resetRules: (deviceIds: readonly string[]) => void): Promise<DemoSimulation> {
    const sim = new DemoSimulation(name, site, mqttPort, log, resetRules)
    await sim.startLive()
    return sim
  }

  private runner(world: World, speed: number, durationMs: number, clientSuffix: string): SimRunner {
    return new SimRunner({ url: `mqtt://127.0.0.1:${this.mqttPort}`, devices: this.devices, world, speed, durationMs, password: (id) => `${id}-demo`, tickMs: speed > 1 ? 200 : 1000, clientSuffix })
  }

  private async startLive(): Promise<void> {
    const scenario = loadScenario(this.name)
    // not `-sim`: a scenario run by `npm run sim` must not take these sessions over
    const runner = this.runner(new World(this.devices, scenario, 7, Date.now()), 1, 365 * 86_400_000, '-demo-sim')
    try {
      await runner.connect()
    } catch (err) {
      this.log.error({ err: (err as Error).message }, `simulators could not connect (MINEWATCH_SIMULATE=${this.name} needs the demo site's device passwords); running without them`)
      await runner.close()
      return
    }
    this.live = runner
    this.log.info({ scenario: this.name, devices: this.devices.length }, `模拟器已连接: ${this.devices.length} simulated devices report at their intervals (${scenario.title})`)
    void runner.run()
  }

  status(): DrillStatus | null {
    const d = this.drillState
    if (!d) return null
    const sent = this.drillRunner ? (this.drillRunner.simTime - d.from) / d.durationMs : 1
    return { ...d, progress: d.running ? Math.min(1, Math.max(0, sent)) : d.error ? sent : 1 }
  }

  /** Starts a drill of `scenario`; refuses while one runs. Resolves once the drill's devices are connected. */
  async drill(scenarioName: string, speedAsked?: number): Promise<DrillStatus> {
    if (this.drillState?.running) throw new DrillRefused('MW_DRILL_RUNNING', `演练 ${this.drillState.scenario} 正在进行, 请等它结束 (a drill is running; wait for it to end)`)
    if (!scenarioNames().includes(scenarioName)) throw new DrillRefused('MW_UNKNOWN_SCENARIO', `没有名为 ${scenarioName} 的场景; 可选: ${scenarioNames().join(', ')} (no such scenario)`)
    const scenario = loadScenario(scenarioName)
    const speed = speedAsked ?? defaultSpeed(scenario.duration)
    const startedAt = Date.now()
    const from = startedAt - scenario.duration
    this.drillState = { scenario: scenarioName, title: scenario.title, running: true, startedAt, endedAt: null, from, durationMs: scenario.duration, speed, expect: scenario.expect, error: null }
    await this.live?.close()
    this.live = undefined
    const ids = this.devices.map((d) => d.id)
    this.resetRules(ids)
    const runner = this.runner(new World(this.devices, scenario, 7, from), speed, scenario.duration, '-drill')
    this.drillRunner = runner
    this.log.info({ scenario: scenarioName, speed, simulatedHours: scenario.duration / 3_600_000 }, `演练开始 drill started: ${scenario.title}`)
    const finish = async (error: string | null) => {
      await runner.close().catch(() => undefined)
      this.drillState = { ...this.drillState!, running: false, endedAt: Date.now(), error }
      if (this.closed) return
      this.resetRules(ids)
      await this.startLive()
      this.log.info({ scenario: scenarioName, error }, error ? `演练中断 drill failed: ${error}` : '演练结束 drill over; live simulators resumed')
    }
    try {
      await runner.connect()
    } catch (err) {
      await finish((err as Error).message)
      return this.status()!
    }
    void runner.run().then(
      () => finish(null),
      (err: Error) => finish(err.message),
    )
    return this.status()!
  }

  async close(): Promise<void> {
    this.closed = true
    await Promise.all([this.live?.close(), this.drillRunner?.close()])
  }
}
