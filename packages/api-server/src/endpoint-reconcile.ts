/**
 * What the `kubernetes` Service and its Endpoints should be, as pure functions of what the store
 * holds: the planning half of kube-apiserver's lease endpoint reconciler
 * (pkg/controlplane/reconcilers/lease.go) and of its "kubernetes" service controller
 * (pkg/controlplane/controller/kubernetesservice). The I/O half is kubernetes-service.ts.
 *
 * - Every api-server keeps a master lease, `/registry/masterleases/<advertise address>`, an Endpoints
 *   object naming its address, written with a TTL; the live api-servers are exactly the unexpired
 *   leases.
 * - The Endpoints `default/kubernetes` must have one subset whose addresses are the leases' addresses
 *   (sorted, as RepackSubsets sorts them) and whose ports are `https` = --secure-port. It is written
 *   only when it differs (format, addresses, ports, or the skip-mirror label), so N api-servers
 *   reconciling every 10 s write nothing in the steady state.
 * - No lease at all is refused rather than written: kube will not erase every address of the
 *   `kubernetes` Service ("no API server IP addresses were listed in storage"), so the last api-server
 *   to shut down leaves its own address behind.
 */
import type { Obj } from './rest/objects.js'

/** Where the master leases live (kube's `/masterleases/` under the storage prefix `/registry`). */
export const MASTER_LEASES_PREFIX = '/registry/masterleases/'

export const KUBERNETES_SERVICE_NAME = 'kubernetes'
export const KUBERNETES_SERVICE_NAMESPACE = 'default'

/** The label kube sets so the EndpointSlice mirroring controller leaves this Endpoints alone. */
export const SKIP_MIRROR_LABEL = 'endpointslice.kubernetes.io/skip-mirror'

export interface EndpointPort {
  name: string
  port: number
  protocol: 'TCP'
}

/** kube's createEndpointPortSpec(securePort, "https"). */
export const endpointPorts = (securePort: number): EndpointPort[] => [
  { name: 'https', port: securePort, protocol: 'TCP' },
]

export const masterLeaseKey = (ip: string) => `${MASTER_LEASES_PREFIX}${ip}`

/** A master lease's value: an Endpoints object naming the api-server's address (as kube stores it). */
export function masterLeaseValue(ip: string): Obj {
  return {
    kind: 'Endpoints',
    apiVersion: 'v1',
    metadata: { name: ip },
    subsets: [{ addresses: [{ ip }] }],
  }
}

/** The addresses named by master lease values (kube's ListLeases), unique and sorted. */
export function masterLeaseIps(values: readonly unknown[]): string[] {
  const ips = new Set<string>()
  for (const v of values) {
    const ip = (v as { subsets?: Array<{ addresses?: Array<{ ip?: unknown }> }> } | null)?.subsets?.[0]
      ?.addresses?.[0]?.ip
    if (typeof ip === 'string' && ip !== '') ips.add(ip)
  }
  return [...ips].sort()
}

export type EndpointsPlan =
  | { action: 'none' }
  | { action: 'create' | 'update'; endpoints: Obj }
  /** Nothing written: writing would erase every address. */
  | { action: 'refuse'; reason: string }

/**
 * kube's doReconcile: `current` is the stored Endpoints (undefined when missing), `masterIps` the
 * live leases' addresses. `reconcilePorts` false keeps extra ports another writer added (kube passes
 * true whenever it reconciles; kept for parity with checkEndpointSubsetFormatWithLease).
 */
