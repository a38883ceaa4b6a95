import type { Entry, NodeId, ReadState } from '../types.js'
import type { SimChecker } from './sim-checker.js'
import type { SimMember } from './sim-member.js'

/**
 * The simulation's clients and what they were told. A proposal carries a unique id in its payload; it
 * is *reported committed* when the member it was proposed to applies it (etcd acknowledges a write after
 * applying it). A proposal not reported within a timeout is proposed again, possibly elsewhere, so the
 * raw applied sequence may hold an id twice; the clients count an id once. A proposal refused outright
 * (`propose` returned a RaftError) is *failed and told*: it must never be applied.
 *
 * Reads: a ReadIndex request remembers the highest index reported committed before it was issued; every
 * ReadState answering it must be at least that (a linearizable read sees every acknowledged write).
 */

export type ProposalStatus = 'pending' | 'committed' | 'failed'

export interface Proposal {
  readonly id: number
  status: ProposalStatus
  attempts: number
  /** Tick at which the client proposes it again if still pending. */
  retryTick: number
  /** Index at which the member that acknowledged it applied it (once committed). */
  index: number
}

interface ReadRequest {
  readonly id: number
  /** The member the client asked: only it may answer. */
  readonly member: NodeId
  /** Highest index reported committed when the read was issued. */
  readonly minIndex: number
  answered: boolean
}

export interface ClientStats {
  proposed: number
  committed: number
  failedAndTold: number
  reproposals: number
  failedAttempts: number
  readsIssued: number
  readsAnswered: number
  readsFailed: number
}

const PROPOSAL_PREFIX = 0x70 // 'p'
const READ_PREFIX = 0x72 // 'r'

function encodeId(prefix: number, id: number): Uint8Array {
  const text = `${String.fromCharCode(prefix)}${id}`
  const out = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i)
  return out
}

function decodeId(prefix: number, data: Uint8Array): number | undefined {
  if (data.length < 2 || data[0] !== prefix) return undefined
  let n = 0
  for (let i = 1; i < data.length; i++) {
    const d = data[i]! - 0x30
    if (d < 0 || d > 9) return undefined
    n = n * 10 + d
  }
  return n
}

export class SimClients {
  private readonly proposals = new Map<number, Proposal>()
  /** Ids of pending proposals (insertion order: oldest first). */
  readonly pending = new Set<number>()
  private readonly reads = new Map<number, ReadRequest>()
  private nextProposalId = 1
  private nextReadId = 1
  /** Highest index of any proposal reported committed so far. */
  maxReportedIndex = 0
  readonly stats: ClientStats = {
    proposed: 0,
    committed: 0,
    failedAndTold: 0,
    reproposals: 0,
    failedAttempts: 0,
    readsIssued: 0,
    readsAnswered: 0,
    readsFailed: 0,
  }

  /**
   * @param timeoutTicks how long a client waits for an accepted proposal before proposing it again
   * @param refusedRetryTicks how long it waits after a refused retry (it was told at once)
   */
  constructor(
    private readonly checker: SimChecker,
    private readonly timeoutTicks: number,
    private readonly refusedRetryTicks: number,
  ) {}

  /** `count` new proposals at `m` (running), as one batch when more than one. */
  propose(m: SimMember, tick: number, count = 1): Proposal[] {
    const node = m.node
    if (node === undefined) throw new Error(`proposing at member ${m.id}, which is down`)
    const ps: Proposal[] = []
    for (let i = 0; i < count; i++) {
      const p: Proposal = {
        id: this.nextProposalId++,
        status: 'pending',
        attempts: 1,
        retryTick: tick + this.timeoutTicks,
        index: 0,
      }
      this.proposals.set(p.id, p)
      ps.push(p)
    }
    this.stats.proposed += count
    const datas = ps.map((p) => encodeId(PROPOSAL_PREFIX, p.id))
    const err = count === 1 ? node.propose(datas[0]!) : node.proposeBatch(datas)
    for (const p of ps) {
      if (err === undefined) {
        this.pending.add(p.id)
        m.waiters.add(p.id)
      } else {
        // Never handed to Raft: the client was told it failed, and it must never show up applied.
        p.status = 'failed'
        this.stats.failedAndTold++
      }
    }
    return ps
  }

