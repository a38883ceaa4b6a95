/**
 * The system namespaces, as kube-apiserver's SystemNamespaces controller keeps them: `default`,
 * `kube-system`, `kube-public` and `kube-node-lease` exist on every cluster, so `kubectl run`, the
 * leader-election locks in kube-system and the node leases have somewhere to go. Each api-server
 * creates the missing ones at start (retrying each second while the store does not answer) and checks
 * again every minute, as kube's controller does; AlreadyExists is success, since another api-server of
 * the same cluster may have been first. The objects go through the ordinary create path, so they carry
 * uid, creationTimestamp and the kubernetes finalizer like any namespace a client creates.
 */
import { isStatusError, lookupResource } from '@hakube/api'
import type { Storage } from '@hakube/storage'
import { contextFor, createObject } from './rest/handlers.js'

export const SYSTEM_NAMESPACES: readonly string[] = [
  'default',
  'kube-system',
  'kube-public',
  'kube-node-lease',
]

export interface SystemNamespacesOptions {
  /** How often existing namespaces are checked again (kube: 1 minute). */
  intervalMs?: number
  /** The delay before retrying after a failure (the store did not answer). */
  retryMs?: number
  /** Told about failures that will be retried. */
  onError?: (err: unknown) => void
}

export interface SystemNamespacesController {
  /** Resolves once every system namespace has been seen to exist. */
  readonly ready: Promise<void>
  stop(): void
}

/** Creates the system namespaces that are missing, now and then every `intervalMs`. */
export function startSystemNamespaces(
  storage: Storage,
  options: SystemNamespacesOptions = {},
): SystemNamespacesController {
  const resource = lookupResource('', 'v1', 'namespaces')
  if (resource === undefined) throw new Error('namespaces are missing from the registry')
  const ctx = contextFor(storage, resource, '')
  const intervalMs = options.intervalMs ?? 60_000
  const retryMs = options.retryMs ?? 1_000
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let markReady: () => void = () => {}
  const ready = new Promise<void>((resolve) => {
    markReady = resolve
  })

  const ensure = async (name: string): Promise<void> => {
    try {
      await createObject(ctx, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, {})
    } catch (err) {
      if (isStatusError(err) && err.status.reason === 'AlreadyExists') return
      throw err
    }
  }
  const round = async (): Promise<void> => {
    let delay = intervalMs
    try {
      for (const name of SYSTEM_NAMESPACES) await ensure(name)
      markReady()
    } catch (err) {
      options.onError?.(err)
      delay = retryMs
    }
    if (!stopped) timer = setTimeout(() => void round(), delay)
  }
  void round()
  return {
    ready,
    stop() {
      stopped = true
      clearTimeout(timer)
    },
  }
}
