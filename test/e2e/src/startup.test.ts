/**
 * Goal: each binary starts the way a user runs it: `--version` and `--help` answer without loading the
 * server half (no dist/chunks/serve-*, no fastify, pino, grpc-js, prom-client or undici, a few files in
 * all: the server is imported only to serve), and each binary serves after a plain start: hakube-store
 * answers /health (a one-member cluster), hakube-apiserver answers /readyz with memory storage and with
 * etcd3 storage to that store (on memory storage without having loaded the etcd3 backend's chunk, nor
 * the OpenAPI generator's before /openapi/v2 is asked), hakube-lb accepts on its port and answers /stats.
 * Method: the built dist/main.js as real processes; a module hook (--import, and --require for CommonJS)
 * records every file each process loads. Times are printed, not asserted (`npm run bench -- --only
 * startup` measures them). Hosts: 127.0.1.64-67.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, afterEach, describe, expect, it } from 'vitest'

const main = (pkg: string) => fileURLToPath(new URL(`../../../packages/${pkg}/dist/main.js`, import.meta.url))
const BINARIES = [
  { name: 'hakube-store', main: main('store'), version: /^hakube-store version \d+\.\d+\.\d+/ },
  { name: 'hakube-apiserver', main: main('api-server'), version: /^Kubernetes v1\.\d+\.\d+-hakube/ },
  { name: 'hakube-lb', main: main('load-balancer'), version: /^hakube-lb v\d+\.\d+\.\d+/ },
] as const

const root = mkdtempSync(join(tmpdir(), 'hakube-startup-e2e-'))
const children = new Set<ChildProcess>()

// The module recorder: an ES module hook appends every file URL it loads, a CommonJS preload every
// file in require's cache at exit (CommonJS files a CommonJS package requires never reach the hook).
writeFileSync(
  join(root, 'hooks.mjs'),
  `import { appendFileSync } from 'node:fs'
let out
export function initialize(data) { out = data.out }
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(out, url + '\\n')
  return next(url, context)
}
`,
)
writeFileSync(
  join(root, 'register.mjs'),
  `import { register } from 'node:module'
register(${JSON.stringify(pathToFileURL(join(root, 'hooks.mjs')).href)}, import.meta.url, { data: { out: process.env.HAKUBE_MODULES_OUT } })
`,
)
writeFileSync(
  join(root, 'cjs.cjs'),
  `const { appendFileSync } = require('node:fs')
const { pathToFileURL } = require('node:url')
process.on('exit', () => {
  const files = Object.keys(require.cache).filter((f) => !f.startsWith(${JSON.stringify(root)}))
  appendFileSync(process.env.HAKUBE_MODULES_OUT, files.map((f) => pathToFileURL(f).href + '\\n').join(''))
})
`,
)

interface Run {
  code: number
  stdout: string
  stderr: string
  /** Every file the process loaded (file: URLs, once each), the recorder's own left out. */
  files: string[]
}

let recordings = 0
/** A fresh file for a process's recorder, the node flags that install it, and a reader of it. */
function recorder(): { env: NodeJS.ProcessEnv; flags: string[]; files: () => string[] } {
  const out = join(root, `modules-${++recordings}.txt`)
  writeFileSync(out, '')
  const ownPrefix = pathToFileURL(root).href
  return {
    env: { ...process.env, HAKUBE_MODULES_OUT: out },
    flags: ['--require', join(root, 'cjs.cjs'), '--import', join(root, 'register.mjs')],
    files: () => [
      ...new Set(
        readFileSync(out, 'utf8')
          .split('\n')
          .filter((u) => u !== '' && !u.startsWith(ownPrefix)),
      ),
    ],
  }
}

function runRecorded(path: string, args: readonly string[]): Promise<Run> {
  const rec = recorder()
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...rec.flags, path, ...args],
      { env: rec.env, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
        resolve({ code, stdout, stderr, files: rec.files() })
      },
    )
  })
}

/** What a binary must not load to print its version or help: its server half and the server libraries. */
const SERVER_MODULE =
  /\/dist\/(chunks\/serve-[^/]*|serve)\.js$|\/node_modules\/(fastify|pino|@grpc\/grpc-js|@grpc\/proto-loader|prom-client|undici|protobufjs)\//

afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  children.clear()
})

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  rmSync(root, { recursive: true, force: true })
})

describe.each(BINARIES)('$name', (bin) => {
  it('is built', () => {
    expect(existsSync(bin.main), `${bin.main}: build first (npm run build)`).toBe(true)
  })

  it.each([['--version'], ['--help']])('%s answers without loading the server', async (flag) => {
    const r = await runRecorded(bin.main, [flag])
    expect(r.code, r.stderr).toBe(0)
    if (flag === '--version') expect(r.stdout).toMatch(bin.version)
    else expect(r.stdout.length).toBeGreaterThan(200)
    console.log(`${bin.name} ${flag}: ${r.files.length} files loaded`)
    expect(r.files.filter((f) => SERVER_MODULE.test(f))).toEqual([])
    // Unbundled (tsc's dist alone) the flags take a few dozen files; before the split, ~700 loaded.
    expect(r.files.length).toBeLessThan(60)
  })

  it('refuses a bad flag with exit 2 without loading the server', async () => {
    const r = await runRecorded(bin.main, ['--no-such-flag'])
    expect(r.code).toBe(2)
    expect(r.files.some((f) => f.endsWith('/dist/main.js'))).toBe(true)
    expect(r.files.filter((f) => SERVER_MODULE.test(f))).toEqual([])
  })
})

