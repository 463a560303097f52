/**
 * The catalog of refusal codes: why a message from a device was not accepted.
 * Codes are stable (devices and integrations match on them); add, never rename.
 * Each refused message is quarantined, counted per code and explained on the
 * device's `rejects` topic (README, "Durability: the journal"; docs/device-contract.md).
 */
export const REFUSAL_CODES = {
  PAYLOAD_TOO_LARGE: '消息过大',
  BAD_JSON: '不是有效的 JSON',
  NOT_FINITE: '数值为 NaN 或无穷大',
  BAD_READING: '读数格式错误',
  EMPTY_BATCH: '空的补传数组',
  EMPTY_VALUES: '读数没有测值',
  UNKNOWN_METRIC: '未知测项',
  WRONG_TYPE: '测值类型错误',
  OUT_OF_RANGE: '测值超出物理范围',
  BAD_TIMESTAMP: '时间戳无效',
  CLOCK_SKEW: '时间超前(设备时钟偏差)',
  TOO_OLD: '补传数据过旧',
  BAD_STATUS: '状态消息格式错误',
  TOPIC_FORBIDDEN: '无权发布到该主题',
  UNKNOWN_TOPIC: '不是设备契约中的主题',
  TOO_DEEP: 'JSON 嵌套层级过深',
  BATCH_TOO_LONG: '补传数组过长',
  BAD_ALERT_EVENT: '上报预警事件格式错误',
} as const

export type RefusalCode = keyof typeof REFUSAL_CODES

export interface Problem {
  readonly code: RefusalCode
  readonly message: string
  /** Position in a backlog array; absent for a problem of the whole message. */
  readonly index?: number
}

export function problem(code: RefusalCode, message: string, index?: number): Problem {
  return index === undefined ? { code, message } : { code, message, index }
}
