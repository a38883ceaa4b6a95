/**
 * Where the component binaries are: each hakube package's `bin` entry, found from the package's
 * resolved entry point (no path into another package is written here), and etcd on PATH or in
 * /usr/bin for `--store etcd`.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Binaries } from './components.js'

/** The file of `bin` in `pkg`'s package.json. */
export function packageBin(pkg: string, bin: string): string {
  let dir = dirname(fileURLToPath(import.meta.resolve(pkg)))
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error(`no package.json above the entry point of ${pkg}`)
    dir = up
  }
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    bin?: Record<string, string>
  }
  const file = manifest.bin?.[bin]
  if (file === undefined) throw new Error(`${pkg} has no bin ${bin}`)
  return join(dir, file)
}

/** etcd's path, or undefined when it is not installed. */
export function findEtcd(
  env: NodeJS.ProcessEnv = process.env,
  fallback: readonly string[] = ['/usr/bin', '/usr/local/bin'],
): string | undefined {
  const dirs = [...(env['PATH'] ?? '').split(delimiter).filter((d) => d !== ''), ...fallback]
  for (const d of dirs) {
    const candidate = join(d, 'etcd')
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

export function resolveBinaries(): Binaries {
  return {
    node: process.execPath,
    store: packageBin('@hakube/store', 'hakube-store'),
    apiserver: packageBin('@hakube/api-server', 'hakube-apiserver'),
    lb: packageBin('@hakube/load-balancer', 'hakube-lb'),
    scheduler: packageBin('@hakube/scheduler', 'hakube-scheduler'),
    controllerManager: packageBin('@hakube/controller-manager', 'hakube-controller-manager'),
    nodeSim: packageBin('@hakube/node-sim', 'hakube-node-sim'),
    etcd: findEtcd() ?? 'etcd',
  }
}

/** This package's own launcher (bin/hakube.js), which `hakube up` runs for each host. */
export function hakubeBin(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'hakube.js')
}
