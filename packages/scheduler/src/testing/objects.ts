/**
 * Builders of Node and Pod objects for the scheduler's tests (not built into the package's public
 * entry), and a seeded random source.
 */
import type { Node, Pod, Taint, Toleration } from '@hakube/api'

export interface NodeSpec {
  name: string
  cpu?: string
  memory?: string
  pods?: number
  labels?: Record<string, string>
  taints?: Taint[]
  unschedulable?: boolean
  ready?: 'True' | 'False' | 'Unknown' | 'missing'
}

export function makeNode(s: NodeSpec): Node {
  const allocatable = { cpu: s.cpu ?? '4', memory: s.memory ?? '8Gi', pods: String(s.pods ?? 110) }
  const ready = s.ready ?? 'True'
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: s.name, uid: `uid-node-${s.name}`, labels: s.labels ?? {} },
    spec: { ...(s.taints ? { taints: s.taints } : {}), ...(s.unschedulable ? { unschedulable: true } : {}) },
    status: {
      capacity: allocatable,
      allocatable,
      conditions: ready === 'missing' ? [] : [{ type: 'Ready', status: ready, reason: 'KubeletReady' }],
    },
  }
}

export interface PodSpecInput {
  name: string
  namespace?: string
  uid?: string
  cpu?: string
  memory?: string
  nodeName?: string
  priority?: number
  nodeSelector?: Record<string, string>
  affinity?: unknown
  tolerations?: Toleration[]
  ownerUid?: string
  initCpu?: string
}

export function makePod(s: PodSpecInput): Pod {
  const requests: Record<string, string> = {}
  if (s.cpu !== undefined) requests['cpu'] = s.cpu
  if (s.memory !== undefined) requests['memory'] = s.memory
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: s.name,
      namespace: s.namespace ?? 'default',
      uid: s.uid ?? `uid-${s.name}`,
      ...(s.ownerUid
        ? {
            ownerReferences: [
              { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: s.ownerUid, controller: true },
            ],
          }
        : {}),
    },
    spec: {
      containers: [{ name: 'c', image: 'nginx', resources: { requests } }],
      ...(s.initCpu !== undefined
        ? {
            initContainers: [{ name: 'init', image: 'busybox', resources: { requests: { cpu: s.initCpu } } }],
          }
        : {}),
      schedulerName: 'default-scheduler',
      ...(s.nodeName !== undefined ? { nodeName: s.nodeName } : {}),
      ...(s.priority !== undefined ? { priority: s.priority } : {}),
      ...(s.nodeSelector !== undefined ? { nodeSelector: s.nodeSelector } : {}),
      ...(s.affinity !== undefined ? { affinity: s.affinity as Record<string, unknown> } : {}),
      ...(s.tolerations !== undefined ? { tolerations: s.tolerations } : {}),
    },
    status: { phase: 'Pending' },
  }
}

/** mulberry32: a small seeded [0, 1) source. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The seed of a randomized test: `SEED=<n>` replays one; otherwise a fresh one (print it on failure). */
export function testSeed(): number {
  const env = process.env['SEED']
  return env !== undefined && env !== '' ? Number(env) : Math.floor(Math.random() * 2 ** 31)
}
