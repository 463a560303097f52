import type { Logger } from 'pino'
import { simDevices } from '../simulators/plan.js'
import { SimRunner } from '../simulators/runner.js'
import { defaultSpeed, loadScenario, scenarioNames } from '../simulators/scenario.js'
import { World, type SimDevice } from '../simulators/world.js'
import { drillIdOf, hasDrillShadow } from '../ingest/contract/ids.js'
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
  /** Stopped by a person before its end (DELETE /api/demo/drill). */
  readonly stopped: boolean
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
 * A drill (演练) runs a scenario into the live demo (docs/drills.md) as the devices' shadows
 * (infra/drill-site.ts): its readings are series of their own, its warnings the shadows', and the
 * live simulators, the devices' real history and their rules' state are never touched. A scenario
 * compresses days into minutes, so its readings are set in the past, ending when the drill starts;
 * the shadows' rules start afresh at every drill so that an earlier drill's readings, later in
 * time, do not make these read as late. A drill can be stopped at any moment; its warnings stay in
 * the book until people resolve them, like any other.
 */
export class DemoSimulation {
  private live: SimRunner | undefined
  private drillRunner: SimRunner | undefined
  private drillState: Omit<DrillStatus, 'progress'> | undefined
  /** Ends the running drill (once; later calls wait for the same end). */
  private endDrill: ((error: string | null, stopped: boolean) => Promise<void>) | undefined
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

  private runner(world: World, speed: number, durationMs: number, clientSuffix: string, publishAs?: (id: string) => string): SimRunner {
    return new SimRunner({
      url: `mqtt://127.0.0.1:${this.mqttPort}`,
      // a device whose id is too long for the suffix has no shadow (drill-site.ts)
      devices: publishAs ? this.devices.filter((d) => hasDrillShadow(d.id)) : this.devices,
      world,
      speed,
      durationMs,
      password: (id) => `${id}-demo`,
      tickMs: speed > 1 ? 200 : 1000,
      clientSuffix,
      ...(publishAs ? { publishAs } : {}),
    })
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
    // a drill that ran to its end sent everything; one still running, failed or stopped got this far
    return { ...d, progress: d.running || d.error || d.stopped ? Math.min(1, Math.max(0, sent)) : 1 }
  }

  /** Starts a drill of `scenario`; refuses while one runs. Resolves once the drill's devices are connected (or it was stopped). */
  async drill(scenarioName: string, speedAsked?: number): Promise<DrillStatus> {
    if (this.closed) throw new DrillRefused('MW_DRILL_RUNNING', '平台正在停止 (the platform is stopping)')
    if (this.drillState?.running) throw new DrillRefused('MW_DRILL_RUNNING', `演练 ${this.drillState.scenario} 正在进行, 请等它结束或停止它 (a drill is running; wait for it to end or stop it)`)
    if (!scenarioNames().includes(scenarioName)) throw new DrillRefused('MW_UNKNOWN_SCENARIO', `没有名为 ${scenarioName} 的场景; 可选: ${scenarioNames().join(', ')} (no such scenario)`)
    const scenario = loadScenario(scenarioName)
    const speed = speedAsked ?? defaultSpeed(scenario.duration)
    const startedAt = Date.now()
    const from = startedAt - scenario.duration
    this.drillState = {
      scenario: scenarioName,
      title: scenario.title,
      running: true,
      startedAt,
      endedAt: null,
      from,
      durationMs: scenario.duration,
      speed,
      expect: scenario.expect,
      error: null,
      stopped: false,
    }
    this.resetRules(this.devices.map((d) => drillIdOf(d.id)))
    const runner = this.runner(new World(this.devices, scenario, 7, from), speed, scenario.duration, '-drill', drillIdOf)
    this.drillRunner = runner
    this.log.info({ scenario: scenarioName, speed, simulatedHours: scenario.duration / 3_600_000 }, `演练开始 drill started: ${scenario.title}`)
    let ended: Promise<void> | undefined
    const end = (error: string | null, stopped: boolean) =>
      (ended ??= (async () => {
        await runner.close().catch(() => undefined)
        this.drillState = { ...this.drillState!, running: false, endedAt: Date.now(), error, stopped }
        this.endDrill = undefined
        this.log.info({ scenario: scenarioName, error, stopped }, error ? `演练中断 drill failed: ${error}` : stopped ? '演练已停止 drill stopped' : '演练结束 drill over')
      })())
    this.endDrill = end
    try {
      await runner.connect()
    } catch (err) {
      await end((err as Error).message, false)
      return this.status()!
    }
    if (ended) return this.status()!
    void runner.run().then(
      () => end(null, false),
      (err: Error) => end(err.message, false),
    )
    return this.status()!
  }

  /** Stops the running drill, if any; what it sent stays (its shadows' series and warnings). */
  async stopDrill(): Promise<DrillStatus | null> {
    await this.endDrill?.(null, true)
    return this.status()
  }

  async close(): Promise<void> {
    this.closed = true
    await Promise.all([this.live?.close(), this.endDrill?.(null, true)])
  }
}
