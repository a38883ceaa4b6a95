/**
 * The endpoint controller (kube's pkg/controller/endpoint): for every Service with a selector, an
 * Endpoints object of the same name holding the IPs of the matching pods: ready ones under
 * `addresses`, the others under `notReadyAddresses` (all under `addresses` with
 * `publishNotReadyAddresses`), each with its nodeName and a targetRef to the pod, and the Service's
 * ports with target ports resolved (a named targetPort through the pod's container ports; a pod
 * without that port is left out of that port's subset). Subsets group the addresses that share the
 * same ports (RepackSubsets), addresses sorted by IP. Pods without an IP, finished or being deleted
 * are left out. A Service without a selector (the `kubernetes` Service, user-managed Endpoints) is
 * left alone; a deleted Service's Endpoints are deleted. The Endpoints carry the Service's labels
 * (plus `service.kubernetes.io/headless` for a headless Service).
 */
import {
  type Endpoints,
  type Informer,
  isDeletedFinalStateUnknown,
  objectKey,
  type Pod,
  type Service,
} from '@hakube/api'
import type { Actions } from '../actions.js'
import type { ControllerSpec, SyncResult } from '../controller.js'
import { isPodReady } from '../pods.js'
import { ENDPOINTS } from './resources.js'

export interface EndpointsView {
  service(namespace: string, name: string): Service | undefined
  endpoints(namespace: string, name: string): Endpoints | undefined
  pods(namespace: string): Pod[]
}

type Subset = NonNullable<Endpoints['subsets']>[number]
type Address = NonNullable<Subset['addresses']>[number]
type Port = NonNullable<Subset['ports']>[number]

function matches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v)
}

/** The pod's port for a Service port (FindPort); undefined when the pod has no such named port. */
function findPort(
  pod: Pod,
  target: number | string | undefined,
  port: number,
  protocol: string,
): number | undefined {
  if (target === undefined) return port
  if (typeof target === 'number') return target
  if (/^\d+$/.test(target)) return Number(target)
  for (const c of pod.spec?.containers ?? [])
    for (const p of c.ports ?? [])
      if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort
  return undefined
}

/** The subsets the Service's pods make (sorted, so equal content compares equal). */
export function computeSubsets(svc: Service, pods: readonly Pod[]): Subset[] {
  const selector = svc.spec?.selector ?? {}
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true
  const groups = new Map<string, { ports: Port[]; ready: Address[]; notReady: Address[] }>()
  for (const pod of pods) {
    const ip = pod.status?.podIP
    if (ip === undefined || ip === '') continue
    if (pod.metadata?.deletionTimestamp !== undefined) continue
    const phase = pod.status?.phase
    if (phase === 'Succeeded' || phase === 'Failed') continue
    if (!matches(selector, pod.metadata?.labels)) continue
    const ports: Port[] = []
    for (const sp of svc.spec?.ports ?? []) {
      const protocol = sp.protocol ?? 'TCP'
      const port = findPort(pod, sp.targetPort, sp.port, protocol)
      if (port === undefined) continue
      ports.push({ ...(sp.name !== undefined && sp.name !== '' && { name: sp.name }), port, protocol })
    }
    // kube keeps a headless Service with no ports as one subset without ports.
    if (ports.length === 0 && (svc.spec?.ports ?? []).length > 0) continue
    ports.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || a.port - b.port)
    const address: Address = {
      ip,
      ...(pod.spec?.nodeName !== undefined && { nodeName: pod.spec.nodeName }),
      targetRef: {
        kind: 'Pod',
        namespace: pod.metadata?.namespace,
        name: pod.metadata?.name,
        uid: pod.metadata?.uid,
      },
    }
    const key = JSON.stringify(ports)
    const g = groups.get(key) ?? { ports, ready: [], notReady: [] }
    groups.set(key, g)
    if (publishNotReady || isPodReady(pod)) g.ready.push(address)
    else g.notReady.push(address)
  }
  const byIp = (a: Address, b: Address) => a.ip.localeCompare(b.ip, 'en', { numeric: true })
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, g]) => ({
      ...(g.ready.length > 0 && { addresses: g.ready.sort(byIp) }),
      ...(g.notReady.length > 0 && { notReadyAddresses: g.notReady.sort(byIp) }),
      ...(g.ports.length > 0 && { ports: g.ports }),
    }))
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null)
}

