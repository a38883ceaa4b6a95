// Child processes and clusters a benchmark started, killed on every way out of the benchmark process:
// normal exit, SIGINT/SIGTERM/SIGHUP and an uncaught exception. Shared by the store and api-server benches.
// Also the child-process and HTTP helpers the scheduler and controller-manager benches share.
import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'

/** Every child process started and not yet seen exit. */
export const liveProcs = new Set()
/** Every cluster (anything with destroy()) started and not yet destroyed. */
export const liveClusters = new Set()

let installed = false
function killAll() {
  for (const p of liveProcs) {
    try {
      p.kill('SIGKILL')
    } catch {}
  }
  for (const c of liveClusters) {
    try {
      c.destroy()
    } catch {}
  }
  liveClusters.clear()
}

export function installExitHandlers() {
  if (installed) return
  installed = true
  process.on('exit', killAll)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      killAll()
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1))
    })
  }
  process.once('uncaughtException', (err) => {
    killAll()
    console.error(err)
    process.exit(1)
  })
}

/**
 * Starts `node ARGS` as a benchmark child (killed on any way out), keeping the tail of its output;
 * `onLine` (optional) sees each stderr line (the pino log).
 */
export function startProc(name, args, onLine) {
  const out = []
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  liveProcs.add(proc)
  const keep = (b) => {
    out.push(b.toString())
    if (out.length > 400) out.shift()
  }
  proc.stdout.on('data', keep)
  let partial = ''
  proc.stderr.on('data', (b) => {
    keep(b)
    if (onLine === undefined) return
    const parts = (partial + b.toString()).split('\n')
    partial = parts.pop() ?? ''
    for (const line of parts) onLine(line)
  })
  const exited = new Promise((resolve) =>
    proc.once('exit', (code, signal) => {
      liveProcs.delete(proc)
      resolve(signal ?? code)
    }),
  )
  return { name, proc, out, exited, tail: () => `--- ${name} ---\n${out.join('').slice(-3000)}` }
}

/** SIGKILLs a child started by startProc and waits (at most 5 s) for its exit. */
export async function stopProc(p) {
  if (p === undefined) return
  if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL')
  await Promise.race([p.exited, sleep(5000)])
}

/** One request on an undici Pool; the body text, or an error when `expect` is given and not met. */
export async function call(pool, method, path, body, expect) {
  const r = await pool.request({
    method,
    path,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await r.body.text()
  if (expect !== undefined && r.statusCode !== expect)
    throw new Error(`${method} ${path}: HTTP ${r.statusCode} (expected ${expect}): ${text.slice(0, 300)}`)
  return text
}
