/**
 * The objects a simulated kubelet writes for its node: the Node at registration (labels as the
 * kubelet sets them, taints, podCIDR), its `status` (capacity, allocatable, conditions with
 * heartbeat times, addresses, daemon endpoint, nodeInfo), and its Lease in kube-node-lease. Pure:
 * times come in as parameters.
 */
import { KUBELET_VERSION, type NodeGroup } from './config.js'
import { formatTime } from './pod-state.js'

type Json = Record<string, unknown>

export const NODE_LEASE_NAMESPACE = 'kube-node-lease'

/** One /24 for each node's pods, carved out of 10.128.0.0/9 (32,768 blocks). */
export const POD_BLOCKS = 32_768

/** FNV-1a of the node name: its preferred pod block, stable across restarts and processes. */
export function preferredBlock(name: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h % POD_BLOCKS
}

/** Blocks for `names`, each the preferred one or the next free one (unique within this process). */
export function assignBlocks(names: readonly string[]): Map<string, number> {
  const used = new Set<number>()
  const out = new Map<string, number>()
  for (const n of names) {
    let b = preferredBlock(n)
    while (used.has(b)) b = (b + 1) % POD_BLOCKS
    used.add(b)
    out.set(n, b)
  }
  return out
}

export function blockCidr(block: number): string {
  return `10.${128 + (block >> 8)}.${block & 255}.0/24`
}

export function blockAddress(block: number, host: number): string {
  return `10.${128 + (block >> 8)}.${block & 255}.${host}`
}

/** Allocates pod IPs of one node's block: hosts .2 to .254, lowest free first. */
export class PodIpAllocator {
  private readonly used = new Set<number>()

  constructor(readonly block: number) {}

  allocate(): string | undefined {
    for (let h = 2; h <= 254; h++)
      if (!this.used.has(h)) {
        this.used.add(h)
        return blockAddress(this.block, h)
      }
    return undefined
  }

  /** Marks an address already in use (a pod adopted after a restart); false if not ours. */
  claim(ip: string): boolean {
    const prefix = blockAddress(this.block, 0).slice(0, -1)
    if (!ip.startsWith(prefix)) return false
    const h = Number(ip.slice(prefix.length))
    if (!Number.isInteger(h) || h < 2 || h > 254 || this.used.has(h)) return false
    this.used.add(h)
    return true
  }

  release(ip: string): void {
    const prefix = blockAddress(this.block, 0).slice(0, -1)
    if (ip.startsWith(prefix)) this.used.delete(Number(ip.slice(prefix.length)))
  }
}

export interface NodeIdentity {
  readonly name: string
  readonly group: NodeGroup
  readonly block: number
  /** The node's InternalIP (where its kubelet API listens). */
  readonly address: string
  readonly kubeletPort: number
}

/** The Node object the kubelet registers (kubelet's initialNode). */
export function nodeObject(n: NodeIdentity): Json {
  const cidr = blockCidr(n.block)
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: n.name,
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': n.name,
        'kubernetes.io/os': 'linux',
        'node.kubernetes.io/instance-type': 'hakube-node-sim',
        ...n.group.labels,
      },
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'hakube.io/simulated': 'true',
      },
    },
    spec: {
      podCIDR: cidr,
      podCIDRs: [cidr],
      ...(n.group.taints.length > 0 && { taints: n.group.taints.map((t) => ({ ...t })) }),
    },
  }
}

/** The conditions the kubelet reports for a healthy node. */
const HEALTHY: readonly [string, string, string, string][] = [
  ['MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
  ['DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
  ['PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
  ['Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'],
]

/** The node's `status` as posted at `nowMs`; conditions changed state at `transitionMs`. */
export function nodeStatus(n: NodeIdentity, nowMs: number, transitionMs: number, bootMs: number): Json {
  const capacity = {
    cpu: n.group.cpu,
    'ephemeral-storage': '100Gi',
    'hugepages-1Gi': '0',
    'hugepages-2Mi': '0',
    memory: n.group.memory,
    pods: String(n.group.pods),
  }
  const id = `${n.block.toString(16).padStart(8, '0')}hakube${n.name.length.toString(16).padStart(4, '0')}`
  return {
    capacity,
    allocatable: { ...capacity },
    conditions: HEALTHY.map(([type, status, reason, message]) => ({
      type,
      status,
      lastHeartbeatTime: formatTime(nowMs),
      lastTransitionTime: formatTime(transitionMs),
      reason,
      message,
    })),
    addresses: [
      { type: 'InternalIP', address: n.address },
      { type: 'Hostname', address: n.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: n.kubeletPort } },
    nodeInfo: {
      machineID: id.padEnd(32, '0'),
      systemUUID: id.padEnd(32, '0'),
      bootID: `${bootMs.toString(16)}-${n.name}`,
      kernelVersion: '6.1.0-hakube',
      osImage: 'hakube-node-sim (simulated node)',
      containerRuntimeVersion: 'hakube://0.1.0',
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: KUBELET_VERSION,
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
  }
}

/** Lease MicroTime: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
}

/** The node's Lease (kubelet's nodelease controller), owned by the Node. */
export function leaseObject(
  name: string,
  nodeUid: string | undefined,
  durationS: number,
  renewMs: number,
): Json {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name,
      namespace: NODE_LEASE_NAMESPACE,
      ...(nodeUid !== undefined && {
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: nodeUid }],
      }),
    },
    spec: { holderIdentity: name, leaseDurationSeconds: durationS, renewTime: microTime(renewMs) },
  }
}