export async function syncEndpoints(
  key: string,
  view: EndpointsView,
  actions: Actions,
): Promise<SyncResult | undefined> {
  const slash = key.indexOf('/')
  const ns = key.slice(0, slash)
  const name = key.slice(slash + 1)
  const svc = view.service(ns, name)
  if (svc === undefined) {
    if (view.endpoints(ns, name) !== undefined) await actions.delete(ENDPOINTS, ns, name)
    return undefined
  }
  const selector = svc.spec?.selector
  if (selector === undefined || Object.keys(selector).length === 0) return undefined
  if (svc.spec?.type === 'ExternalName') return undefined
  const subsets = computeSubsets(svc, view.pods(ns))
  const labels: Record<string, string> = { ...(svc.metadata?.labels ?? {}) }
  if (svc.spec?.clusterIP === 'None') labels['service.kubernetes.io/headless'] = ''
  const current = view.endpoints(ns, name)
  if (
    current !== undefined &&
    sameJson(current.subsets ?? [], subsets) &&
    sameJson(current.metadata?.labels ?? {}, labels)
  )
    return undefined
  const body: Endpoints = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: {
      name,
      namespace: ns,
      ...(Object.keys(labels).length > 0 && { labels }),
      ...(current?.metadata?.resourceVersion !== undefined && {
        resourceVersion: current.metadata.resourceVersion,
      }),
    },
    subsets,
  }
  const r =
    current === undefined
      ? await actions.create(ENDPOINTS, ns, body)
      : await actions.update(ENDPOINTS, ns, body)
  if (!r.ok && r.reason !== 'NotFound') throw new Error(`endpoints ${key}: ${r.reason}; retrying`)
  return undefined
}

export class EndpointController implements ControllerSpec {
  readonly name = 'endpoint'
  private readonly view: EndpointsView

  constructor(
    private readonly services: Informer<Service>,
    private readonly podInformer: Informer<Pod>,
    private readonly endpointsInformer: Informer<Endpoints>,
  ) {
    this.view = {
      service: (ns, name) => services.get(`${ns}/${name}`),
      endpoints: (ns, name) => endpointsInformer.get(`${ns}/${name}`),
      pods: (ns) => podInformer.list().filter((p) => p.metadata?.namespace === ns),
    }
  }

  /** The Services whose selector matches the pod (kube's getPodServiceMemberships). */
  private servicesOf(pod: Pod): string[] {
    return this.services
      .list()
      .filter((s) => s.metadata?.namespace === pod.metadata?.namespace)
      .filter((s) => {
        const sel = s.spec?.selector
        return sel !== undefined && Object.keys(sel).length > 0 && matches(sel, pod.metadata?.labels)
      })
      .map((s) => objectKey(s))
  }

  register(enqueue: (key: string) => void): void {
    this.services.addEventHandler({
      onAdd: (s) => enqueue(objectKey(s)),
      onUpdate: (_old, s) => enqueue(objectKey(s)),
      onDelete: (gone) => enqueue(objectKey(isDeletedFinalStateUnknown(gone) ? gone.obj : gone)),
    })
    this.podInformer.addEventHandler({
      onAdd: (p) => {
        for (const k of this.servicesOf(p)) enqueue(k)
      },
      onUpdate: (old, p) => {
        if (old.metadata?.resourceVersion === p.metadata?.resourceVersion) return
        for (const k of new Set([...this.servicesOf(old), ...this.servicesOf(p)])) enqueue(k)
      },
      onDelete: (gone) => {
        for (const k of this.servicesOf(isDeletedFinalStateUnknown(gone) ? gone.obj : gone)) enqueue(k)
      },
    })
    this.endpointsInformer.addEventHandler({
      onDelete: (gone) => enqueue(objectKey(isDeletedFinalStateUnknown(gone) ? gone.obj : gone)),
    })
  }

  hasSynced(): boolean {
    return this.services.hasSynced() && this.podInformer.hasSynced() && this.endpointsInformer.hasSynced()
  }

  initialKeys(): Iterable<string> {
    return this.services.keys()
  }

  sync(key: string, actions: Actions): Promise<SyncResult | undefined> {
    return syncEndpoints(key, this.view, actions)
  }
}
