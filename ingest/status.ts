import { z } from 'zod'
import { parseJson } from './decode.js'
import { problem, type Problem } from './refusals.js'

/** `mines/{mineId}/devices/{deviceId}/status` payload (docs/device-contract.md); extra fields are tolerated. */
const statusSchema = z.looseObject({ online: z.boolean() })

export function decodeStatus(payload: Buffer, maxPayloadBytes: number): { online: boolean } | { problem: Problem } {
  const parsed = parseJson(payload, maxPayloadBytes)
  if (!parsed.ok) return { problem: parsed.problem }
  const status = statusSchema.safeParse(parsed.value)
  if (!status.success) return { problem: problem('BAD_STATUS', 'status must be {"online": true|false}') }
  return { online: status.data.online }
}
