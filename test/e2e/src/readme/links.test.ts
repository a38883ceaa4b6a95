import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { extractBlocks } from './extract.js'

// Goal: the project's documents point only at what a clone of the repository has, and the README's
// Layout lists every package and every path it names exists. Method: read the markdown files, resolve
// every relative link (and its #anchor against the target's headings), every backticked repository
// path, and the first column of the Layout block, against the checkout.

const REPO = fileURLToPath(new URL('../../../../', import.meta.url))

function markdownFiles(): string[] {
  const docs = (dir: string): string[] =>
    readdirSync(join(REPO, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? docs(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : [],
    )
  return ['README.md', 'deploy/README.md', 'test/README.md', ...docs('docs')]
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-')
}

function anchorsIn(file: string): Set<string> {
  const text = readFileSync(file, 'utf8')
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1] ?? '')))
}

/** Text outside fenced blocks (a fence's content is commands or diagrams, not references). */
function prose(text: string): string {
  return text.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '')
}

describe('the documents link only to files in the repository', () => {
  for (const file of markdownFiles()) {
    it(file, () => {
      const text = readFileSync(join(REPO, file), 'utf8')
      const broken: string[] = []
      for (const m of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1] ?? ''
        if (/^https?:\/\//.test(target)) continue
        const [path = '', anchor] = target.split('#')
        const resolved = path === '' ? join(REPO, file) : join(REPO, dirname(file), path)
        if (!existsSync(resolved)) broken.push(`${target}: no such file`)
        else if (anchor !== undefined && !anchorsIn(resolved).has(anchor))
          broken.push(`${target}: no heading with that anchor in ${relative(REPO, resolved)}`)
      }
      // Backticked paths inside the repository (`packages/raft/testdata/`, `.ci/run`), where the text
      // describes what exists (deploy/ and test/ also name the files they will hold).
      if (file === 'README.md' || file.startsWith('docs/'))
        for (const m of prose(text).matchAll(/`((?:packages|test|docs|deploy|scripts|\.ci)\/[\w./-]*)`/g)) {
          const path = m[1] ?? ''
          if (!existsSync(join(REPO, path))) broken.push(`\`${path}\`: no such path`)
        }
      expect(broken).toEqual([])
      expect(text, 'a path outside the repository').not.toMatch(/\.\.\/shared\b/)
    })
  }
})

describe("the README's Layout", () => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8')
  const at = readme.indexOf('## Layout')
  const layout = extractBlocks(readme).find(
    (b) => b.kind === 'text' && b.line > readme.slice(0, at).split('\n').length,
  )
  const entries = (layout?.body ?? '')
    .split('\n')
    .map((l) => l.split(/\s{2,}/)[0] ?? '')
    .filter((first) => first !== '')
    .flatMap((first) => first.split(/,\s*/))

  it('names only paths that exist', () => {
    expect(entries.length).toBeGreaterThan(0)
    expect(entries.filter((p) => !existsSync(join(REPO, p)))).toEqual([])
  })

  it('lists every package and every test workspace', () => {
    const workspaces = ['packages', 'test'].flatMap((top) =>
      readdirSync(join(REPO, top), { withFileTypes: true })
        .filter((e) => e.isDirectory() && existsSync(join(REPO, top, e.name, 'package.json')))
        .map((e) => `${top}/${e.name}/`),
    )
    expect(workspaces.length).toBeGreaterThan(0)
    expect(workspaces.filter((w) => !entries.some((e) => e === w || e.startsWith(w)))).toEqual([])
  })
})
