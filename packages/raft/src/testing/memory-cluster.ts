import type { RaftConfig } from '../config.js'
import { SeededRandom } from '../rand.js'
import { RawNode } from '../raw-node.js'
import { MemoryStorage } from '../storage.js'
import type { ConfState, Entry, Message, NodeId, ReadState } from '../types.js'
import { decodeConfChange } from '../types.js'

/**
 * A member of an in-process cluster: a RawNode over a MemoryStorage (its "disk"), a log of applied
 * entries (its state machine), and a driver that handles Ready batches in the contract's order.
 */
export class MemoryMember {
  readonly storage = new MemoryStorage()
  node: RawNode
  /** Every entry applied, in order (the state machine). */
  applied: Entry[] = []
  readStates: ReadState[] = []
  confState: ConfState = { voters: [], learners: [] }

  constructor(
    readonly id: NodeId,
    readonly config: Omit<RaftConfig, 'id' | 'storage' | 'random'> & { seed: number },
  ) {
    this.node = this.newNode()
  }

  newNode(): RawNode {
    const { seed, ...rest } = this.config
    return new RawNode({ ...rest, id: this.id, storage: this.storage, random: new SeededRandom(seed) })
  }

  /**
   * Handles one Ready: persist, then hand the messages to `send`, then apply, then advance.
   * Returns false if there was nothing to do.
   */
  processReady(send: (m: Message) => void, onApply?: (e: Entry) => void): boolean {
    if (!this.node.hasReady()) return false
    const rd = this.node.ready()
    if (rd.snapshot !== undefined) this.storage.applySnapshot(rd.snapshot)
    if (rd.entries.length > 0) this.storage.append(rd.entries)
    if (rd.hardState !== undefined) this.storage.setHardState(rd.hardState)
    for (const m of rd.messages) send(m)
    if (rd.snapshot !== undefined) this.confState = rd.snapshot.metadata.confState
    for (const e of rd.committedEntries) {
      if (e.type === 'confChange') this.confState = this.node.applyConfChange(decodeConfChange(e.data))
      this.applied.push(e)
      onApply?.(e)
    }
    for (const rs of rd.readStates) this.readStates.push(rs)
    this.node.advance()
    return true
  }
}

/**
 * A synchronous, fault-free cluster: messages are delivered in send order until nothing is left.
 * For unit tests, examples and the benchmark; the fault-injecting simulation lives in `simulation.ts`.
 */
export class MemoryCluster {
  readonly members = new Map<NodeId, MemoryMember>()
  private queue: Message[] = []
  /** Messages delivered so far. */
  delivered = 0

  constructor(
    ids: readonly NodeId[],
    config: Partial<Omit<RaftConfig, 'id' | 'storage' | 'random'>> & { seed?: number } = {},
  ) {
    const seed = config.seed ?? 1
    for (const id of ids) {
      const m = new MemoryMember(id, {
        electionTick: 10,
        heartbeatTick: 1,
        ...config,
        seed: seed * 7919 + id,
      })
      m.node.bootstrap(ids)
      this.members.set(id, m)
    }
  }

  member(id: NodeId): MemoryMember {
    const m = this.members.get(id)
    if (m === undefined) throw new Error(`no member ${id}`)
    return m
  }

  /** Processes Ready batches and delivers messages until the cluster is quiescent. */
  stabilize(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      let progressed = false
      for (const m of this.members.values()) {
        while (m.processReady((msg) => this.queue.push(msg))) progressed = true
      }
      if (this.queue.length > 0) {
        progressed = true
        const q = this.queue
        this.queue = []
        for (const msg of q) {
          const to = this.members.get(msg.to)
          if (to !== undefined) {
            this.delivered++
            to.node.step(msg)
          }
        }
      }
      if (!progressed) return
    }
    throw new Error(`cluster did not stabilize within ${maxRounds} rounds`)
  }

  /** Campaigns `id` and stabilizes: returns once it leads. */
  elect(id: NodeId): void {
    this.member(id).node.campaign()
    this.stabilize()
    const st = this.member(id).node.status()
    if (st.raftState !== 'leader') throw new Error(`${id} failed to become leader (is ${st.raftState})`)
  }

  leader(): MemoryMember | undefined {
    for (const m of this.members.values()) if (m.node.status().raftState === 'leader') return m
    return undefined
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) for (const m of this.members.values()) m.node.tick()
  }
}
