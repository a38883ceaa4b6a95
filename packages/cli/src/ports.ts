/**
 * Before `hakube up` starts anything: every address and port the hosts will listen on must be free,
 * so the user gets one clear error instead of a component crash-looping in a log file.
 */
import net from 'node:net'
import {
  APISERVER_PORT,
  type ClusterPlan,
  CONTROLLER_MANAGER_PORT,
  NODE_SIM_PORT,
  SCHEDULER_PORT,
  STORE_CLIENT_PORT,
  STORE_PEER_PORT,
} from './topology.js'

export interface Listen {
  readonly host: string
  readonly address: string
  readonly port: number
  readonly what: string
}

/** Every address:port the plan's components listen on. */
export function listensOf(plan: ClusterPlan): Listen[] {
  const out: Listen[] = []
  for (const h of plan.hosts) {
    const at = (port: number, what: string): void => {
      out.push({ host: h.name, address: h.address, port, what })
    }
    if (h.role === 'stacked-master' || h.role === 'etcd') {
      at(STORE_CLIENT_PORT, 'store client')
      at(STORE_PEER_PORT, 'store peer')
    }
    if (h.role === 'stacked-master' || h.role === 'master') {
      at(APISERVER_PORT, 'api-server')
      at(SCHEDULER_PORT, 'scheduler')
      at(CONTROLLER_MANAGER_PORT, 'controller-manager')
    }
    if (h.role === 'worker') at(NODE_SIM_PORT, 'node simulator')
    if (h.role === 'lb') {
      at(plan.lb.port, 'balancer')
      at(plan.lb.statsPort, 'balancer stats')
    }
  }
  return out
}

/** Undefined when `address:port` can be bound now; else why not. */
export function checkListen(address: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', (err: NodeJS.ErrnoException) => {
      resolve(
        err.code === 'EADDRINUSE'
          ? 'in use'
          : err.code === 'EADDRNOTAVAIL'
            ? 'address not available on this machine'
            : `${err.code ?? err.message}`,
      )
    })
    server.listen({ host: address, port, exclusive: true }, () => {
      server.close(() => resolve(undefined))
    })
  })
}

/** The error lines for every listen that is not free. */
export async function busyListens(plan: ClusterPlan): Promise<string[]> {
  const listens = listensOf(plan)
  const results = await Promise.all(listens.map((l) => checkListen(l.address, l.port)))
  return listens.flatMap((l, i) =>
    results[i] === undefined ? [] : [`${l.address}:${l.port} (${l.host} ${l.what}): ${results[i]}`],
  )
}
