import { RaftErrorCode } from '../errors.js'
import type { RaftLog } from '../raft-log.js'
import { isRaftError } from '../storage.js'
import type { Entry, NodeId } from '../types.js'

/**
 * The simulation's safety checkers (Raft §5.2–§5.4, Figure 3). They see every member's persisted
 * entries, commit indexes, leadership and applied entries as they happen, keep small global maps of
 * what the cluster has agreed on, and throw a `SimViolation` at the first disagreement. The checks are
 * incremental (a map lookup per event), so they can run after every step of every seed.
 */

export type ViolationKind =
  /** Two leaders in one term (§5.2). */
  | 'electionSafety'
  /** Two logs hold the same (index, term) with different payloads or different predecessors (§5.3). */
  | 'logMatching'
  /** A leader lacks an entry committed in an earlier term (§5.4). */
  | 'leaderCompleteness'
  /** Two members applied different entries at one index, or a state machine image disagrees (§5.4.3). */
  | 'stateMachineSafety'
  /** A proposal reported committed is missing from a member at the end. */
  | 'durability'
  /** A ReadIndex answer older than a write reported before the read was issued. */
  | 'linearizability'
  /** Something was applied that no client successfully proposed, or entries were applied out of order. */
  | 'integrity'
  /** After the faults healed, no leader or no progress within the stated bound. */
  | 'liveness'
  /** The core threw: one of its own invariant assertions fired. */
  | 'coreInvariant'

export class SimViolation extends Error {
  readonly kind: ViolationKind
  constructor(kind: ViolationKind, message: string) {
    super(`${kind}: ${message}`)
    this.name = 'SimViolation'
    this.kind = kind
  }
}

/** Terms in the simulation stay far below this, so (index, term) fits one safe integer. */
const TERM_KEY_BASE = 1 << 24

function entryKey(index: number, term: number): number {
  if (term >= TERM_KEY_BASE) throw new Error(`term ${term} too large for the checker's keys`)
  return index * TERM_KEY_BASE + term
}

/** Identity of an entry's payload: its type and bytes (the term is compared separately). */
export function entryDigest(e: Entry): string {
  let s = e.type === 'confChange' ? 'c' : 'n'
  for (let i = 0; i < e.data.length; i++) s += String.fromCharCode(e.data[i]!)
  return s
}

/** Extends a state machine's hash chain with one applied entry (FNV-1a over index, term and payload). */
export function chainHash(prev: number, e: Entry): number {
  let h = (prev ^ 0x811c9dc5) >>> 0
  const mix = (byte: number): void => {
    h = Math.imul(h ^ (byte & 0xff), 0x01000193) >>> 0
  }
  for (const n of [e.index, e.term]) for (let k = 0; k < 4; k++) mix(n >>> (8 * k))
  mix(e.type === 'confChange' ? 1 : 0)
  for (let i = 0; i < e.data.length; i++) mix(e.data[i]!)
  return h
}

interface LoggedEntry {
  readonly digest: string
  /** Term of the entry before it in the log that persisted it; -1 when that was compacted away. */
  readonly prevTerm: number
  readonly firstSeenBy: NodeId
}

interface AppliedEntry {
  readonly term: number
  readonly digest: string
  readonly by: NodeId
}

interface CommitObservation {
  readonly index: number
  readonly term: number
  readonly by: NodeId
}

export class SimChecker {
  /**
   * Violations of these kinds are counted in `suppressed` instead of ending the run. Only the tests that
   * prove each checker can fail on its own use this (to let a later checker see a broken variant).
   */
  private readonly disabled: ReadonlySet<ViolationKind>
  readonly suppressed = new Map<ViolationKind, number>()
  /** Election safety: the leader of each term. */
  private readonly leaderOfTerm = new Map<number, NodeId>()
  /** Log matching: (index, term) -> payload and predecessor term, from every persisted entry. */
  private readonly logged = new Map<number, LoggedEntry>()
  /**
   * Leader completeness: for each term, the highest commit index a member observed while in that term,
   * with the entry's term. An entry committed in term T must be in the log of every leader of a term > T;
   * a commit observed in term T was made by a leader of a term <= T.
   */
  private readonly commitSeenInTerm = new Map<number, CommitObservation>()
  /** State machine safety: what was applied at each index, and the hash chain after it. */
  private readonly appliedAt: (AppliedEntry | undefined)[] = []
  private readonly chainAt: (number | undefined)[] = []
  leadersElected = 0
  highestCommit = 0

  constructor(disabled: readonly ViolationKind[] = []) {
    this.disabled = new Set(disabled)
  }

