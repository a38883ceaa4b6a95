/**
 * The `hakube` command. Each subcommand's module is imported only when it runs, so that `hakube
 * status` or `hakube kill` answers at once (the supervisor, `hakube node`, loads its logger lazily too).
 * A user error prints one line `hakube: ...` and exits 1; bad flags too.
 */
import type { ComponentAction } from './supervisor.js'

export const USAGE = `hakube runs a highly available Kubernetes-style control plane on this machine, one emulated host per
loopback address, and injects faults into it.

Usage:
  hakube up [--topology stacked|external-etcd] [--masters 3] [--etcd 3] [--store hakube|etcd]
            [--workers 3] [--nodes-per-worker 1] [--dir .hakube]
  hakube status [-o json] [--watch]
  hakube down [--purge]
  hakube kill|stop|start|pause|resume HOST[/COMPONENT]...
  hakube partition HOST... [--from HOST,...]
  hakube heal
  hakube fail-node|recover-node NODE...
  hakube node --role stacked-master|master|etcd|lb|worker ...   (one host's supervisor; hakube up runs these)

Every command takes --dir (default .hakube) and -h for its flags. Hosts are master-N, etcd-N, lb and
worker-N; components are store, apiserver, scheduler, controller-manager, lb and node-sim.

Faults:
  kill HOST             SIGKILL to the host's supervisor and components at once: the host is dead and
                        stays down until \`hakube start HOST\`.
  kill HOST/COMPONENT   SIGKILL to that process; its supervisor restarts it with backoff (1 s, 2 s, 4 s ...
                        up to 30 s; back to 1 s after a 10 s run), counting restarts, as a kubelet does.
  stop HOST[/COMPONENT] SIGTERM (SIGKILL after the grace); a stopped host or component stays stopped
                        until \`hakube start\` (start HOST also starts its stopped or paused components).
  pause/resume          SIGSTOP/SIGCONT of the host's components (or one); paused is not restarted.
  partition/heal        iptables DROP between the hosts' addresses (root or CAP_NET_ADMIN).
  fail-node NODE        the simulated node stops heartbeating (its Lease is no longer renewed);
                        \`hakube recover-node NODE\` resumes it.
Every fault shows in \`hakube status\`.
`

export const VERSION = '0.1.0'

export async function main(
  argv: readonly string[],
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
    case undefined:
    case 'help':
    case '-h':
    case '--help':
      out.write(USAGE)
      return command === undefined ? 2 : 0
    case 'version':
    case '--version':
      out.write(`hakube ${VERSION}\n`)
      return 0
    case 'node':
      return (await import('./node-command.js')).runNode(rest)
    case 'up':
      return (await import('./up.js')).runUp(rest, out)
    case 'down':
      return (await import('./commands.js')).runDown(rest, out)
    case 'status':
      return (await import('./commands.js')).runStatus(rest, out)
    case 'kill':
    case 'stop':
    case 'start':
    case 'pause':
    case 'resume':
      return (await import('./commands.js')).runFault(command as ComponentAction, rest, out)
    case 'partition':
      return (await import('./partition.js')).runPartition(rest, out)
    case 'heal':
      return (await import('./partition.js')).runHeal(rest, out)
    case 'fail-node':
      return (await import('./node-faults.js')).runNodeFault('fail', rest, out)
    case 'recover-node':
      return (await import('./node-faults.js')).runNodeFault('recover', rest, out)
    default:
      process.stderr.write(`hakube: unknown command ${JSON.stringify(command)}\n\n${USAGE}`)
      return 2
  }
}

// `hakube status --watch | head`: the reader left; that is the end, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0)
  throw err
})
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
    // The supervisor may hold timers of components it no longer runs; it is done.
    if (process.argv[2] === 'node') process.exit(code)
  },
  async (err: unknown) => {
    const { UserError } = await import('./cluster-state.js')
    if (err instanceof UserError) process.stderr.write(`hakube: ${err.message}\n`)
    else process.stderr.write(`hakube: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exitCode = 1
  },
)
