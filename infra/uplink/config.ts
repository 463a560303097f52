import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { MINEWATCH_MAPPING, parseMapping } from '../../ingest/uplink/mapping.js'
import type { Env } from '../config/env.js'
import { UPLINK_DEFAULTS, type UplinkConfig } from './uplink.js'

/**
 * The uplink's settings from MINEWATCH_UPLINK_* (README, Configuration; docs/uplink.md), when
 * MINEWATCH_UPLINK_URL is set: the account, its password (or a file holding it), the authority to
 * trust, the mapping file. Every problem is named, with the variable it comes from.
 */
export function uplinkConfig(env: Env, mineIds: readonly string[], read: (file: string) => string = (f) => readFileSync(f, 'utf8')): UplinkConfig | { errors: string[] } | undefined {
  const url = env.MINEWATCH_UPLINK_URL
  if (!url) return undefined
  const errors: string[] = []
  const fromFile = (variable: string, file: string): string | undefined => {
    try {
      return read(resolve(file))
    } catch (err) {
      errors.push(`${variable}: could not read ${file} (${(err as Error).message})`)
      return undefined
    }
  }
  if (!env.MINEWATCH_UPLINK_USERNAME) errors.push('MINEWATCH_UPLINK_USERNAME: required with MINEWATCH_UPLINK_URL (the account the upstream platform gave this platform)')
  if (env.MINEWATCH_UPLINK_PASSWORD && env.MINEWATCH_UPLINK_PASSWORD_FILE) errors.push('MINEWATCH_UPLINK_PASSWORD_FILE: set it or MINEWATCH_UPLINK_PASSWORD, not both')
  const password = env.MINEWATCH_UPLINK_PASSWORD ?? (env.MINEWATCH_UPLINK_PASSWORD_FILE ? fromFile('MINEWATCH_UPLINK_PASSWORD_FILE', env.MINEWATCH_UPLINK_PASSWORD_FILE)?.trim() : undefined)
  if (!password && !env.MINEWATCH_UPLINK_PASSWORD_FILE) errors.push('MINEWATCH_UPLINK_PASSWORD (or _FILE): required with MINEWATCH_UPLINK_URL')
  if (url.startsWith('mqtt://') && !/^mqtt:\/\/(127\.|localhost[:/]|\[::1\])/.test(url))
    errors.push('MINEWATCH_UPLINK_URL: the password would cross the network in clear text; use mqtts:// (plain mqtt:// only to this machine, 127.0.0.1)')
  const ca = env.MINEWATCH_UPLINK_CA ? fromFile('MINEWATCH_UPLINK_CA', env.MINEWATCH_UPLINK_CA) : undefined
  let mapping = MINEWATCH_MAPPING
  if (env.MINEWATCH_UPLINK_MAPPING) {
    const text = fromFile('MINEWATCH_UPLINK_MAPPING', env.MINEWATCH_UPLINK_MAPPING)
    if (text !== undefined) {
      let raw: unknown
      try {
        raw = parseYaml(text)
      } catch (err) {
        errors.push(`MINEWATCH_UPLINK_MAPPING: ${env.MINEWATCH_UPLINK_MAPPING} is not YAML or JSON (${(err as Error).message.split('\n')[0]})`)
      }
      if (raw !== undefined) {
        const parsed = parseMapping(raw)
        if (parsed.ok) mapping = parsed.mapping
        else errors.push(...parsed.errors.map((e) => `MINEWATCH_UPLINK_MAPPING ${env.MINEWATCH_UPLINK_MAPPING}: ${e}`))
      }
    }
  }
  const mines = env.MINEWATCH_UPLINK_MINES?.split(',')
    .map((m) => m.trim())
    .filter(Boolean)
  for (const m of mines ?? []) if (!mineIds.includes(m)) errors.push(`MINEWATCH_UPLINK_MINES: no mine ${m} in the site file (mines: ${mineIds.join(', ')})`)
  if (errors.length > 0) return { errors }
  return {
    ...UPLINK_DEFAULTS,
    url,
    username: env.MINEWATCH_UPLINK_USERNAME!,
    password: password!,
    ...(ca ? { ca } : {}),
    mapping,
    ...(mines ? { mines } : {}),
    maxPerSecond: env.MINEWATCH_UPLINK_RATE,
    maxBacklogBytes: env.MINEWATCH_UPLINK_MAX_BACKLOG_MB * 1024 * 1024,
  }
}
