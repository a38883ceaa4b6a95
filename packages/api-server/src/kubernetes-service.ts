/**
 * The `kubernetes` Service and its Endpoints, kept as kube-apiserver keeps them: its "kubernetes"
 * service controller (pkg/controlplane/controller/kubernetesservice) with the lease endpoint
 * reconciler (pkg/controlplane/reconcilers/lease.go, `--endpoint-reconciler-type=lease`, the default).
 *
 * Every round (kube: every 10 s) each api-server
 * 1. creates the Service `default/kubernetes` if it is missing (the range's first address, taken from
 *    the clusterIP allocator like any address a user asks for), or puts its ports and type back;
 * 2. with the lease reconciler: rewrites its master lease `/registry/masterleases/<advertise address>`
 *    with a TTL (kube: 15 s), then makes the Endpoints list exactly the unexpired leases' addresses
 *    (endpoint-reconcile.ts plans it). A killed api-server's lease expires and the next round of any
 *    survivor removes its address, so it is gone within TTL + one interval.
 * At shutdown (`stop`, kube's PreShutdownHook) it stops reconciling, deletes its own lease and
 * reconciles once more, so a SIGTERM'd api-server leaves the Endpoints at once; bounded by two
 * intervals, as kube's Stop waits.
 *
 * Writes go through the ordinary create/update path (uid, managedFields by `kube-apiserver`), as kube's
 * reconciler writes through its loopback client. Failures (store unreachable, a conflict with another
 * api-server's write) are reported and retried after `retryMs`.
 *
 * With `--endpoint-reconciler-type=none` the Service is still kept, but nothing writes its Endpoints.
 */
import { isStatusError, lookupResource, type ResourceInfo } from '@hakube/api'
import { isStorageError, type Storage } from '@hakube/storage'
import {
  desiredKubernetesService,
  endpointPorts,
  KUBERNETES_SERVICE_NAME,
  KUBERNETES_SERVICE_NAMESPACE,
  MASTER_LEASES_PREFIX,
  masterLeaseIps,
  masterLeaseKey,
  masterLeaseValue,
  planEndpoints,
  planKubernetesService,
} from './endpoint-reconcile.js'
import { KUBERNETES_VERSION } from './options.js'
import { contextFor, createObject, getObject, guaranteedUpdate, type RestContext } from './rest/handlers.js'
import type { Obj } from './rest/objects.js'
import type { ServiceIpAllocator } from './rest/service-ips.js'

export type EndpointReconcilerType = 'lease' | 'none'

/** kube's DefaultEndpointReconcilerTTL and EndpointInterval. */
export const DEFAULT_MASTER_LEASE_TTL_SECONDS = 15
export const DEFAULT_ENDPOINT_INTERVAL_MS = 10_000

export interface KubernetesServiceOptions {
  storage: Storage
  /** Gives the Service its clusterIP (the range's first address). */
  serviceIps: ServiceIpAllocator
  clusterIp: string
  /** --advertise-address: this api-server's address in the Endpoints. */
  publicIp: string
  /** The port the Endpoints name and the Service targets (--secure-port, or the one bound). */
  securePort: number
  endpointReconciler: EndpointReconcilerType
  /** The master lease TTL (kube: 15 s). */
  leaseTtlSeconds?: number
  /** How often a round runs (kube: 10 s). */
  intervalMs?: number
  /** The delay before retrying a failed round. Default 1 s. */
  retryMs?: number
  onError?: (err: unknown) => void
  /** The first round waits for this (the system namespaces: `default` must exist). */
  after?: Promise<void>
}

export interface KubernetesServiceController {
  /** Resolves after the first round that succeeded. */
  readonly ready: Promise<void>
  /** kube's Stop: no more rounds; with the lease reconciler, removes this api-server's address. */
  stop(): Promise<void>
}

/** What kube's loopback client is called; managedFields name its writes `kube-apiserver`. */
const USER_AGENT = `kube-apiserver/${KUBERNETES_VERSION.gitVersion}`

function resource(plural: string): ResourceInfo {
  const r = lookupResource('', 'v1', plural)
  if (r === undefined) throw new Error(`${plural} are missing from the registry`)
  return r
}

