import { RaftError, RaftErrorCode } from './errors.js'
import type { RaftLogger } from './logger.js'
import { silentLogger } from './logger.js'
import type { RandomSource } from './rand.js'
import type { Storage } from './storage.js'
import type { NodeId } from './types.js'

/** Configuration of one Raft node. Times are in ticks; the driver decides how long a tick is. */
export interface RaftConfig {
  /** This node's id; positive, never reused. */
  id: NodeId
  /**
   * Ticks without hearing from a leader before a follower campaigns. The actual timeout is drawn
   * uniformly from [electionTick, 2 * electionTick) at every term change. etcd: 10 (1000 ms / 100 ms).
   */
  electionTick: number
  /** Ticks between leader heartbeats. etcd: 1. */
  heartbeatTick: number
  storage: Storage
  /** The only source of randomness (election timeouts). Seeded in tests and simulations. */
  random: RandomSource
  /** Index the application's state machine already reflects on restart (default: the snapshot index). */
  applied?: number
  /** Maximum payload bytes per MsgApp (at least one entry is always sent). Default 1 MiB. */
  maxSizePerMsg?: number
  /** Maximum bytes of committed entries handed out in one Ready. Default 64 MiB. */
  maxCommittedSizePerReady?: number
  /** Maximum bytes of uncommitted entry payload a leader accepts before dropping proposals. Default 0 (no limit). */
  maxUncommittedEntriesSize?: number
  /** Maximum MsgApp messages in flight per follower in replicate state. Default 256. */
  maxInflightMsgs?: number
  /** Maximum bytes in flight per follower (0 = no limit). Default 0. */
  maxInflightBytes?: number
  /** A leader steps down when a quorum was not active within an election timeout. Default true. */
  checkQuorum?: boolean
  /** Campaign with a pre-vote round first (thesis §9.6). Default true. */
  preVote?: boolean
  /** Followers drop proposals instead of forwarding them to the leader. Default false. */
  disableProposalForwarding?: boolean
  /** A leader removed from (or demoted in) the configuration steps down. Default true. */
  stepDownOnRemoval?: boolean
  logger?: RaftLogger
}

export type ResolvedRaftConfig = Readonly<Required<RaftConfig>>

function invalid(message: string): RaftError {
  return new RaftError(RaftErrorCode.InvalidConfig, message)
}

function checkPositiveInt(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v <= 0) throw invalid(`${name} must be a positive integer, got ${v}`)
}

/** Validates a configuration, fills defaults and freezes it. Throws `RaftError` (InvalidConfig). */
export function resolveConfig(c: RaftConfig): ResolvedRaftConfig {
  if (!Number.isSafeInteger(c.id) || c.id <= 0)
    throw invalid(`id must be a positive safe integer, got ${c.id}`)
  checkPositiveInt('heartbeatTick', c.heartbeatTick)
  checkPositiveInt('electionTick', c.electionTick)
  if (c.electionTick <= c.heartbeatTick) {
    throw invalid('electionTick must be greater than heartbeatTick')
  }
  const resolved: Required<RaftConfig> = {
    id: c.id,
    electionTick: c.electionTick,
    heartbeatTick: c.heartbeatTick,
    storage: c.storage,
    random: c.random,
    applied: c.applied ?? 0,
    maxSizePerMsg: c.maxSizePerMsg ?? 1024 * 1024,
    maxCommittedSizePerReady: c.maxCommittedSizePerReady ?? 64 * 1024 * 1024,
    maxUncommittedEntriesSize: c.maxUncommittedEntriesSize ?? 0,
    maxInflightMsgs: c.maxInflightMsgs ?? 256,
    maxInflightBytes: c.maxInflightBytes ?? 0,
    checkQuorum: c.checkQuorum ?? true,
    preVote: c.preVote ?? true,
    disableProposalForwarding: c.disableProposalForwarding ?? false,
    stepDownOnRemoval: c.stepDownOnRemoval ?? true,
    logger: c.logger ?? silentLogger,
  }
  checkPositiveInt('maxSizePerMsg', resolved.maxSizePerMsg)
  checkPositiveInt('maxCommittedSizePerReady', resolved.maxCommittedSizePerReady)
  checkPositiveInt('maxInflightMsgs', resolved.maxInflightMsgs)
  if (!Number.isSafeInteger(resolved.maxInflightBytes) || resolved.maxInflightBytes < 0) {
    throw invalid(`maxInflightBytes must be a non-negative integer, got ${resolved.maxInflightBytes}`)
  }
  if (resolved.maxInflightBytes !== 0 && resolved.maxInflightBytes < resolved.maxSizePerMsg) {
    throw invalid('maxInflightBytes must be >= maxSizePerMsg')
  }
  if (!Number.isSafeInteger(resolved.maxUncommittedEntriesSize) || resolved.maxUncommittedEntriesSize < 0) {
    throw invalid(
      `maxUncommittedEntriesSize must be a non-negative integer, got ${resolved.maxUncommittedEntriesSize}`,
    )
  }
  if (!Number.isSafeInteger(resolved.applied) || resolved.applied < 0) {
    throw invalid(`applied must be a non-negative integer, got ${resolved.applied}`)
  }
  return Object.freeze(resolved)
}
