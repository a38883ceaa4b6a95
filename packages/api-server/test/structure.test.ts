/**
 * Goal: the structure issue 10 asked for stays true of @hakube/api and @hakube/api-server:
 * - no import cycle between files (type-only imports count: they still tie the files together);
 * - no production module (not `*.test.ts`, not under a `testing/` folder) imports vitest or a
 *   `testing/` folder, so nothing of the test harness reaches `dist/` through an entry point;
 * - no source file over 700 lines.
 * Method: the source files read from disk, their relative imports parsed with a regular expression
 * (enough for this code base's import style: one `from '...'` per statement), cycles found as
 * strongly connected components. The checks run first on small made-up trees, so that a checker
 * that finds nothing is caught.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const repo = normalize(join(dirname(fileURLToPath(import.meta.url)), '../../..'))
const ROOTS = ['packages/api/src', 'packages/api-server/src']
const LINES_MAX = 700

/** Source files by path (relative to the repository), as the checks read them. */
type Tree = ReadonlyMap<string, string>

function readTree(roots: readonly string[]): Tree {
  const out = new Map<string, string>()
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(repo, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
        out.set(path, readFileSync(join(repo, path), 'utf8'))
    }
  }
  for (const root of roots) walk(root)
  return out
}

const IMPORT_RE =
  /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s*'([^']+)'|(?:^|\n)\s*import\s*'([^']+)'|import\(\s*'([^']+)'\s*\)/g

/** Every module specifier a file imports or re-exports from. */
function specifiers(source: string): string[] {
  return [...source.matchAll(IMPORT_RE)].map((m) => m[1] ?? m[2] ?? m[3] ?? '')
}

/** The file a relative specifier names (`./x.js` is `./x.ts`, a folder is its index.ts). */
function resolveRelative(tree: Tree, from: string, spec: string): string | undefined {
  const base = normalize(join(dirname(from), spec)).replace(/\.js$/, '')
  for (const candidate of [`${base}.ts`, `${base}/index.ts`]) if (tree.has(candidate)) return candidate
  return undefined
}

const isProduction = (path: string) => !path.endsWith('.test.ts') && !path.split('/').includes('testing')

/** Each file's relative imports, as files of the tree. */
function importEdges(tree: Tree): Map<string, string[]> {
  const edges = new Map<string, string[]>()
  for (const [path, source] of tree) {
    const targets = specifiers(source)
      .filter((s) => s.startsWith('.'))
      .map((s) => resolveRelative(tree, path, s))
      .filter((t): t is string => t !== undefined)
    edges.set(path, targets)
  }
  return edges
}

/** The strongly connected components of two or more nodes, or of one that reaches itself (Tarjan). */
function cyclesOf(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const cycles: string[][] = []
  const visit = (v: string) => {
    index.set(v, counter)
    low.set(v, counter)
    counter++
    stack.push(v)
    onStack.add(v)
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) !== index.get(v)) return
    const component: string[] = []
    let w: string | undefined
    do {
      w = stack.pop()!
      onStack.delete(w)
      component.push(w)
    } while (w !== v)
    if (component.length > 1 || (edges.get(v) ?? []).includes(v)) cycles.push(component.sort())
  }
  for (const v of edges.keys()) if (!index.has(v)) visit(v)
  return cycles.sort((x, y) => x.join().localeCompare(y.join()))
}

/** Import cycles between files. */
const importCycles = (tree: Tree) => cyclesOf(importEdges(tree))

/**
 * Import cycles between folders (a folder imports another when one of its files does), leaving out
 * the imports of `index.ts` files: a barrel re-exports its subfolders, which is no layering debt.
 */
function folderCycles(tree: Tree): string[][] {
  const edges = new Map<string, string[]>()
  for (const [path, targets] of importEdges(tree)) {
    const from = dirname(path)
    const out = edges.get(from) ?? []
    edges.set(from, out)
    if (path.endsWith('/index.ts')) continue
    for (const t of targets) if (dirname(t) !== from && !out.includes(dirname(t))) out.push(dirname(t))
  }
  return cyclesOf(edges)
}

/** `file → specifier` for each production module that imports vitest or a `testing/` folder. */
function testCodeInProduction(tree: Tree): string[] {
  const out: string[] = []
  for (const [path, source] of tree) {
    if (!isProduction(path)) continue
    for (const spec of specifiers(source)) {
      const testing = spec.split('/').includes('testing')
      if (spec === 'vitest' || spec.startsWith('vitest/') || testing) out.push(`${path} → ${spec}`)
    }
  }
  return out
}

