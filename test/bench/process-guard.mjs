// Child processes and clusters a benchmark started, killed on every way out of the benchmark process:
// normal exit, SIGINT/SIGTERM/SIGHUP and an uncaught exception. Shared by the store and api-server benches.

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
