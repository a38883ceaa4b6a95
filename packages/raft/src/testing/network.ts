import type { RaftConfig } from '../config.js'
import type { RaftError } from '../errors.js'
import { SeededRandom } from '../rand.js'
import type { Ready } from '../raw-node.js'
import { RawNode, raftOf } from '../raw-node.js'
import { MemoryStorage } from '../storage.js'
import type {
  ConfState,
  Entry,
  HardState,
  Message,
  MessageType,
  NodeId,
  ReadState,
  Snapshot,
} from '../types.js'
import { decodeConfChange } from '../types.js'

/**
 * A deterministic, hand-driven network for unit and scenario tests of the Raft core: the test decides
 * when members handle their Ready batches, when messages hop, which links are cut and which messages are
 * dropped, and how far each member's clock ticks. Nothing is random except the members' election
 * timeouts, drawn from per-member seeds.
 *
 * Unlike `MemoryCluster` (fault-free, always delivers everything) and the fault-injecting simulation
 * (faults drawn from a seed), every fault here is placed explicitly by the test.
 */

/** Raft options of a test member; the harness supplies id, storage and randomness. */
export type TestRaftOptions = Partial<Omit<RaftConfig, 'id' | 'storage' | 'random'>>

const emptyConf: ConfState = { voters: [], learners: [] }

/**
 * A MemoryStorage whose configuration can be set without a snapshot, so a test can start a member from a
 * hand-built log (etcd's `newTestMemoryStorage(withPeers(...))`). Once a snapshot is installed, the
 * snapshot's configuration wins.
 */
export class ConfiguredStorage extends MemoryStorage {
  constructor(private readonly initialConf: ConfState = emptyConf) {
    super()
  }

  override initialState(): { hardState: HardState; confState: ConfState } {
    const s = super.initialState()
    return this.snapshot().metadata.index === 0 ? { hardState: s.hardState, confState: this.initialConf } : s
  }
}

/**
 * A storage holding a hand-built log: entry `i + 1` has term `terms[i]` (empty normal entries), the
 * configuration is `voters`/`learners`, and the hard state defaults to the last term, no vote, commit 0.
 */
export function storageWithLog(opts: {
  voters: readonly NodeId[]
  learners?: readonly NodeId[]
  terms?: readonly number[]
  hardState?: Partial<HardState>
}): ConfiguredStorage {
  const s = new ConfiguredStorage({ voters: [...opts.voters], learners: [...(opts.learners ?? [])] })
  const terms = opts.terms ?? []
  s.append(terms.map((term, i) => ({ term, index: i + 1, type: 'normal', data: new Uint8Array(0) })))
  const lastTerm = terms[terms.length - 1] ?? 0
  s.setHardState({ term: lastTerm, vote: 0, commit: 0, ...opts.hardState })
  return s
}

/** Builds a RawNode over `storage` with test defaults (electionTick 10, heartbeatTick 1). */
export function newTestRawNode(
  id: NodeId,
  storage: MemoryStorage,
  opts: TestRaftOptions & { seed?: number } = {},
): RawNode {
  const { seed, ...rest } = opts
  return new RawNode({
    electionTick: 10,
    heartbeatTick: 1,
    ...rest,
    id,
    storage,
    random: new SeededRandom(seed ?? id),
  })
}

/** Decodes the payloads of the applied normal, non-empty entries (the state machine's contents). */
export function appliedData(entries: readonly Entry[]): string[] {
  const dec = new TextDecoder()
  return entries.filter((e) => e.type === 'normal' && e.data.length > 0).map((e) => dec.decode(e.data))
}

/**
 * One member: a RawNode over a MemoryStorage (its disk) and a state machine that records applied entries.
 * `processReady` follows the Ready contract: persist, send, apply, advance.
 */
export class TestMember {
  node: RawNode
  /** Entries applied since the last restart, in order (conf changes included). */
  applied: Entry[] = []
  /** Snapshots installed from the leader, in order. */
  snapshots: Snapshot[] = []
  readStates: ReadState[] = []
  confState: ConfState
  /** Called with every Ready before it is handled. */
  onReady: ((rd: Ready) => void) | undefined
  /** Called with every Ready once its writes are in storage, before its messages are sent. */
  onPersisted: ((rd: Ready) => void) | undefined
  /** When false, committed conf changes are not applied to the node (to observe "applied, not appended"). */
  applyConfChanges = true

