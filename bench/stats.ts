/** Small figures helpers for the benchmark's report. */
export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]!
}

/** Latencies kept in a growing typed array: millions of samples without millions of objects. */
export class Samples {
  private data = new Float64Array(1 << 16)
  length = 0
  add(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2)
      bigger.set(this.data)
      this.data = bigger
    }
    this.data[this.length++] = v
  }
  sorted(): Float64Array {
    return this.data.slice(0, this.length).sort()
  }
}

export const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a')
export const mib = (bytes: number) => `${fmt(bytes / 1024 / 1024)} MiB`

/** Progress on stderr, one line a second, so a long run is never silent. */
export function progress(label: string, line: () => string): () => void {
  const started = Date.now()
  const timer = setInterval(() => process.stderr.write(`[bench] ${label} ${fmt((Date.now() - started) / 1000)} s · ${line()}\n`), 1000)
  return () => clearInterval(timer)
}

/** Peak and current resident set of a process, from /proc (Linux). */
export async function rssOf(pid: number): Promise<{ peak: number; now: number }> {
  const { readFile } = await import('node:fs/promises')
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024
  return { peak: kb('VmHWM'), now: kb('VmRSS') }
}

/** CPU seconds (user + system) a process has used, from /proc (Linux; 100 ticks a second). */
export async function cpuSecondsOf(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises')
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // the fields after the command name (which may hold spaces) start at state; utime and stime are the 12th and 13th
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/**
 * Time a process's main thread spent on a core and runnable but waiting for one, from
 * /proc/<pid>/schedstat (Linux: ns on the CPU, ns waiting on a run queue). On a machine whose
 * cores are all busy (the load generator, influxd and the platform on two), waiting is where
 * latency comes from that no change to the platform's own code path shows: the figure says how
 * much of a latency is queueing for a core. Undefined where the file does not exist.
 */
export async function schedOf(pid: number): Promise<{ runNs: number; waitNs: number } | undefined> {
  const { readFile } = await import('node:fs/promises')
  try {
    const [run, wait] = (await readFile(`/proc/${pid}/schedstat`, 'utf8')).split(' ').map(Number)
    return { runNs: run!, waitNs: wait! }
  } catch {
    return undefined
  }
}

/** Shares of wall time on a core and waiting for one, between two schedOf readings. */
export function schedShares(before: Awaited<ReturnType<typeof schedOf>>, after: Awaited<ReturnType<typeof schedOf>>, seconds: number): { onCore: number; waiting: number } | undefined {
  if (!before || !after) return undefined
  return { onCore: (after.runNs - before.runNs) / 1e9 / seconds, waiting: (after.waitNs - before.waitNs) / 1e9 / seconds }
}
