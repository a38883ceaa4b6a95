/**
 * Pod resource requests and node allocatable as plain numbers, computed once per object so the
 * filters compare numbers instead of parsing quantities per node (k8s.io/component-helpers
 * resource/helpers.go `PodRequests`, the scheduler's framework/types.go `Resource`).
 *
 * Units: cpu in millicores (rounded up, as `Quantity.MilliValue`), memory and ephemeral-storage in
 * bytes (rounded up, as `Quantity.Value`), other ("scalar", extended) resources in base units.
 */
import { parseQuantity } from '@hakube/api'

export interface Resources {
  milliCpu: number
  memory: number
  ephemeralStorage: number
  /** Extended resources (`example.com/gpu`, `hugepages-2Mi`); undefined when there are none. */
  scalar: Map<string, number> | undefined
}

/** The requests the scorers use: a container without a request counts as 100m and 200 MiB. */
export interface NonZeroRequests {
  milliCpu: number
  memory: number
}

/** kube's DefaultMilliCPURequest and DefaultMemoryRequest (scheduler/util/pod_resources.go). */
export const DEFAULT_MILLI_CPU_REQUEST = 100
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024

export function emptyResources(): Resources {
  return { milliCpu: 0, memory: 0, ephemeralStorage: 0, scalar: undefined }
}

type ResourceList = Readonly<Record<string, string | number | undefined>> | undefined

interface ContainerLike {
  resources?: { requests?: ResourceList } | undefined
  restartPolicy?: string | undefined
}

export interface PodSpecLike {
  containers?: readonly ContainerLike[] | undefined
  initContainers?: readonly ContainerLike[] | undefined
  overhead?: ResourceList
}

/** `Quantity.MilliValue()`: the value × 1000, rounded up (a `0.1` must give 100, not 101). */
export function milliValue(q: string | number): number {
  const v = parseQuantity(q)
  if (v === undefined) return 0
  return Math.ceil(Number((v * 1000).toFixed(6)))
}

/** `Quantity.Value()`: rounded up to a whole base unit. */
export function wholeValue(q: string | number): number {
  const v = parseQuantity(q)
  if (v === undefined) return 0
  return Math.ceil(Number(v.toFixed(6)))
}

/** Adds a ResourceList into `into` (cpu, memory, ephemeral-storage, the rest as scalar; pods ignored). */
export function addResourceList(into: Resources, list: ResourceList, sign = 1): void {
  if (list === undefined) return
  for (const name in list) {
    const q = list[name]
    if (q === undefined) continue
    switch (name) {
      case 'cpu':
        into.milliCpu += sign * milliValue(q)
        break
      case 'memory':
        into.memory += sign * wholeValue(q)
        break
      case 'ephemeral-storage':
        into.ephemeralStorage += sign * wholeValue(q)
        break
      case 'pods':
        break
      default: {
        into.scalar ??= new Map()
        into.scalar.set(name, (into.scalar.get(name) ?? 0) + sign * wholeValue(q))
      }
    }
  }
}

function maxInto(into: Resources, other: Resources): void {
  into.milliCpu = Math.max(into.milliCpu, other.milliCpu)
  into.memory = Math.max(into.memory, other.memory)
  into.ephemeralStorage = Math.max(into.ephemeralStorage, other.ephemeralStorage)
  if (other.scalar !== undefined) {
    into.scalar ??= new Map()
    for (const [k, v] of other.scalar) into.scalar.set(k, Math.max(into.scalar.get(k) ?? 0, v))
  }
}

function addInto(into: Resources, other: Resources): void {
  into.milliCpu += other.milliCpu
  into.memory += other.memory
  into.ephemeralStorage += other.ephemeralStorage
  if (other.scalar !== undefined) {
    into.scalar ??= new Map()
    for (const [k, v] of other.scalar) into.scalar.set(k, (into.scalar.get(k) ?? 0) + v)
  }
}

function containerRequests(c: ContainerLike): Resources {
  const r = emptyResources()
  addResourceList(r, c.resources?.requests)
  return r
}

/**
 * `PodRequests`: the sum of the app containers, or the largest init container if that is more
 * (init containers run one at a time, before the app containers), plus the pod overhead. Sidecars
 * (init containers with `restartPolicy: Always`) keep running: they add to everything after them.
 */
export function podRequests(spec: PodSpecLike | undefined): Resources {
  const sum = emptyResources()
  for (const c of spec?.containers ?? []) addInto(sum, containerRequests(c))
  const restartableSum = emptyResources()
  const initMax = emptyResources()
  for (const c of spec?.initContainers ?? []) {
    const req = containerRequests(c)
    if (c.restartPolicy === 'Always') {
      addInto(restartableSum, req)
      maxInto(initMax, restartableSum)
    } else {
      const tmp = emptyResources()
      addInto(tmp, req)
      addInto(tmp, restartableSum)
      maxInto(initMax, tmp)
    }
  }
  addInto(sum, restartableSum)
  maxInto(sum, initMax)
  addResourceList(sum, spec?.overhead)
  return sum
}

/**
 * The requests the least-allocated scorer counts (`GetNonzeroRequests`): per container, a missing
 * (or zero) cpu or memory request counts as the default, so best-effort pods still spread.
 */
export function nonZeroRequests(spec: PodSpecLike | undefined): NonZeroRequests {
  let milliCpu = 0
  let memory = 0
  for (const c of spec?.containers ?? []) {
    const r = containerRequests(c)
    milliCpu += r.milliCpu === 0 ? DEFAULT_MILLI_CPU_REQUEST : r.milliCpu
    memory += r.memory === 0 ? DEFAULT_MEMORY_REQUEST : r.memory
  }
  let initCpu = 0
  let initMemory = 0
  for (const c of spec?.initContainers ?? []) {
    const r = containerRequests(c)
    initCpu = Math.max(initCpu, r.milliCpu === 0 ? DEFAULT_MILLI_CPU_REQUEST : r.milliCpu)
    initMemory = Math.max(initMemory, r.memory === 0 ? DEFAULT_MEMORY_REQUEST : r.memory)
  }
  const overhead = emptyResources()
  addResourceList(overhead, spec?.overhead)
  return {
    milliCpu: Math.max(milliCpu, initCpu) + overhead.milliCpu,
    memory: Math.max(memory, initMemory) + overhead.memory,
  }
}

/** True when the pod requests nothing the fit check compares. */
export function isZero(r: Resources): boolean {
  if (r.milliCpu !== 0 || r.memory !== 0 || r.ephemeralStorage !== 0) return false
  if (r.scalar !== undefined) for (const v of r.scalar.values()) if (v !== 0) return false
  return true
}