function oversized(tree: Tree): string[] {
  return [...tree]
    .map(([path, source]) => ({ path, lines: source.split('\n').length - (source.endsWith('\n') ? 1 : 0) }))
    .filter((f) => f.lines > LINES_MAX)
    .map((f) => `${f.path}: ${f.lines} lines`)
}

describe('the checks find what they look for (made-up trees)', () => {
  it('a cycle through three files, a type-only one, a self-import; not a chain or a folder index', () => {
    const tree: Tree = new Map([
      ['p/a.ts', "import { b } from './b.js'"],
      ['p/b.ts', "import { c } from './sub/c.js'"],
      ['p/sub/c.ts', "export { a } from '../a.js'"],
      ['p/t1.ts', "import type { T2 } from './t2.js'"],
      ['p/t2.ts', "import {\n  type T1,\n} from './t1.js'"],
      ['p/self.ts', "const m = await import('./self.js')"],
      ['p/x.ts', "import { y } from './y/index.js'\nimport 'node:fs'"],
      ['p/y/index.ts', "export * from '../z.js'"],
      ['p/z.ts', "import { readFile } from 'node:fs/promises'"],
    ])
    expect(importCycles(tree)).toEqual([
      ['p/a.ts', 'p/b.ts', 'p/sub/c.ts'],
      ['p/self.ts'],
      ['p/t1.ts', 'p/t2.ts'],
    ])
  })

  it('a cycle between folders, through files that are not barrels', () => {
    const tree = new Map<string, string>([
      ['p/index.ts', "export * from './objects/index.js'"],
      ['p/status.ts', "import { FieldError } from './objects/errors.js'"],
      ['p/objects/index.ts', "export * from '../status.js'"],
      ['p/objects/errors.ts', 'export type FieldError = string'],
      ['p/objects/decode.ts', "import { badRequest } from '../status.js'"],
      ['p/selectors/label.ts', "import { FieldError } from '../objects/errors.js'"],
    ])
    expect(folderCycles(tree)).toEqual([['p', 'p/objects']])
    tree.delete('p/objects/decode.ts')
    expect(folderCycles(tree)).toEqual([])
  })

  it('vitest and testing/ imports in production modules, not in tests or testing/ folders', () => {
    const tree: Tree = new Map([
      ['p/prod.ts', "import { expect } from 'vitest'"],
      ['p/prod2.ts', "import { FakeServer } from './client/testing/fake.js'"],
      ['p/prod3.ts', "import { StoreProcessCluster } from '@hakube/store/testing'"],
      ['p/prod.test.ts', "import { it } from 'vitest'\nimport { h } from './testing/h.js'"],
      ['p/testing/h.ts', "import { expect } from 'vitest'"],
      ['p/fine.ts', "import { z } from 'zod'\nimport { x } from './testing-words.js'"],
    ])
    expect(testCodeInProduction(tree)).toEqual([
      'p/prod.ts → vitest',
      'p/prod2.ts → ./client/testing/fake.js',
      'p/prod3.ts → @hakube/store/testing',
    ])
  })

  it('a file over 700 lines', () => {
    const tree: Tree = new Map([
      ['p/big.ts', 'x\n'.repeat(701)],
      ['p/ok.ts', 'x\n'.repeat(700)],
    ])
    expect(oversized(tree)).toEqual(['p/big.ts: 701 lines'])
  })
})

describe(`${ROOTS.join(' and ')}`, () => {
  const tree = readTree(ROOTS)

  it('are read (the checks below see the real files)', () => {
    expect(tree.size).toBeGreaterThan(100)
    expect(tree.has('packages/api-server/src/rest/apply.ts')).toBe(true)
  })

  it('have no import cycle between files', () => {
    expect(importCycles(tree)).toEqual([])
  })

  it('keep vitest and testing/ folders out of production modules', () => {
    expect(testCodeInProduction(tree)).toEqual([])
  })

  it(`have no file over ${LINES_MAX} lines`, () => {
    expect(oversized(tree)).toEqual([])
  })

  it('packages/api has no import cycle between folders (validation ← status ← selectors ← objects)', () => {
    const api = new Map([...tree].filter(([p]) => p.startsWith('packages/api/src/')))
    expect(folderCycles(api)).toEqual([])
  })

  it('have no source file under a src/integration/ folder (the contract suite lives in test/)', () => {
    expect([...tree.keys()].filter((p) => p.includes('/src/integration/'))).toEqual([])
  })
})