/** One GET on a fresh connection: status and body, or undefined when it fails. */
function get(url: string): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 2000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(undefined))
  })
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port })
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

/**
 * Starts `main args` (with the module recorder) and polls `ready` until true. Checks that the recorder
 * saw the server half load (the control for the `--version` tests: a recorder that saw nothing would
 * pass them). Resolves with the ms from spawn to ready and the files loaded by then.
 */
async function serve(
  name: string,
  path: string,
  args: readonly string[],
  ready: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<{ ms: number; files: string[] }> {
  const rec = recorder()
  const started = performance.now()
  const child = spawn(process.execPath, [...rec.flags, path, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: rec.env,
  })
  children.add(child)
  const output: string[] = []
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()))
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()))
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(
        `${name} exited (${child.exitCode ?? child.signalCode}) before serving:\n${output.join('')}`,
      )
    if (await ready()) break
    if (performance.now() - started > timeoutMs)
      throw new Error(`${name} did not serve within ${timeoutMs} ms:\n${output.join('')}`)
    await new Promise((r) => setTimeout(r, 5))
  }
  const ms = Math.round(performance.now() - started)
  console.log(`${name} served ${ms} ms after spawn (the module recorder slows it)`)
  const files = rec.files()
  expect(files.filter((f) => SERVER_MODULE.test(f)).length, name).toBeGreaterThan(0)
  return { ms, files }
}

/** The api-server's chunks loaded only on demand: the etcd3 backend (with gRPC) and the OpenAPI generator. */
const ETCD3_CHUNK = /\/dist\/chunks\/etcd3-[^/]*\.js$/
const OPENAPI_CHUNK = /\/dist\/chunks\/documents-[^/]*\.js$/

const STORE = '127.0.1.64'
const storeArgs = [
  '--name=s1',
  `--data-dir=${join(root, 'store')}`,
  `--listen-peer-urls=http://${STORE}:2380`,
  `--initial-advertise-peer-urls=http://${STORE}:2380`,
  `--listen-client-urls=http://${STORE}:2379`,
  `--advertise-client-urls=http://${STORE}:2379`,
  `--initial-cluster=s1=http://${STORE}:2380`,
]
const healthy = async () => {
  const r = await get(`http://${STORE}:2379/health`)
  return r?.status === 200 && /"health":\s*"true"/.test(r.body)
}
const readyz = (host: string) => async () => (await get(`http://${host}:6443/readyz`))?.status === 200

describe('each binary serves after a plain start', () => {
  it('hakube-store: /health answers true on the client URL', async () => {
    const { ms } = await serve('hakube-store', main('store'), storeArgs, healthy)
    expect(ms).toBeGreaterThan(0)
  })

  it('hakube-apiserver with etcd3 storage to a running hakube-store: /readyz answers 200', async () => {
    await serve('hakube-store (backing)', main('store'), storeArgs, healthy)
    const host = '127.0.1.65'
    const args = [`--bind-address=${host}`, '--secure-port=6443', `--etcd-servers=http://${STORE}:2379`]
    const { ms, files } = await serve('hakube-apiserver (etcd3)', main('api-server'), args, readyz(host))
    expect(ms).toBeGreaterThan(0)
    // The control for the memory test below: with etcd3 storage the backend's chunk is loaded.
    expect(files.filter((f) => ETCD3_CHUNK.test(f))).toHaveLength(1)
  })

  it('hakube-apiserver with memory storage: /readyz answers 200', async () => {
    const host = '127.0.1.66'
    const args = [`--bind-address=${host}`, '--secure-port=6443', '--storage-backend=memory']
    const { ms, files } = await serve('hakube-apiserver (memory)', main('api-server'), args, readyz(host))
    expect(ms).toBeGreaterThan(0)
    // Neither the etcd3 backend (gRPC, the etcd protos) nor the OpenAPI generator before a client asks.
    expect(files.filter((f) => ETCD3_CHUNK.test(f) || OPENAPI_CHUNK.test(f))).toEqual([])
    const v2 = await get(`http://${host}:6443/openapi/v2`)
    expect(v2?.status).toBe(200)
    expect(JSON.parse(v2?.body ?? '{}').swagger).toBe('2.0')
  })

  it('hakube-lb: its port accepts and /stats answers 200', async () => {
    const host = '127.0.1.67'
    const args = [
      `--bind-address=${host}`,
      '--port=6443',
      '--stats-port=8404',
      '--backends=http://127.0.1.66:6443',
    ]
    const { ms } = await serve(
      'hakube-lb',
      main('load-balancer'),
      args,
      async () => (await accepts(host, 6443)) && (await get(`http://${host}:8404/stats`))?.status === 200,
    )
    expect(ms).toBeGreaterThan(0)
  })
})
