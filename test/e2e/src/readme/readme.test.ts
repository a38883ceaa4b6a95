import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { requireTool } from '@hakube/store/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { consoleSteps, extractBlocks, type ReadmeBlock } from './extract.js'
import { normalizeOutput } from './normalize.js'
import { ReadmeShell } from './shell.js'

// Goal: every command in README.md works as written and prints what the README says it prints, so the
// README cannot drift from the code. Method: the README's fenced blocks are extracted (extract.ts) and
// run in order in one bash session (shell.ts), in a temporary working directory that looks like the
// repository's root (its packages, node_modules, package.json and docs linked in), against real
// processes on the 127.0.1.x addresses the README gives, with the real etcdctl and kubectl. `sh` blocks
// must exit 0; each command of a `console` block must exit 0 and print the transcript's lines, compared
// after normalize.ts hides what legitimately varies between runs. A block that is not run says why in
// the README (`<!-- readme-test: skip (reason) -->`); the first test lists those and fails on a block
// it does not know how to treat. Everything the README starts is stopped at the end, and the test fails
// if a process is left behind.

const REPO = fileURLToPath(new URL('../../../../', import.meta.url))
const README = join(REPO, 'README.md')
const HAKUBE = join(REPO, 'packages/cli/bin/hakube.js')
/** What a reader's checkout provides to the README's commands (relative paths resolve against it). */
const CHECKOUT_ENTRIES = ['packages', 'node_modules', 'package.json', 'docs']
/** A step waits for servers at most this long (the README's own wait loops are bounded by it). */
const STEP_TIMEOUT_MS = 60_000

/** Every `127.0.1.x:port` the README's runnable blocks name literally. */
function readmeAddresses(run: readonly ReadmeBlock[]): string[] {
  const all = run.flatMap((b) => [...b.body.matchAll(/\b127\.0\.1\.\d{1,3}:\d{2,5}\b/g)].map((m) => m[0]))
  return [...new Set(all)].sort()
}

/** The addresses among `addresses` where something accepts a TCP connection. */
async function listening(addresses: readonly string[]): Promise<string[]> {
  const probes = addresses.map(
    (a) =>
      new Promise<string | undefined>((resolve) => {
        const [host, port] = a.split(':')
        const s = connect({ host, port: Number(port) })
        s.setTimeout(1000)
        s.once('connect', () => {
          s.destroy()
          resolve(a)
        })
        s.once('timeout', () => {
          s.destroy()
          resolve(undefined)
        })
        s.once('error', () => resolve(undefined))
      }),
  )
  return (await Promise.all(probes)).filter((a): a is string => a !== undefined)
}

const blocks = extractBlocks(readFileSync(README, 'utf8'))
const runnable = blocks.filter((b) => b.kind !== 'text' && b.kind !== undefined && b.skipReason === undefined)
const where = (b: ReadmeBlock) => `README.md:${b.line} (\`\`\`${b.info})`

describe('README.md: which blocks run', () => {
  it('runs every sh and console block, or the README says why not', () => {
    const skipped = blocks.filter((b) => b.skipReason !== undefined)
    const text = blocks.filter((b) => b.kind === 'text')
    console.log(
      [
        `README.md: ${blocks.length} code blocks, ${runnable.length} run`,
        ...skipped.map((b) => `  skipped ${where(b)}: ${b.skipReason}`),
        ...text.map((b) => `  not commands ${where(b)}: ${b.body.split('\n')[0]?.trim().slice(0, 60)} ...`),
      ].join('\n'),
    )
    const unknown = blocks.filter((b) => b.kind === undefined).map(where)
    expect(unknown, 'tag each block sh, console or text (or mark a sh/console block skip)').toEqual([])
    const markedText = text.filter((b) => b.skipReason !== undefined).map(where)
    expect(markedText, 'a text block is never run; a skip marker there is a mistake').toEqual([])
    expect(runnable.length).toBeGreaterThan(0)
  })
})

describe('README.md: its commands, in order, against real processes on 127.0.1.x', () => {
  let root: string
  let shell: ReadmeShell
  /** Set when a block failed: the blocks after it depend on it and are reported as not run. */
  let failedAt: string | undefined

  beforeAll(async () => {
    requireTool('etcdctl')
    requireTool('kubectl')
    // Another process on one of the README's addresses would answer its commands in place of the
    // servers the README starts; refuse to run rather than compare against a stranger.
    const taken = await listening(readmeAddresses(runnable))
    if (taken.length > 0)
      throw new Error(`already in use, so the README cannot run here: ${taken.join(', ')}`)
    for (const main of ['packages/store/dist/main.js', 'packages/api-server/dist/main.js'])
      if (!existsSync(join(REPO, main))) throw new Error(`${main} is missing: build first (npm run build)`)
    root = mkdtempSync(join(tmpdir(), 'hakube-readme-'))
    const work = join(root, 'checkout')
    const steps = join(root, 'steps')
    mkdirSync(work)
    mkdirSync(steps)
    for (const e of CHECKOUT_ENTRIES) symlinkSync(join(REPO, e), join(work, e))
    shell = new ReadmeShell(work, steps, {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      // A home of its own: kubectl starts with no kubeconfig and an empty cache (the dispatcher caches
      // the server's version there), as on a fresh machine.
      HOME: root,
      LANG: 'C.UTF-8',
      // With a fresh home, npx would print npm's notice about a newer npm (a registry fact, not ours).
      npm_config_update_notifier: 'false',
    })
  })

  afterAll(async () => {
    // `hakube up` leaves its hosts running detached from the shell; after a failed block, stop the
    // cluster the README started (a passing README ends with `hakube down` itself).
    if (root !== undefined && existsSync(join(root, 'checkout', '.hakube', 'cluster.json')))
      execFileSync(
        process.execPath,
        [HAKUBE, 'down', '--purge', '--dir', join(root, 'checkout', '.hakube')],
        {
          stdio: 'pipe',
          timeout: 60_000,
        },
      )
    const left = (await shell?.close()) ?? []
    if (root !== undefined) rmSync(root, { recursive: true, force: true })
    expect(left, 'processes the README started are still running').toEqual([])
  })

  for (const block of runnable) {
    it(`${where(block)}`, { timeout: 300_000 }, async () => {
      if (failedAt !== undefined) throw new Error(`not run: the earlier block ${failedAt} failed`)
      failedAt = where(block)
      if (block.kind === 'sh') {
        const r = await shell.run(block.body, { errexit: true, timeoutMs: STEP_TIMEOUT_MS })
        expect(r.code, r.output).toBe(0)
      } else {
        for (const step of consoleSteps(block)) {
          const r = await shell.run(step.command, { errexit: false, timeoutMs: STEP_TIMEOUT_MS })
          const what = `README.md:${step.line}: $ ${step.command}`
          expect(r.code, `${what}\nexited ${r.code}:\n${r.output}`).toBe(0)
          expect(normalizeOutput(r.output), `${what}\nprinted:\n${r.output}`).toBe(
            normalizeOutput(step.expected.join('\n')),
          )
        }
      }
      failedAt = undefined
    })
  }

  it('leaves nothing running after its last block', async () => {
    if (failedAt !== undefined) throw new Error(`not run: the earlier block ${failedAt} failed`)
    // The README ends by stopping what it started; the session's own clean-up comes only after this.
    expect(shell.running(), "still running after the README's last block").toEqual([])
    // What `hakube up` started runs detached from the shell: nothing may listen on the README's
    // addresses (nor on the balancer's default 127.0.0.1:6443) once it is done.
    expect(await listening([...readmeAddresses(runnable), '127.0.0.1:6443'])).toEqual([])
  })
})
