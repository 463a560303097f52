import { z } from 'zod'

/** README, "The device contract": ids of mines, devices and accounts match [A-Za-z0-9_-]{1,64}. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

export const idSchema = z.string({ error: 'expected an id (text)' }).regex(ID_PATTERN, { error: 'expected an id of 1–64 letters, digits, "_" or "-"' })

export function isId(value: string): boolean {
  return ID_PATTERN.test(value)
}
