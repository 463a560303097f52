import { z } from 'zod'

/** docs/device-contract.md: ids of mines, devices and accounts match [A-Za-z0-9_-]{1,64}. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

export const idSchema = z.string({ error: 'expected an id (text)' }).regex(ID_PATTERN, { error: 'expected an id of 1–64 letters, digits, "_" or "-"' })

export function isId(value: string): boolean {
  return ID_PATTERN.test(value)
}

/**
 * A drill's shadow of a device (docs/drills.md): the demo runs drills as these, so that a drill's
 * readings and warnings have their own series and never enter the device's real history. The
 * suffix is what marks them everywhere (two hyphens: no demo device id ends in it).
 */
export const DRILL_SUFFIX = '--drill'
export const drillIdOf = (deviceId: string): string => `${deviceId}${DRILL_SUFFIX}`
export const isDrillId = (deviceId: string): boolean => deviceId.endsWith(DRILL_SUFFIX)
/** Whether a device can have a shadow: its id with the suffix is still an id (64 characters at most). */
export const hasDrillShadow = (deviceId: string): boolean => isId(drillIdOf(deviceId))
