#!/usr/bin/env node
/**
 * Shows that a build is reproducible and complete: N times over, deletes every package's dist/ and
 * turbo's cache, runs `turbo run build typecheck --force` at turbo's default concurrency (builds and
 * type-checks of different packages at the same time, as `npm test` runs them), then hashes every
 * file under packages/*\/dist. Fails if any emitted .js/.d.ts file is empty or if two runs produced
 * different trees. Usage: node scripts/repeat-build.mjs [runs=10]
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = join(import.meta.dirname, '..')
const runs = Number(process.argv[2] ?? 10)
const packages = readdirSync(join(root, 'packages')).filter((p) =>
  existsSync(join(root, 'packages', p, 'tsconfig.json')),
)

function treeDigest() {
  const files = []
  for (const pkg of packages) {
    const dist = join(root, 'packages', pkg, 'dist')
    if (!existsSync(dist)) throw new Error(`packages/${pkg}/dist was not built`)
    for (const name of readdirSync(dist, { recursive: true, encoding: 'utf8' })) {
      const path = join(dist, name)
      if (statSync(path).isFile()) files.push(path)
    }
  }
  files.sort()
  const empty = files.filter((f) => /\.(js|d\.ts)$/.test(f) && statSync(f).size === 0)
  const all = createHash('sha256')
  const perFile = new Map()
  for (const f of files) {
    const h = createHash('sha256').update(readFileSync(f)).digest('hex')
    perFile.set(relative(root, f), h)
    all.update(`${relative(root, f)}\0${h}\n`)
  }
  return {
    digest: all.digest('hex'),
    count: files.length,
    empty: empty.map((f) => relative(root, f)),
    perFile,
  }
}

let first
for (let i = 1; i <= runs; i++) {
  for (const pkg of packages) rmSync(join(root, 'packages', pkg, 'dist'), { recursive: true, force: true })
  rmSync(join(root, '.turbo'), { recursive: true, force: true })
  rmSync(join(root, 'node_modules', '.cache', 'turbo'), { recursive: true, force: true })
  const started = Date.now()
  execFileSync('npx', ['turbo', 'run', 'build', 'typecheck', '--force', '--output-logs=errors-only'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
  })
  const t = treeDigest()
  console.log(
    `run ${i}/${runs}: ${t.count} files, sha256 ${t.digest.slice(0, 16)}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
  )
  if (t.empty.length > 0) {
    console.error(`empty emitted files: ${t.empty.join(', ')}`)
    process.exit(1)
  }
  if (!first) first = t
  else if (t.digest !== first.digest) {
    const diff = [...new Set([...first.perFile.keys(), ...t.perFile.keys()])].filter(
      (f) => first.perFile.get(f) !== t.perFile.get(f),
    )
    console.error(`run ${i} differs from run 1 in: ${diff.slice(0, 20).join(', ')}`)
    process.exit(1)
  }
}
console.log(`${runs} clean builds and type-checks: byte-identical dist/ trees, no empty emitted file`)
