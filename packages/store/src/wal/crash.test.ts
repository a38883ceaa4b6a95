/**
 * Goal: no acknowledged save is ever lost to a real crash. Method: a child Node process appends entries
 * with mustSync and prints each index after save() resolves; the parent SIGKILLs it at a seeded random
 * moment (mid-write, mid-fsync, mid-rollover, mid-snapshot: wherever it lands), reopens the WAL and
 * checks that every acknowledged index is there with its exact payload, then lets the next child
 * recover from that state. `CRASH_SEED=<n>` replays a run's kill schedule.
 *
 * The child imports the WAL as plain JavaScript, transpiled here from src/wal with TypeScript's
 * `transpileModule` (no type check, no dist, no build order), so the test works on a clean clone.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { SeededRandom } from '@hakube/raft'
import ts from 'typescript'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Wal } from './wal.js'

const here = dirname(fileURLToPath(import.meta.url))
const childScript = join(here, 'testdata', 'crash-child.mjs')
const children = new Set<ChildProcess>()
let root = ''
let walModule = ''

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'hakube-wal-crash-'))
  const out = join(root, 'wal-js')
  await mkdir(out)
  for (const name of await readdir(here)) {
    if (!name.endsWith('.ts') || name.endsWith('.test.ts')) continue
    const source = await readFile(join(here, name), 'utf8')
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
      fileName: name,
    })
    await writeFile(join(out, name.replace(/\.ts$/, '.js')), outputText)
  }
  walModule = pathToFileURL(join(out, 'index.js')).href
})

afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  children.clear()
})

afterAll(async () => {
  if (root !== '') await rm(root, { recursive: true, force: true })
})

/** Uniform floats in [0, 1) from the project's seeded generator, so a failing kill schedule replays. */
function prng(seed: number): () => number {
  const r = new SeededRandom(seed)
  return () => r.float()
}

function payload(index: number): Uint8Array {
  const size = (index * 37) % 257
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = (index + i) & 0xff
  return out
}

interface Run {
  readonly acked: number[]
  readonly firstIndex: number
}

/** Starts a child, waits until it is ready, lets it run `runMs`, SIGKILLs it, returns what it acknowledged. */
async function runAndKill(dataDir: string, segmentSizeBytes: number, runMs: number): Promise<Run> {
  const child = spawn(process.execPath, [childScript, walModule, dataDir, String(segmentSizeBytes)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d
  })
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d
  })
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  const readyDeadline = Date.now() + 10_000
  while (!out.includes('\n') && child.exitCode === null && Date.now() < readyDeadline) {
    await new Promise((r) => setTimeout(r, 5))
  }
  if (!out.startsWith('ready ')) {
    child.kill('SIGKILL')
    await exited
    throw new Error(`child did not start: ${err || out}`)
  }
  await new Promise((r) => setTimeout(r, runMs))
  child.kill('SIGKILL')
  await exited
  children.delete(child)
  if (child.signalCode !== 'SIGKILL') throw new Error(`child exited by itself (${child.exitCode}): ${err}`)
  const lines = out.split('\n')
  lines.pop() // a line without its newline was cut by the kill: not an acknowledgement we can read
  const firstIndex = Number(lines.shift()!.slice('ready '.length))
  return { acked: lines.map(Number), firstIndex }
}

describe('crash safety under SIGKILL', () => {
  it('never loses an acknowledged save', async () => {
    const seed = Number(process.env['CRASH_SEED'] ?? Math.floor(Math.random() * 2 ** 31))
    const rand = prng(seed)
    const dataDir = join(root, `data-${seed}`)
    const segmentSizeBytes = 4096 + Math.floor(rand() * 8192)
    const cycles = 10
    const ackedEver: number[] = []
    let totalAcked = 0
    const warnings: string[] = []
    const noop = (): void => {}
    const logger = { debug: noop, info: noop, error: noop, warn: (_o: object, m: string) => warnings.push(m) }
    for (let cycle = 0; cycle < cycles; cycle++) {
      const runMs = 40 + Math.floor(rand() * 400)
      const where = `SEED=${seed} cycle=${cycle} runMs=${runMs} segmentSizeBytes=${segmentSizeBytes}`
      const run = await runAndKill(dataDir, segmentSizeBytes, runMs).catch((err: unknown) => {
        throw new Error(`${where}: ${String(err)}`)
      })
      totalAcked += run.acked.length
      ackedEver.push(...run.acked)

      const wal = await Wal.open(dataDir, { logger })
      const replay = await wal.replay()
      await wal.close()
      const snapIndex = replay.snapshot.metadata.index
      const lastIndex = snapIndex + replay.entries.length
      if (snapIndex > 0) {
        expect(new TextDecoder().decode(replay.snapshot.data), where).toBe(`snapshot@${snapIndex}`)
      }
      replay.entries.forEach((e, i) => {
        expect(e.index, where).toBe(snapIndex + 1 + i)
        expect(e.data, `${where} index=${e.index}`).toEqual(payload(e.index))
      })
      expect(replay.hardState.commit, where).toBeLessThanOrEqual(lastIndex)
      // The next child continues after whatever survived; nothing acknowledged may be missing.
      const maxAcked = ackedEver.reduce((m, i) => Math.max(m, i), 0)
      expect(
        lastIndex,
        `${where}: acknowledged ${maxAcked} but the log ends at ${lastIndex}`,
      ).toBeGreaterThanOrEqual(maxAcked)
      expect(run.firstIndex, where).toBeGreaterThanOrEqual(1)
    }
    expect(totalAcked, `SEED=${seed}: the children acknowledged nothing`).toBeGreaterThan(cycles * 5)
    const torn = warnings.filter((m) => m === 'truncating torn final WAL record').length
    console.log(
      `crash test SEED=${seed}: ${cycles} kills, ${totalAcked} acknowledged saves, ${torn} torn tails truncated`,
    )
  }, 30_000)
})
