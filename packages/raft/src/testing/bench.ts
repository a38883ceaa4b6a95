import { performance } from 'node:perf_hooks'
import { raftOf } from '../raw-node.js'
import type { Entry, Message, NodeId } from '../types.js'
import { MemoryCluster } from './memory-cluster.js'

export interface RaftBenchOptions {
  /** Concurrent proposers; each waits for its proposal to be applied on the leader before the next. */
  proposers: number
  /** Total proposals to commit. */
  proposals: number
  /** Payload bytes per proposal (etcd's benchmark uses 256-byte values). */
  payloadBytes?: number
  /** Members in the cluster. */
  members?: number
  /** Compact each member's log every this many applied entries (bounds memory). */
  compactEvery?: number
}

export interface RaftBenchResult {
  proposers: number
  proposals: number
  members: number
  seconds: number
  /** Committed (and applied on the leader) proposals per second. */
  perSecond: number
  /** Messages delivered between members. */
  messages: number
}

/**
 * Committed proposals per second through an in-process cluster: no disk, no sockets, so it measures
 * the core alone. The driver runs the Ready contract in order (persist to MemoryStorage, send, apply,
 * advance). Idle proposers' proposals are batched into one `proposeBatch` per round, as the store batches
 * client requests into one Raft proposal.
 */
export function runRaftBench(opts: RaftBenchOptions): RaftBenchResult {
  const members = opts.members ?? 3
  const payloadBytes = opts.payloadBytes ?? 256
  const compactEvery = opts.compactEvery ?? 10_000
  const ids: NodeId[] = Array.from({ length: members }, (_, i) => i + 1)
  const cluster = new MemoryCluster(ids, { seed: 1, maxInflightMsgs: 256 })
  cluster.stabilize()
  cluster.elect(1)
  const leader = cluster.member(1)

  const payload = new Uint8Array(payloadBytes)
  let idle = opts.proposers
  let committed = 0
  let proposed = 0
  const queue: Message[] = []
  const send = (m: Message): void => {
    queue.push(m)
  }
  const onLeaderApply = (e: Entry): void => {
    if (e.type === 'normal' && e.data.length > 0) {
      committed++
      idle++
    }
  }

  const start = performance.now()
  let messages = 0
  while (committed < opts.proposals) {
    const n = Math.min(idle, opts.proposals - proposed)
    if (n > 0) {
      const batch: Uint8Array[] = new Array<Uint8Array>(n).fill(payload)
      const err = leader.node.proposeBatch(batch)
      if (err !== undefined) throw err
      idle -= n
      proposed += n
    }
    // One round: every member handles its Ready, then every queued message is delivered.
    let progressed = false
    for (const m of cluster.members.values()) {
      if (m === leader) progressed = m.processReady(send, onLeaderApply) || progressed
      else progressed = m.processReady(send) || progressed
    }
    if (queue.length > 0) {
      progressed = true
      const q = queue.splice(0, queue.length)
      messages += q.length
      for (const msg of q) cluster.member(msg.to).node.step(msg)
    }
    if (!progressed && n === 0) throw new Error('benchmark stalled')
    for (const m of cluster.members.values()) maybeCompact(m, compactEvery)
  }
  const seconds = (performance.now() - start) / 1000
  // Not timed: let followers catch up and check that every member applied the same log.
  cluster.stabilize()
  const appliedIndex = raftOf(leader.node).raftLog.applied
  for (const m of cluster.members.values()) {
    if (raftOf(m.node).raftLog.applied !== appliedIndex) {
      throw new Error(
        `member ${m.id} applied ${raftOf(m.node).raftLog.applied}, leader applied ${appliedIndex}`,
      )
    }
  }
  return {
    proposers: opts.proposers,
    proposals: committed,
    members,
    seconds,
    perSecond: committed / seconds,
    messages,
  }
}

/** Snapshots and compacts a member's log once it applied `every` entries past its snapshot. */
function maybeCompact(m: ReturnType<MemoryCluster['member']>, every: number): void {
  const applied = raftOf(m.node).raftLog.applied
  const snapIndex = m.storage.firstIndex() - 1
  if (applied - snapIndex < every) return
  m.storage.createSnapshot(applied, m.confState, new Uint8Array(0))
  // Keep some entries for followers that lag slightly (etcd keeps 5,000).
  const keep = Math.floor(every / 2)
  if (applied - keep > snapIndex) m.storage.compact(applied - keep)
  m.applied.length = 0
}
