/**
 * Goal: a build (fresh, or restored from turbo's cache) is complete. Issue 10 found a 0-byte
 * `dist/openapi/gnostic.js` left by two tasks writing one dist/ at once, and turbo then replayed it.
 * Method: after the build this suite depends on (turbo: test depends on build), every production
 * source file of every package has its emitted `.js` and `.d.ts`, none of them empty, and every
 * package's `bin` is an executable launcher whose target exists.
 */
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url))
const PACKAGES = readdirSync(join(ROOT, 'packages')).filter((name) =>
  existsSync(join(ROOT, 'packages', name, 'tsconfig.json')),
)

function* tsFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) yield* tsFiles(path)
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) yield path
  }
}

describe('build output', () => {
  it('finds the packages', () => {
    expect(PACKAGES).toEqual(expect.arrayContaining(['raft', 'store', 'api', 'storage', 'api-server']))
  })

  for (const pkg of PACKAGES) {
    it(`${pkg}: every source file is emitted, none empty`, () => {
      const src = join(ROOT, 'packages', pkg, 'src')
      const dist = join(ROOT, 'packages', pkg, 'dist')
      const problems: string[] = []
      let emitted = 0
      for (const file of tsFiles(src)) {
        const base = join(dist, relative(src, file)).replace(/\.ts$/, '')
        for (const out of [`${base}.js`, `${base}.d.ts`]) {
          if (!existsSync(out)) problems.push(`missing ${relative(ROOT, out)}`)
          else if (statSync(out).size === 0) problems.push(`empty ${relative(ROOT, out)}`)
          else emitted++
        }
      }
      expect(problems).toEqual([])
      expect(emitted).toBeGreaterThan(0)
    })
  }

  it('no emitted .js file anywhere in dist/ is empty', () => {
    const empty: string[] = []
    for (const pkg of PACKAGES) {
      const dist = join(ROOT, 'packages', pkg, 'dist')
      if (!existsSync(dist)) continue
      for (const name of readdirSync(dist, { recursive: true, encoding: 'utf8' })) {
        const path = join(dist, name)
        if (name.endsWith('.js') && statSync(path).size === 0) empty.push(relative(ROOT, path))
      }
    }
    expect(empty).toEqual([])
  })

  for (const pkg of PACKAGES) {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'packages', pkg, 'package.json'), 'utf8')) as {
      bin?: Record<string, string>
    }
    for (const [name, path] of Object.entries(manifest.bin ?? {})) {
      it(`${pkg}: the ${name} command is an executable launcher of a built entry point`, () => {
        const launcher = join(ROOT, 'packages', pkg, path)
        // npm links bins at install time, before any build: the launcher must be a committed file.
        expect(path.startsWith('dist/')).toBe(false)
        accessSync(launcher, constants.X_OK)
        const text = readFileSync(launcher, 'utf8')
        expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true)
        const target = /new URL\('(\.\.\/dist\/[^']+)', import\.meta\.url\)/.exec(text)?.[1]
        expect(target).toBeDefined()
        expect(existsSync(join(launcher, '..', target ?? ''))).toBe(true)
      })
    }
  }
})
