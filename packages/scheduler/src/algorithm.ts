/**
 * One scheduling attempt, synchronous and deterministic (the random source comes in): find the
 * nodes that pass the filters, score them, pick the best (schedule_one.go `schedulePod`).
 *
 * As kube-scheduler, it stops filtering once it has found `numFeasibleNodesToFind` nodes (all nodes
 * below 100; 50% - 1 per 125 nodes above, at least 5% and at least 100 nodes) and starts each
 * attempt where the previous one stopped, so large clusters are not scanned whole for every pod and
 * pods spread over all nodes. A pod that fits nowhere gets a `FitError` whose message is kube's
 * (`0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 Insufficient
 * cpu.`). Scores: NodeResourcesFit with the LeastAllocated strategy (cpu and memory, weight 1 each)
 * plus spreading of one controller's pods over nodes (SelectorSpread's node part), each 0-100 with
 * weight 1; ties are broken uniformly at random (`selectHost`'s reservoir sampling).
 */
import type { NodeInfo } from './cache.js'
import { type FilterResult, filterNode, type PodInfo } from './filters.js'

export const MAX_NODE_SCORE = 100
const MIN_FEASIBLE_NODES_TO_FIND = 100
const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5

/** `Scheduler.numFeasibleNodesToFind` with the adaptive percentage (percentageOfNodesToScore 0). */
export function numFeasibleNodesToFind(numAllNodes: number, percentageOfNodesToScore = 0): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes
  let percentage = percentageOfNodesToScore
  if (percentage === 0) {
    percentage = 50 - Math.trunc(numAllNodes / 125)
    if (percentage < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND) percentage = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND
  }
  const numNodes = Math.trunc((numAllNodes * percentage) / 100)
  return numNodes < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : numNodes
}

/** `FitError.Error()`: "0/N nodes are available: " + the "<count> <reason>" histogram, sorted as strings. */
export function fitErrorMessage(numAllNodes: number, reasons: ReadonlyMap<string, number>): string {
  let msg = `0/${numAllNodes} nodes are available:`
  const histogram = [...reasons].map(([reason, count]) => `${count} ${reason}`)
  // Go's sort.Strings: byte order, so "10 x" sorts before "2 y", as kube prints it.
  histogram.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  if (histogram.length > 0) msg += ` ${histogram.join(', ')}.`
  return msg
}

/** `leastRequestedScore`: the free share of one resource after placing the pod, 0-100. */
function leastRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0
  return Math.trunc(((capacity - requested) * MAX_NODE_SCORE) / capacity)
}

/** NodeResourcesFit (LeastAllocated, cpu and memory weight 1) for `p` on `node`. */
export function leastAllocatedScore(p: PodInfo, node: NodeInfo): number {
  const cpu = leastRequestedScore(
    node.nonZeroRequested.milliCpu + p.nonZero.milliCpu,
    node.allocatable.milliCpu,
  )
  const memory = leastRequestedScore(node.nonZeroRequested.memory + p.nonZero.memory, node.allocatable.memory)
  return Math.trunc((cpu + memory) / 2)
}

export type ScheduleResult =
  | { ok: true; node: NodeInfo; feasible: number; evaluated: number }
  | { ok: false; message: string; reasons: ReadonlyMap<string, number>; numAllNodes: number }

export interface Scheduling {
  nodes: readonly NodeInfo[]
  /** [0, 1): the tie breaker. */
  readonly random: () => number
  /** Where the next search starts; kept by the caller between attempts. */
  nextStartNodeIndex: number
  /** 0 = kube's adaptive percentage. */
  readonly percentageOfNodesToScore?: number
}

/**
 * Schedules `p` on one of `s.nodes`. Moves `s.nextStartNodeIndex` past the nodes it looked at.
 * Nothing is changed in the nodes: the caller assumes the pod on the chosen one.
 */
export function schedulePod(p: PodInfo, s: Scheduling): ScheduleResult {
  const nodes = s.nodes
  const n = nodes.length
  if (n === 0)
    return { ok: false, message: fitErrorMessage(0, new Map()), reasons: new Map(), numAllNodes: 0 }
  const toFind = numFeasibleNodesToFind(n, s.percentageOfNodesToScore ?? 0)
  const feasible: NodeInfo[] = []
  let reasons: Map<string, number> | undefined
  let processed = 0
  const start = s.nextStartNodeIndex % n
  for (let i = 0; i < n && feasible.length < toFind; i++) {
    const node = nodes[(start + i) % n] as NodeInfo
    processed++
    const result: FilterResult = filterNode(p, node)
    if (result === undefined) feasible.push(node)
    else {
      reasons ??= new Map()
      for (const r of result) reasons.set(r, (reasons.get(r) ?? 0) + 1)
    }
  }
  s.nextStartNodeIndex = (start + processed) % n
  if (feasible.length === 0) {
    const r = reasons ?? new Map<string, number>()
    return { ok: false, message: fitErrorMessage(n, r), reasons: r, numAllNodes: n }
  }
  if (feasible.length === 1)
    return { ok: true, node: feasible[0] as NodeInfo, feasible: 1, evaluated: processed }
  return {
    ok: true,
    node: selectHost(p, feasible, s.random),
    feasible: feasible.length,
    evaluated: processed,
  }
}

/**
 * Scores the feasible nodes and picks one of the best. Spreading: SelectorSpread's NormalizeScore,
 * 100 × (max - count) / max over the pods of the same controller on each node (all 100 when none).
 */
export function selectHost(p: PodInfo, feasible: readonly NodeInfo[], random: () => number): NodeInfo {
  let maxOwnerCount = 0
  if (p.ownerUid !== '') {
    for (const node of feasible) {
      const c = node.ownerCounts.get(p.ownerUid) ?? 0
      if (c > maxOwnerCount) maxOwnerCount = c
    }
  }
  let best = feasible[0] as NodeInfo
  let bestScore = -1
  let ties = 0
  for (const node of feasible) {
    let score = leastAllocatedScore(p, node)
    if (maxOwnerCount > 0) {
      const c = node.ownerCounts.get(p.ownerUid) ?? 0
      score += Math.trunc((MAX_NODE_SCORE * (maxOwnerCount - c)) / maxOwnerCount)
    } else score += MAX_NODE_SCORE
    if (score > bestScore) {
      bestScore = score
      best = node
      ties = 1
    } else if (score === bestScore) {
      ties++
      if (Math.floor(random() * ties) === 0) best = node
    }
  }
  return best
}