  /** Proposes a pending proposal again at `m` after its timeout. */
  repropose(m: SimMember, id: number, tick: number): void {
    const p = this.proposals.get(id)
    if (p === undefined || p.status !== 'pending') throw new Error(`proposal ${id} is not pending`)
    const node = m.node
    if (node === undefined) throw new Error(`proposing at member ${m.id}, which is down`)
    this.stats.reproposals++
    p.attempts++
    if (node.propose(encodeId(PROPOSAL_PREFIX, p.id)) !== undefined) {
      // Refused: the proposal stays pending (an earlier attempt may still commit); retry soon.
      this.stats.failedAttempts++
      p.retryTick = tick + this.refusedRetryTicks
    } else {
      m.waiters.add(p.id)
      p.retryTick = tick + this.timeoutTicks
    }
  }

  proposal(id: number): Proposal | undefined {
    return this.proposals.get(id)
  }

  /** Member `m` applied the normal, non-empty entry `e`. */
  onApplied(m: SimMember, e: Entry): void {
    const id = decodeId(PROPOSAL_PREFIX, e.data)
    const p = id === undefined ? undefined : this.proposals.get(id)
    if (id === undefined || p === undefined) {
      this.checker.fail('integrity', `member ${m.id} applied entry ${e.index}, which no client proposed`)
      return
    }
    if (p.status === 'failed') {
      this.checker.fail(
        'integrity',
        `member ${m.id} applied proposal ${id} at index ${e.index}, which was refused (failed and told)`,
      )
      return
    }
    if (!m.waiters.delete(id) || p.status !== 'pending') return
    p.status = 'committed'
    p.index = e.index
    this.pending.delete(id)
    this.stats.committed++
    if (e.index > this.maxReportedIndex) this.maxReportedIndex = e.index
  }

  /** Issues a ReadIndex request at `m` (running). */
  issueRead(m: SimMember): void {
    const node = m.node
    if (node === undefined) throw new Error(`reading at member ${m.id}, which is down`)
    const r: ReadRequest = {
      id: this.nextReadId++,
      member: m.id,
      minIndex: this.maxReportedIndex,
      answered: false,
    }
    this.stats.readsIssued++
    if (node.readIndex(encodeId(READ_PREFIX, r.id)) !== undefined) {
      this.stats.readsFailed++
      return
    }
    this.reads.set(r.id, r)
  }

  onReadState(m: SimMember, rs: ReadState): void {
    const id = decodeId(READ_PREFIX, rs.requestCtx)
    const r = id === undefined ? undefined : this.reads.get(id)
    if (r === undefined) {
      this.checker.fail('integrity', `member ${m.id} got a ReadState for an unknown request`)
      return
    }
    if (r.member !== m.id) {
      // A forwarded request must be answered to the member that forwarded it, not to a middleman.
      this.checker.fail('integrity', `read ${r.id} was issued at member ${r.member} but answered at ${m.id}`)
    }
    if (rs.index < r.minIndex) {
      this.checker.fail(
        'linearizability',
        `read ${r.id} answered at member ${m.id} with index ${rs.index}, but index ${r.minIndex} was reported committed before it was issued`,
      )
    }
    if (rs.index > this.checker.highestCommit) {
      // A read point must be a commit index some member already knew (the leader's, when it got the read).
      this.checker.fail(
        'linearizability',
        `read ${r.id} answered at member ${m.id} with index ${rs.index}, beyond any commit index (${this.checker.highestCommit})`,
      )
    }
    if (!r.answered) {
      r.answered = true
      this.stats.readsAnswered++
    }
  }

  /**
   * Durability: every proposal reported committed is applied by each of `members` (the running members
   * of the final configuration, all caught up). The state machine checker already verified that what
   * they applied agrees index by index; here, each must have reached the proposal's index and, where its
   * log still holds that entry, hold exactly that proposal there.
   */
  checkDurability(members: readonly SimMember[]): void {
    for (const p of this.proposals.values()) {
      if (p.status !== 'committed') continue
      for (const m of members) {
        if (m.sm.index < p.index) {
          this.checker.fail(
            'durability',
            `proposal ${p.id} was reported committed at index ${p.index}, but member ${m.id} applied only up to ${m.sm.index}`,
          )
          continue
        }
        if (p.index < m.storage.firstIndex()) continue
        const ents = m.storage.entries(p.index, p.index + 1, Number.POSITIVE_INFINITY)
        const held = Array.isArray(ents) ? ents[0] : undefined
        if (held === undefined || decodeId(PROPOSAL_PREFIX, held.data) !== p.id) {
          this.checker.fail(
            'durability',
            `proposal ${p.id} was reported committed at index ${p.index}, but member ${m.id}'s log holds something else there`,
          )
        }
      }
    }
  }
}
