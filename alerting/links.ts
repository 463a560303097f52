import type { Level } from './rules/levels.js'

/**
 * 联网 warnings on a regulator's platform (docs/uplink.md, "On a minewatch regulator platform"):
 * the link of each mine platform, an uplink account (a gateway naming mines), judged by what the
 * regulator sees of it. Pure: the observation and the clock are parameters.
 *
 * - `uplink-down`: the account has not been connected for `downAfterMs` (黄), for six times that
 *   (橙). A link that was never connected since this platform started counts from the start.
 * - `uplink-lag`: connected, but even the freshest reading of the last minute or two arrived more
 *   than `lagAfterMs` after it was taken (蓝): the mine platform is working through a backlog, or
 *   its uplink is throttled below what its mine produces. The freshest, not the latest: a device's
 *   own 断电续传 backlog passing through the link arrives old, and says nothing about the link.
 */
export const LINK_RULES = { down: 'uplink-down', lag: 'uplink-lag' } as const

export interface LinkLimits {
  readonly downAfterMs: number
  readonly lagAfterMs: number
}

export const DEFAULT_LINK_LIMITS: LinkLimits = { downAfterMs: 10 * 60_000, lagAfterMs: 10 * 60_000 }

export interface LinkObservation {
  readonly connected: boolean
  /** Since when it has been connected or not (epoch ms). */
  readonly since: number
  /** The least delay of the readings it delivered over the last minute or two, ms; undefined: none arrived. */
  readonly lagMs: number | undefined
}

export interface LinkJudgement {
  readonly rule: (typeof LINK_RULES)[keyof typeof LINK_RULES]
  readonly level: Level | null
  /** Minutes down, or minutes behind. */
  readonly value: number
  readonly threshold: number
  readonly message: string
}

const minutes = (ms: number) => Math.floor(ms / 60_000)

export function judgeLink(name: string, o: LinkObservation, limits: LinkLimits, now: number): LinkJudgement[] {
  const downMs = o.connected ? 0 : Math.max(0, now - o.since)
  const downLevel: Level | null = downMs >= 6 * limits.downAfterMs ? 'orange' : downMs >= limits.downAfterMs ? 'yellow' : null
  const lagMs = o.connected && o.lagMs !== undefined ? o.lagMs : 0
  const lagLevel: Level | null = lagMs >= limits.lagAfterMs ? 'blue' : null
  return [
    {
      rule: LINK_RULES.down,
      level: downLevel,
      value: minutes(downMs),
      threshold: minutes(limits.downAfterMs),
      message: downLevel ? `联网中断: ${name} 已断开 ${minutes(downMs)} 分钟 (超过 ${minutes(limits.downAfterMs)} 分钟告警)` : `联网恢复: ${name} 已连接`,
    },
    {
      rule: LINK_RULES.lag,
      level: lagLevel,
      value: minutes(lagMs),
      threshold: minutes(limits.lagAfterMs),
      message: lagLevel ? `联网滞后: ${name} 上报的数据晚到 ${minutes(lagMs)} 分钟 (超过 ${minutes(limits.lagAfterMs)} 分钟告警), 正在补传积压数据或上报限速过低` : `联网滞后已消除: ${name}`,
    },
  ]
}

/**
 * Where a link stands for the devices behind it: `down`; `catching-up` (back for less than a
 * minute, or than `downAfter` when that is shorter, or its freshest readings still a minute or
 * more late: the backlog is on its way); `up`.
 */
export type LinkPhase = 'down' | 'catching-up' | 'up'

export const CAUGHT_UP_MS = 60_000

export function linkPhase(o: LinkObservation, limits: LinkLimits, now: number): LinkPhase {
  if (!o.connected) return 'down'
  if (now - o.since < Math.min(CAUGHT_UP_MS, limits.downAfterMs) || (o.lagMs !== undefined && o.lagMs >= CAUGHT_UP_MS)) return 'catching-up'
  return 'up'
}