export function startKubernetesService(options: KubernetesServiceOptions): KubernetesServiceController {
  const { storage, publicIp, securePort } = options
  const ttl = options.leaseTtlSeconds ?? DEFAULT_MASTER_LEASE_TTL_SECONDS
  const intervalMs = options.intervalMs ?? DEFAULT_ENDPOINT_INTERVAL_MS
  const retryMs = options.retryMs ?? 1_000
  const ports = endpointPorts(securePort)
  const ctxOf = (plural: string): RestContext => {
    const ctx = contextFor(storage, resource(plural), KUBERNETES_SERVICE_NAMESPACE)
    ctx.userAgent = USER_AGENT
    ctx.serviceIps = options.serviceIps
    return ctx
  }
  const services = ctxOf('services')
  const endpoints = ctxOf('endpoints')
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()
  let markReady: () => void = () => {}
  const ready = new Promise<void>((resolve) => {
    markReady = resolve
  })

  const current = async (ctx: RestContext): Promise<Obj | undefined> => {
    try {
      return await getObject(ctx, KUBERNETES_SERVICE_NAME, {})
    } catch (err) {
      if (isStatusError(err) && err.status.reason === 'NotFound') return undefined
      throw err
    }
  }

  const write = async (ctx: RestContext, action: 'create' | 'update', obj: Obj): Promise<void> => {
    if (action === 'create') await createObject(ctx, obj, {})
    // The planned object carries the resourceVersion it was planned from: a write by another
    // api-server in between is a Conflict, and the next round plans again.
    else await guaranteedUpdate(ctx, KUBERNETES_SERVICE_NAME, '', () => obj, {})
  }

  const reconcileService = async (): Promise<void> => {
    const plan = planKubernetesService(
      await current(services),
      desiredKubernetesService(options.clusterIp, securePort),
    )
    if (plan.action !== 'none') await write(services, plan.action, plan.service)
  }

  /** kube's doReconcile; `self` is added to the leases read unless this api-server is leaving. */
  const reconcileEndpoints = async (self: string | undefined): Promise<void> => {
    const leases = await storage.list({ prefix: MASTER_LEASES_PREFIX })
    const ips = masterLeaseIps(leases.items.map((i) => i.value))
    // Our lease was just written; a read that does not show it yet must not drop us.
    if (self !== undefined && !ips.includes(self)) ips.push(self)
    const plan = planEndpoints(await current(endpoints), ips, ports)
    if (plan.action === 'refuse') throw new Error(plan.reason)
    if (plan.action !== 'none') await write(endpoints, plan.action, plan.endpoints)
  }

  const round = async (): Promise<void> => {
    let delay = intervalMs
    try {
      await reconcileService()
      if (options.endpointReconciler === 'lease' && !stopped) {
        // Refreshed first, whatever happens below, so that other api-servers keep listing us.
        await storage.putWithTtl(masterLeaseKey(publicIp), masterLeaseValue(publicIp), ttl)
        await reconcileEndpoints(publicIp)
      }
      markReady()
    } catch (err) {
      if (!stopped) options.onError?.(err)
      delay = retryMs
    }
    if (!stopped) timer = setTimeout(schedule, delay)
  }
  const schedule = (): void => {
    running = round()
  }
  void (options.after ?? Promise.resolve()).then(() => {
    if (!stopped) schedule()
  })

  return {
    ready,
    async stop() {
      if (stopped) return
      stopped = true
      clearTimeout(timer)
      if (options.endpointReconciler !== 'lease') return
      const remove = async (): Promise<void> => {
        // A round under way may be writing our lease: it must not land after the delete.
        await running
        try {
          await storage.delete(masterLeaseKey(publicIp))
        } catch (err) {
          if (!isStorageError(err, 'NotFound')) throw err
        }
        await reconcileEndpoints(undefined)
      }
      let bound: NodeJS.Timeout | undefined
      try {
        await Promise.race([
          remove(),
          new Promise<void>((_, reject) => {
            bound = setTimeout(() => reject(new Error('RemoveEndpoints() timed out')), 2 * intervalMs)
          }),
        ])
      } catch (err) {
        options.onError?.(err)
      } finally {
        clearTimeout(bound)
      }
    },
  }
}
