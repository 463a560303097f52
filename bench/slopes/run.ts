import { fork } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { parseArgs } from 'node:util'
import { FAMILIES, type SeriesOptions } from '../../simulators/families.js'
import type { SeriesResult } from './evaluate.js'
import { report } from './report.js'

/**
 * `npm run eval:slopes` — the slope rules' evaluation (docs/alerting-evaluation.md): seeded
 * families of prism series (failing by Voight's law with α from 1.5 to 2.2; steady creep below
 * the rate threshold; a step; pure noise; regressive pulses after rain), all with σ = 0.5 mm
 * noise and a ±1.5 mm daily cycle, half of the failing ones with gaps, bursts and irregular
 * intervals, each run through the real rule engine and warning book. It writes the report with
 * its tables and plots; it is not a test, and takes minutes (`--seeds 2` for a quick look).
 */
const { values: args } = parseArgs({
  options: {
    seeds: { type: 'string', default: '5' },
    out: { type: 'string', default: 'docs/alerting-evaluation.md' },
    workers: { type: 'string', default: String(Math.max(1, cpus().length)) },
  },
})
const seeds = Number(args.seeds)
const plan: SeriesOptions[] = []
for (const family of FAMILIES) {
  if (family === 'voight') for (const alpha of [1.5, 1.8, 2, 2.2]) for (let seed = 1; seed <= seeds; seed++) for (const rough of [true, false]) plan.push({ family, alpha, seed, rough })
  else for (let seed = 1; seed <= seeds; seed++) plan.push({ family, seed })
}

const results: SeriesResult[] = []
const started = Date.now()
let next = 0
const tick = setInterval(() => process.stderr.write(`[eval:slopes] ${Math.round((Date.now() - started) / 1000)} s · ${results.length}/${plan.length} series\n`), 5000)
await Promise.all(
  Array.from({ length: Math.min(Number(args.workers), plan.length) }, () => {
    const child = fork(new URL('./worker.ts', import.meta.url), { execArgv: ['--import', 'tsx'] })
    const give = () => child.send(next < plan.length ? { options: plan[next++]! } : { done: true })
    child.on('message', (r: SeriesResult) => {
      results.push(r)
      give()
    })
    give()
    return new Promise<void>((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`)))))
  }),
)
clearInterval(tick)
const seconds = (Date.now() - started) / 1000
// Workers finish in any order; sort so the plots (which jitter dots by position) are the same on every run.
results.sort((a, b) => a.series.name.localeCompare(b.series.name))
const { markdown, plots } = report(results, { seeds, seconds })
mkdirSync('docs/evaluation', { recursive: true })
for (const [name, svg] of Object.entries(plots)) writeFileSync(`docs/evaluation/${name}`, svg)
writeFileSync(args.out, markdown)
process.stdout.write(
  `${markdown.split('\n## ')[1]?.split('\n').slice(0, 20).join('\n') ?? ''}\n\nwrote ${args.out} and ${Object.keys(plots).length} plots in docs/evaluation/ (${seconds.toFixed(0)} s)\n`,
)