export function planEndpoints(
  current: Obj | undefined,
  masterIps: readonly string[],
  ports: readonly EndpointPort[],
  reconcilePorts = true,
): EndpointsPlan {
  if (masterIps.length === 0)
    return {
      action: 'refuse',
      reason:
        'no API server IP addresses were listed in storage, refusing to erase all endpoints for the kubernetes Service',
    }
  const next: Obj =
    current === undefined
      ? {
          apiVersion: 'v1',
          kind: 'Endpoints',
          metadata: { name: KUBERNETES_SERVICE_NAME, namespace: KUBERNETES_SERVICE_NAMESPACE },
        }
      : structuredClone(current)
  const subsets = Array.isArray(next['subsets']) ? (next['subsets'] as Obj[]) : []
  const formatCorrect = subsets.length === 1
  const subset: Obj = formatCorrect ? (subsets[0] as Obj) : { addresses: [], ports: [...ports] }
  const have = addressIps(subset)
  const wanted = [...new Set(masterIps)].sort()
  const ipCorrect = formatCorrect && have.length === wanted.length && wanted.every((ip) => have.includes(ip))
  const portsCorrect = formatCorrect && portsMatch(subset['ports'], ports, reconcilePorts)
  if (!ipCorrect) subset['addresses'] = wanted.map((ip) => ({ ip }))
  if (!portsCorrect) subset['ports'] = ports.map((p) => ({ ...p }))
  next['subsets'] = [subset]
  if (next['metadata'] === undefined) next['metadata'] = {}
  const meta = next['metadata'] as { labels?: Record<string, string> }
  const labelCorrect = meta.labels?.[SKIP_MIRROR_LABEL] === 'true'
  meta.labels = { ...meta.labels, [SKIP_MIRROR_LABEL]: 'true' }
  if (formatCorrect && ipCorrect && portsCorrect && labelCorrect) return { action: 'none' }
  return { action: current === undefined ? 'create' : 'update', endpoints: next }
}

function addressIps(subset: Obj): string[] {
  const addrs = Array.isArray(subset['addresses']) ? (subset['addresses'] as Array<{ ip?: unknown }>) : []
  return addrs.map((a) => (typeof a?.ip === 'string' ? a.ip : ''))
}

function portsMatch(have: unknown, want: readonly EndpointPort[], exact: boolean): boolean {
  const list = Array.isArray(have) ? (have as Array<Partial<EndpointPort>>) : []
  const same = (a: Partial<EndpointPort>, b: EndpointPort) =>
    a.name === b.name && a.port === b.port && (a.protocol ?? 'TCP') === b.protocol
  if (exact) return list.length === want.length && want.every((w, i) => same(list[i] ?? {}, w))
  return want.every((w) => list.some((p) => same(p, w)))
}

/**
 * The `kubernetes` Service as kube's controller creates it: ClusterIP, the range's first address,
 * port 443 `https` to --secure-port, no selector (its Endpoints are written by the reconciler).
 */
export function desiredKubernetesService(clusterIp: string, securePort: number): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: KUBERNETES_SERVICE_NAME,
      namespace: KUBERNETES_SERVICE_NAMESPACE,
      labels: { component: 'apiserver', provider: 'kubernetes' },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP: clusterIp,
      sessionAffinity: 'None',
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: securePort }],
    },
  }
}

export type ServicePlan = { action: 'none' } | { action: 'create' | 'update'; service: Obj }

/**
 * kube's CreateOrUpdateMasterServiceIfNeeded: create the Service when missing; when it exists, only
 * its ports and type are put back (getMasterServiceUpdateIfNeeded), everything else a user changed
 * stays.
 */
export function planKubernetesService(current: Obj | undefined, desired: Obj): ServicePlan {
  if (current === undefined) return { action: 'create', service: structuredClone(desired) }
  const want = desired['spec'] as { type: string; ports: Array<Record<string, unknown>> }
  const next = structuredClone(current)
  if (next['spec'] === undefined) next['spec'] = {}
  const spec = next['spec'] as { type?: unknown; ports?: Array<Record<string, unknown>> }
  const have = spec.ports ?? []
  const [w] = want.ports
  const portsOk =
    have.length === 1 &&
    w !== undefined &&
    ['name', 'port', 'protocol', 'targetPort'].every((k) => (have[0] as Record<string, unknown>)[k] === w[k])
  const typeOk = spec.type === want.type
  if (portsOk && typeOk) return { action: 'none' }
  if (!portsOk) spec.ports = structuredClone(want.ports)
  if (!typeOk) spec.type = want.type
  return { action: 'update', service: next }
}