  constructor(
    readonly id: NodeId,
    readonly storage: MemoryStorage,
    readonly options: TestRaftOptions & { seed?: number },
  ) {
    this.node = newTestRawNode(id, storage, options)
    this.confState = storage.initialState().confState
  }

  /** Handles one Ready if there is one; returns false otherwise. */
  processReady(send: (m: Message) => void): boolean {
    if (!this.node.hasReady()) return false
    const rd = this.node.ready()
    this.onReady?.(rd)
    if (rd.snapshot !== undefined) {
      const err = this.storage.applySnapshot(rd.snapshot)
      if (err !== undefined) throw err
    }
    if (rd.entries.length > 0) this.storage.append(rd.entries)
    if (rd.hardState !== undefined) this.storage.setHardState(rd.hardState)
    this.onPersisted?.(rd)
    for (const m of rd.messages) send(m)
    if (rd.snapshot !== undefined) {
      this.snapshots.push(rd.snapshot)
      this.confState = rd.snapshot.metadata.confState
    }
    for (const e of rd.committedEntries) {
      if (e.type === 'confChange' && this.applyConfChanges) {
        this.confState = this.node.applyConfChange(decodeConfChange(e.data))
      }
      this.applied.push(e)
    }
    for (const rs of rd.readStates) this.readStates.push(rs)
    this.node.advance()
    return true
  }

  /**
   * Crash and restart: everything not persisted in storage is lost (unstable entries, messages not yet
   * handed out, volatile state); the state machine is rebuilt by re-applying committed entries.
   */
  restart(): void {
    this.node = newTestRawNode(this.id, this.storage, this.options)
    this.applied = []
    this.readStates = []
    this.confState = this.storage.initialState().confState
  }

  /** Takes a snapshot of the state machine at the applied index and compacts the log up to it. */
  compact(index = this.node.status().applied): Snapshot {
    const snap = this.storage.createSnapshot(index, raftOf(this.node).trk.confState(), new Uint8Array([1]))
    if (!('metadata' in snap)) throw snap
    const err = this.storage.compact(index)
    if (err !== undefined) throw err
    return snap
  }
}

/** Returns true to drop the message. */
export type MessageFilter = (m: Message) => boolean

/** A record of one message hop. */
export interface Delivery {
  readonly msg: Message
  /** The error the receiver's `step` returned, if any. */
  readonly err: RaftError | undefined
}

/**
 * The network: members, messages in flight, and the faults the test placed. Messages are delivered in
 * send order, one hop per `deliver()`; a cut link or a matching filter drops a message when it arrives.
 */
export class TestNetwork {
  readonly members = new Map<NodeId, TestMember>()
  /** Messages sent and not yet delivered, in send order. */
  inflight: Message[] = []
  /** Every message that reached its receiver, in order. */
  readonly delivered: Delivery[] = []
  /** Every message dropped by a cut link, an isolation, a filter, or an unknown receiver. */
  readonly dropped: Message[] = []
  private readonly cuts = new Set<string>()
  private readonly isolated = new Set<NodeId>()
  private filters: MessageFilter[] = []

  /**
   * Creates founding members `ids`, bootstrapped with each other as voters. `options` apply to every
   * member; member `id` draws its election timeouts from seed `seed * 7919 + id`.
   */
  constructor(
    ids: readonly NodeId[] = [],
    readonly options: TestRaftOptions & { seed?: number } = {},
  ) {
    for (const id of ids) {
      const m = this.add(id)
      m.node.bootstrap(ids)
    }
  }

  /**
   * Adds a member over `storage` (an empty MemoryStorage by default: a member joining later, which learns
   * the configuration from the leader). `options` override the network's.
   */
  add(
    id: NodeId,
    storage: MemoryStorage = new MemoryStorage(),
    options: TestRaftOptions & { seed?: number } = {},
  ): TestMember {
    if (this.members.has(id)) throw new Error(`member ${id} exists`)
    const { seed, ...rest } = this.options
    const m = new TestMember(id, storage, { ...rest, seed: (seed ?? 1) * 7919 + id, ...options })
    this.members.set(id, m)
    return m
  }

  member(id: NodeId): TestMember {
    const m = this.members.get(id)
    if (m === undefined) throw new Error(`no member ${id}`)
    return m
  }

  node(id: NodeId): RawNode {
    return this.member(id).node
  }

