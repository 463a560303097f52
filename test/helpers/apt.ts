import { spawnSync } from 'node:child_process'

/**
 * Installs Debian packages the tests need (influxdb, chromium) when they are missing: as root, or
 * through passwordless sudo. A fresh machine may have no package lists yet, so a failed install
 * is retried after `apt-get update`.
 */
export function aptInstall(packages: readonly string[], why: string): void {
  const asRoot = process.getuid?.() === 0
  const run = (args: string[]) => {
    const [cmd, ...rest] = asRoot ? args : ['sudo', '-n', ...args]
    process.stderr.write(`[test setup] ${why}: running ${[cmd, ...rest].join(' ')}\n`)
    return spawnSync(cmd!, rest, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0
  }
  const install = ['apt-get', 'install', '-y', '-q', ...packages]
  if (run(install)) return
  run(['apt-get', 'update', '-q'])
  if (!run(install)) throw new Error(`could not install ${packages.join(' ')} with apt-get; install them (apt-get install ${packages.join(' ')}) or run the tests as root`)
}

/** Where a command is on PATH, or undefined. */
export function commandPath(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : undefined
}

/** The command, installed from its Debian package first when it is missing. */
export function ensureCommand(name: string, pkg: string, why: string): string {
  const found = commandPath(name)
  if (found) return found
  aptInstall([pkg], why)
  const path = commandPath(name)
  if (!path) throw new Error(`apt-get installed ${pkg} but ${name} is still not on PATH`)
  return path
}