  /** Reports a violation: throws, unless that kind of check is disabled. */
  fail(kind: ViolationKind, message: string): void {
    if (!this.disabled.has(kind)) throw new SimViolation(kind, message)
    this.suppressed.set(kind, (this.suppressed.get(kind) ?? 0) + 1)
  }

  /**
   * A member is leader in `term` (called after every input it processed). Records the term's leader and,
   * the first time, checks that its log holds every entry committed in an earlier term.
   */
  onLeader(id: NodeId, term: number, log: RaftLog): void {
    const known = this.leaderOfTerm.get(term)
    if (known === id) return
    if (known !== undefined) {
      this.fail('electionSafety', `term ${term} has two leaders: ${known} and ${id}`)
      return
    }
    this.leaderOfTerm.set(term, id)
    this.leadersElected++
    let need: CommitObservation | undefined
    for (const [seenTerm, obs] of this.commitSeenInTerm) {
      if (seenTerm < term && (need === undefined || obs.index > need.index)) need = obs
    }
    if (need === undefined) return
    const t = log.term(need.index)
    if (typeof t === 'number') {
      if (t !== need.term) {
        this.fail(
          'leaderCompleteness',
          `new leader ${id} of term ${term} has term ${t} at index ${need.index}, committed with term ${need.term} (seen by ${need.by})`,
        )
      }
      return
    }
    // Compacted: the leader's snapshot covers the index (log matching vouches for what it contains).
    if (isRaftError(t, RaftErrorCode.Compacted)) return
    this.fail(
      'leaderCompleteness',
      `new leader ${id} of term ${term} has no entry ${need.index} (last ${log.lastIndex()}), committed with term ${need.term} (seen by ${need.by})`,
    )
  }

  /**
   * A member persisted `entries` (contiguous); `prevTerm` is the term of the entry before the first one
   * in its log, or -1 if compacted.
   */
  onPersist(id: NodeId, entries: readonly Entry[], prevTerm: number): void {
    let prev = prevTerm
    for (const e of entries) {
      const key = entryKey(e.index, e.term)
      const digest = entryDigest(e)
      const known = this.logged.get(key)
      if (known === undefined) {
        this.logged.set(key, { digest, prevTerm: prev, firstSeenBy: id })
      } else if (known.digest !== digest) {
        this.fail(
          'logMatching',
          `entry (index ${e.index}, term ${e.term}) differs between members ${known.firstSeenBy} and ${id}`,
        )
      } else if (known.prevTerm !== prev && known.prevTerm !== -1 && prev !== -1) {
        this.fail(
          'logMatching',
          `entry (index ${e.index}, term ${e.term}) follows term ${known.prevTerm} on ${known.firstSeenBy} but term ${prev} on ${id}`,
        )
      }
      prev = e.term
    }
  }

  /** A member in term `observerTerm` learned that `index` (of term `entryTerm`) is committed. */
  onCommit(id: NodeId, observerTerm: number, index: number, entryTerm: number): void {
    if (index > this.highestCommit) this.highestCommit = index
    const known = this.commitSeenInTerm.get(observerTerm)
    if (known === undefined || index > known.index) {
      this.commitSeenInTerm.set(observerTerm, { index, term: entryTerm, by: id })
    }
  }

  /** A member applied `e`; `chain` is its state machine's hash chain after it. */
  onApply(id: NodeId, e: Entry, chain: number): void {
    const digest = entryDigest(e)
    const known = this.appliedAt[e.index]
    if (known === undefined) {
      this.appliedAt[e.index] = { term: e.term, digest, by: id }
    } else if (known.term !== e.term || known.digest !== digest) {
      this.fail(
        'stateMachineSafety',
        `index ${e.index}: member ${known.by} applied an entry of term ${known.term}, member ${id} one of term ${e.term}${known.digest === digest ? '' : ' with another payload'}`,
      )
    }
    this.checkChain(id, e.index, chain)
  }

  /** A member's state machine image (after a snapshot) stands at `index` with hash chain `chain`. */
  checkChain(id: NodeId, index: number, chain: number): void {
    const known = this.chainAt[index]
    if (known === undefined) this.chainAt[index] = chain
    else if (known !== chain) {
      this.fail('stateMachineSafety', `member ${id}'s state machine at index ${index} diverged`)
    }
  }

  /** The hash chain every member must have after applying `index`, if any member got there. */
  chainAfter(index: number): number | undefined {
    return this.chainAt[index]
  }

  highestApplied(): number {
    return this.appliedAt.length - 1
  }
}
