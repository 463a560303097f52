/**
 * InfluxQL text built from values a user or a device chose (device ids, metric names) must
 * treat them as data (README, "Storing in InfluxDB"). Identifiers are double-quoted and string literals single-quoted,
 * each with backslash escapes, as the InfluxQL spec defines them; numbers are checked to be
 * integers before they are written into the query.
 */
export function ident(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

export function str(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

export function epochMs(ms: number): string {
  if (!Number.isSafeInteger(ms)) throw new RangeError(`not an epoch in ms: ${ms}`)
  return `${ms}ms`
}

export function int(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a count: ${n}`)
  return String(n)
}

const where = (device: string, from: number, to: number) => `WHERE "device" = ${str(device)} AND time >= ${epochMs(from)} AND time < ${epochMs(to)}`

export function rangeQuery(measurement: string, metric: string, device: string, from: number, to: number, limit: number): string {
  return `SELECT ${ident(metric)} FROM ${ident(measurement)} ${where(device, from, to)} ORDER BY time ASC LIMIT ${int(limit)}`
}

export function bucketQuery(measurement: string, metric: string, device: string, from: number, to: number, every: number, limit: number): string {
  const m = ident(metric)
  return `SELECT mean(${m}), min(${m}), max(${m}), count(${m}) FROM ${ident(measurement)} ${where(device, from, to)} ` + `GROUP BY time(${epochMs(every)}) fill(none) LIMIT ${int(limit)}`
}

export function latestQuery(measurement: string, device: string): string {
  return `SELECT * FROM ${ident(measurement)} WHERE "device" = ${str(device)} ORDER BY time DESC LIMIT 1`
}