  // ---------------------------------------------------------------------------------------------
  // Faults

  /** Drops every message between `a` and `b`, both ways. */
  cut(a: NodeId, b: NodeId): void {
    this.cuts.add(`${a}->${b}`)
    this.cuts.add(`${b}->${a}`)
  }

  /** Drops every message from `from` to `to` (one direction only). */
  cutOneWay(from: NodeId, to: NodeId): void {
    this.cuts.add(`${from}->${to}`)
  }

  /** Drops every message to and from `id`. */
  isolate(id: NodeId): void {
    this.isolated.add(id)
  }

  /** Drops messages matching `filter` until the returned function is called (or `heal()`). */
  addFilter(filter: MessageFilter): () => void {
    this.filters.push(filter)
    return () => {
      this.filters = this.filters.filter((f) => f !== filter)
    }
  }

  /** Drops every message of the given types. */
  dropTypes(...types: MessageType[]): () => void {
    return this.addFilter((m) => types.includes(m.type))
  }

  /** Removes every cut, isolation and filter. */
  heal(): void {
    this.cuts.clear()
    this.isolated.clear()
    this.filters = []
  }

  private blocked(m: Message): boolean {
    if (this.isolated.has(m.from) || this.isolated.has(m.to)) return true
    if (this.cuts.has(`${m.from}->${m.to}`)) return true
    return this.filters.some((f) => f(m))
  }

  // ---------------------------------------------------------------------------------------------
  // Driving

  /** Handles every pending Ready of the given members (all by default); returns whether any was handled. */
  flush(ids?: readonly NodeId[]): boolean {
    let any = false
    for (const id of ids ?? [...this.members.keys()]) {
      const m = this.member(id)
      while (m.processReady((msg) => this.inflight.push(msg))) any = true
    }
    return any
  }

  /**
   * Delivers the messages currently in flight (one hop; messages they cause wait for the next call),
   * optionally only those matching `only`. Returns the number that reached their receiver.
   */
  deliver(only?: (m: Message) => boolean): number {
    const now: Message[] = []
    const keep: Message[] = []
    for (const m of this.inflight) (only === undefined || only(m) ? now : keep).push(m)
    this.inflight = keep
    let n = 0
    for (const m of now) {
      const to = this.members.get(m.to)
      if (to === undefined || this.blocked(m)) {
        this.dropped.push(m)
        continue
      }
      const err = to.node.step(m)
      this.delivered.push({ msg: m, err })
      n++
    }
    return n
  }

  /** Alternates `flush()` and `deliver()` until nothing is left to do. */
  stabilize(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      const handled = this.flush()
      if (this.inflight.length === 0 && !handled) return
      this.deliver()
    }
    throw new Error(`network did not stabilize within ${maxRounds} rounds`)
  }

  /** Ticks member `id` `n` times (no Ready handling in between). */
  tick(id: NodeId, n = 1): void {
    const node = this.node(id)
    for (let i = 0; i < n; i++) node.tick()
  }

  /** `n` rounds of: tick every member (or `ids`) once, then stabilize. */
  tickAndStabilize(n = 1, ids?: readonly NodeId[]): void {
    for (let i = 0; i < n; i++) {
      for (const id of ids ?? [...this.members.keys()]) this.node(id).tick()
      this.stabilize()
    }
  }

  /** Stabilizes, campaigns `id` and stabilizes again; throws unless it then leads. */
  elect(id: NodeId): void {
    this.stabilize()
    const err = this.node(id).campaign()
    if (err !== undefined) throw err
    this.stabilize()
    const st = this.node(id).status()
    if (st.raftState !== 'leader') throw new Error(`${id} failed to become leader (is ${st.raftState})`)
  }

  /** Members that currently believe they lead, in id order. */
  leaders(): NodeId[] {
    return [...this.members.keys()]
      .filter((id) => this.node(id).status().raftState === 'leader')
      .sort((a, b) => a - b)
  }

  /** Proposes `text` at member `id`. */
  propose(id: NodeId, text: string): RaftError | undefined {
    return this.node(id).propose(new TextEncoder().encode(text))
  }

  /** Messages delivered so far whose type is one of `types`. */
  deliveredOf(...types: MessageType[]): Message[] {
    return this.delivered.filter((d) => types.includes(d.msg.type)).map((d) => d.msg)
  }
}
