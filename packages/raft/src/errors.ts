/**
 * Errors of the Raft core, each with a stable code. Expected outcomes (a dropped proposal, a compacted
 * index) are returned as values of `RaftError`; only broken invariants throw.
 */

export const RaftErrorCode = {
  /** The proposal was not accepted: no leader known, leadership transfer in progress, or the leader's
   * uncommitted-size limit was reached. The caller must retry or fail the request. */
  ProposalDropped: 'RAFT_ERR_PROPOSAL_DROPPED',
  /** Storage: the requested index precedes the first retained entry (compacted into a snapshot). */
  Compacted: 'RAFT_ERR_COMPACTED',
  /** Storage: the requested index is beyond the last entry. */
  Unavailable: 'RAFT_ERR_UNAVAILABLE',
  /** Storage: a snapshot exists but is older than the one requested, or is being produced. */
  SnapOutOfDate: 'RAFT_ERR_SNAP_OUT_OF_DATE',
  SnapshotTemporarilyUnavailable: 'RAFT_ERR_SNAPSHOT_TEMPORARILY_UNAVAILABLE',
  /** `step` was given a local message type that only the node itself may produce. */
  StepLocalMsg: 'RAFT_ERR_STEP_LOCAL_MSG',
  /** `step` was given a response from a peer that is not in the configuration. */
  StepPeerNotFound: 'RAFT_ERR_STEP_PEER_NOT_FOUND',
  /** A conf change was refused (another one is pending, or it would be meaningless). */
  ConfChangeRefused: 'RAFT_ERR_CONF_CHANGE_REFUSED',
  /** Configuration rejected at construction. */
  InvalidConfig: 'RAFT_ERR_INVALID_CONFIG',
} as const

export type RaftErrorCode = (typeof RaftErrorCode)[keyof typeof RaftErrorCode]

export class RaftError extends Error {
  readonly code: RaftErrorCode
  constructor(code: RaftErrorCode, message: string) {
    super(message)
    this.name = 'RaftError'
    this.code = code
  }
}

export const errProposalDropped = (why: string): RaftError =>
  new RaftError(RaftErrorCode.ProposalDropped, `raft proposal dropped: ${why}`)
/**
 * Storage's two routine outcomes are shared instances, as etcd's sentinel errors are: a follower asks
 * for the term of an index past its log on every append (findConflict), and building an Error (with its
 * stack trace) each time showed up in profiles. Callers compare codes, never identities or stacks.
 */
const COMPACTED = new RaftError(RaftErrorCode.Compacted, 'requested index is unavailable due to compaction')
const UNAVAILABLE = new RaftError(RaftErrorCode.Unavailable, 'requested entry at index is unavailable')
export const errCompacted = (): RaftError => COMPACTED
export const errUnavailable = (): RaftError => UNAVAILABLE
export const errSnapOutOfDate = (): RaftError =>
  new RaftError(RaftErrorCode.SnapOutOfDate, 'requested index is older than the existing snapshot')
export const errSnapshotTemporarilyUnavailable = (): RaftError =>
  new RaftError(RaftErrorCode.SnapshotTemporarilyUnavailable, 'snapshot is temporarily unavailable')
