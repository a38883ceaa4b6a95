/**
 * Table printers of services and endpoints (printers.go printService, printEndpoints, 1.32): cluster
 * and external IPs, port strings, and the first endpoints of each subset.
 */
import {
  ageCol,
  at,
  col,
  formatLabels,
  int,
  list,
  map,
  nameCol,
  type PrintedRow,
  type Printer,
  str,
  translateTimestampSince,
} from './table-cells.js'

// ---------------------------------------------------------------------------------------------
// Services and endpoints.

const serviceColumns = [
  nameCol(),
  col(
    'Type',
    'string',
    'type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. "ClusterIP" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is "None", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. "NodePort" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. "LoadBalancer" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. "ExternalName" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types',
  ),
  col(
    'Cluster-IP',
    'string',
    'clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are "None", empty string (""), or a valid IP address. Setting this to "None" makes a "headless service" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies',
  ),
  col(
    'External-IP',
    'string',
    'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.',
  ),
  col(
    'Port(s)',
    'string',
    'The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies',
  ),
  ageCol(),
  col(
    'Selector',
    'string',
    'Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/',
    1,
  ),
]

const LOAD_BALANCER_WIDTH = 16

/** loadBalancerStatusStringer: sorted unique IPs/hostnames, clipped to 16 bytes unless wide. */
function loadBalancerStatus(svc: unknown, wide: boolean): string {
  const set = new Set<string>()
  for (const ing of list(svc, 'status', 'loadBalancer', 'ingress')) {
    if (str(ing, 'ip') !== '') set.add(str(ing, 'ip'))
    else if (str(ing, 'hostname') !== '') set.add(str(ing, 'hostname'))
  }
  const r = [...set].sort().join(',')
  return !wide && r.length > LOAD_BALANCER_WIDTH ? `${r.slice(0, LOAD_BALANCER_WIDTH - 3)}...` : r
}

/** getServiceExternalIP (with wide = true, as the server prints). */
function serviceExternalIP(svc: unknown): string {
  const externalIPs = list(svc, 'spec', 'externalIPs').filter((x): x is string => typeof x === 'string')
  switch (str(svc, 'spec', 'type')) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>'
    case 'LoadBalancer': {
      const lb = loadBalancerStatus(svc, true)
      if (externalIPs.length > 0) return [...(lb === '' ? [] : lb.split(',')), ...externalIPs].join(',')
      return lb !== '' ? lb : '<pending>'
    }
    case 'ExternalName':
      return str(svc, 'spec', 'externalName')
  }
  return '<unknown>'
}

/** makePortString: `80/TCP`, `80:30080/TCP` with a node port. */
function portString(svc: unknown): string {
  return list(svc, 'spec', 'ports')
    .map((p) => {
      const protocol = str(p, 'protocol')
      return int(p, 'nodePort') > 0
        ? `${int(p, 'port')}:${int(p, 'nodePort')}/${protocol}`
        : `${int(p, 'port')}/${protocol}`
    })
    .join(',')
}

function printService(svc: unknown, nowMs: number): PrintedRow {
  const clusterIPs = list(svc, 'spec', 'clusterIPs')
  const clusterIP = (clusterIPs.length > 0 ? str(clusterIPs[0]) : str(svc, 'spec', 'clusterIP')) || '<none>'
  return {
    cells: [
      str(svc, 'metadata', 'name'),
      str(svc, 'spec', 'type'),
      clusterIP,
      serviceExternalIP(svc),
      portString(svc) || '<none>',
      translateTimestampSince(at(svc, 'metadata', 'creationTimestamp'), nowMs),
      formatLabels(map(svc, 'spec', 'selector')),
    ],
  }
}

const endpointsColumns = [
  nameCol(),
  col(
    'Endpoints',
    'string',
    'The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.',
  ),
  ageCol(),
]

const ENDPOINTS_SHOWN_MAX = 3

/** net.JoinHostPort: IPv6 hosts in brackets. */
const joinHostPort = (host: string, port: number) =>
  host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`

/** formatEndpoints: the first 3 `ip:port` pairs, then `+ N more...`; `<none>` without subsets. */
export function formatEndpoints(ep: unknown): string {
  const subsets = list(ep, 'subsets')
  if (subsets.length === 0) return '<none>'
  const shown: string[] = []
  let more = false
  let count = 0
  for (const ss of subsets) {
    const addresses = list(ss, 'addresses')
    const ports = list(ss, 'ports')
    if (ports.length === 0) {
      // Headless services may have no ports.
      count += addresses.length
      for (const a of addresses) {
        if (shown.length === ENDPOINTS_SHOWN_MAX) {
          more = true
          break
        }
        shown.push(str(a, 'ip'))
      }
      continue
    }
    for (const p of ports) {
      count += addresses.length
      for (const a of addresses) {
        if (shown.length === ENDPOINTS_SHOWN_MAX) {
          more = true
          break
        }
        shown.push(joinHostPort(str(a, 'ip'), int(p, 'port')))
      }
    }
  }
  const joined = shown.join(',')
  return more ? `${joined} + ${count - ENDPOINTS_SHOWN_MAX} more...` : joined
}

function printEndpoints(ep: unknown, nowMs: number): PrintedRow {
  return {
    cells: [
      str(ep, 'metadata', 'name'),
      formatEndpoints(ep),
      translateTimestampSince(at(ep, 'metadata', 'creationTimestamp'), nowMs),
    ],
  }
}

export const SERVICE_PRINTER: Printer = { columns: serviceColumns, print: printService }
export const ENDPOINTS_PRINTER: Printer = { columns: endpointsColumns, print: printEndpoints }
