/**
 * @hakube/raft — Raft consensus as a pure, deterministic state machine, shaped after etcd-io/raft.
 *
 * Inputs: `tick()`, `step(message)`, `propose(data)`, `readIndex(ctx)`, `proposeConfChange(change)`,
 * `transferLeadership(to)`. Output: a `Ready` batch (hard state and entries to persist, messages to send
 * only after that, committed entries to apply, a snapshot to install, read states), acknowledged by
 * `advance()`.
 *
 * Guarantees (given an application that honours the Ready contract):
 * - election safety, log matching, leader completeness and state machine safety (Raft §5);
 * - a leader counts its own copy of an entry towards the commit quorum only after the application
 *   acknowledged persisting it, and entries are handed out for applying only once stable locally;
 * - PreVote and CheckQuorum (on by default): a member rejoining after a partition cannot depose a healthy
 *   leader; a leader without an active quorum steps down within an election timeout;
 * - ReadIndex reads are linearizable, also from followers; a new leader answers them only after it has
 *   committed an entry of its own term;
 * - determinism: the same inputs and the same seeded `RandomSource` give the same outputs.
 *
 * Not guaranteed:
 * - delivery of proposals: a proposal accepted by a follower (forwarded) or by a leader that then loses
 *   leadership may be lost without notice. Callers detect that by timing out and re-propose; the state
 *   machine must tolerate duplicates (e.g. by request id).
 * - no I/O, clocks, or message encoding: the application persists, transports and times everything.
 * - membership changes are single-step (one voter at a time, no joint consensus). A change that would
 *   leave no voter (removing or demoting the last one) is refused: neutralised when proposed, and a
 *   no-op if applied (`RawNode.applyConfChange` returns the configuration unchanged).
 *
 * The protocol state machine itself (`Raft`, src/raft*.ts) is private to this package: other packages
 * drive a node through `RawNode` and read it through `RawNode.status()` (term, commit, leader, progress).
 */

export type { RaftConfig } from './config.js'
export { RaftError, RaftErrorCode } from './errors.js'
export type { RaftLogger } from './logger.js'
export { silentLogger } from './logger.js'
export { committedIndex, quorumSize, voteResult } from './quorum.js'
export type { BasicStatus, RaftStatus } from './raft.js'
export type { RandomSource } from './rand.js'
export { SeededRandom } from './rand.js'
export type { Ready } from './raw-node.js'
export { RawNode } from './raw-node.js'
export type { Storage } from './storage.js'
export { isRaftError, MemoryStorage } from './storage.js'
export type {
  ConfChange,
  ConfChangeType,
  ConfState,
  Entry,
  EntryType,
  HardState,
  Message,
  MessageType,
  NodeId,
  ProgressStateType,
  RaftStateType,
  ReadState,
  Snapshot,
  SnapshotMetadata,
  SnapshotStatus,
  SoftState,
} from './types.js'
export {
  decodeConfChange,
  emptyHardState,
  emptySnapshot,
  encodeConfChange,
  hardStateEqual,
  isEmptyHardState,
  isEmptySnapshot,
  isLocalMessage,
  isResponseMessage,
  NONE,
  newMessage,
} from './types.js'
