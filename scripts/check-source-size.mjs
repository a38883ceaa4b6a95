#!/usr/bin/env node
/**
 * Part of `npm run lint`: no TypeScript file under packages/*\/src or packages/*\/test is longer than
 * MAX_LINES (docs/contributing.md: one concern per file, files under ~700 lines). A file whose first
 * lines carry the marker `@generated` (a generated table) is exempt. Exits 1 listing the offenders.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'

const MAX_LINES = 700
/** The repository to check: the argument, or this script's repository. */
const root = process.argv[2] ?? join(import.meta.dirname, '..')

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue
    const path = join(dir, entry.name)
    if (entry.isDirectory()) yield* walk(path)
    else if (entry.name.endsWith('.ts')) yield path
  }
}

const offenders = []
for (const pkg of readdirSync(join(root, 'packages'))) {
  for (const sub of ['src', 'test']) {
    let files
    try {
      files = [...walk(join(root, 'packages', pkg, sub))]
    } catch {
      continue
    }
    for (const file of files) {
      const text = readFileSync(file, 'utf8')
      const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0)
      if (lines <= MAX_LINES) continue
      if (text.split('\n', 5).some((line) => line.includes('@generated'))) continue
      offenders.push(`${relative(root, file)}: ${lines} lines (limit ${MAX_LINES})`)
    }
  }
}
if (offenders.length > 0) {
  console.error(
    `check-source-size: ${offenders.length} file(s) over ${MAX_LINES} lines; split them by concern:`,
  )
  for (const line of offenders) console.error(`  ${line}`)
  process.exit(1)
}
console.log(`check-source-size: no file over ${MAX_LINES} lines`)
