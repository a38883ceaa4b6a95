/**
 * Wire and storage types of the Raft core. Plain data: the store serialises them for its WAL and its
 * peer transport; the core never does I/O with them.
 *
 * Node IDs are positive safe integers (the store keeps member IDs below 2^53 so they fit a JS number);
 * `NONE` (0) means "no node". IDs must never be reused for a different member.
 */

export type NodeId = number

/** No node: no leader known, no vote cast. */
export const NONE: NodeId = 0

export type EntryType = 'normal' | 'confChange'

export interface Entry {
  readonly term: number
  readonly index: number
  readonly type: EntryType
  /** Opaque payload. Empty for the no-op entry a new leader appends. */
  readonly data: Uint8Array
}

/** What must be persisted before any message of the same Ready is sent (Raft §5.1, Figure 2). */
export interface HardState {
  readonly term: number
  readonly vote: NodeId
  readonly commit: number
}

/** Volatile state that the application may want to observe (who leads, which role we have). */
export interface SoftState {
  readonly lead: NodeId
  readonly raftState: RaftStateType
}

export type RaftStateType = 'follower' | 'candidate' | 'preCandidate' | 'leader'

/** Membership as of a log position: voters and non-voting learners. */
export interface ConfState {
  readonly voters: readonly NodeId[]
  readonly learners: readonly NodeId[]
}

export interface SnapshotMetadata {
  readonly confState: ConfState
  readonly index: number
  readonly term: number
}

export interface Snapshot {
  /** The application's state machine image at `metadata.index`. */
  readonly data: Uint8Array
  readonly metadata: SnapshotMetadata
}

export type ConfChangeType = 'addNode' | 'removeNode' | 'addLearnerNode'

/**
 * One membership change. `addNode` on an existing learner promotes it to voter. Changes take effect
 * when the entry carrying them is applied (not when appended), one at a time.
 */
export interface ConfChange {
  readonly type: ConfChangeType
  readonly nodeId: NodeId
  /** Opaque application context carried with the change (the store puts the member's peer URLs here). */
  readonly context?: Uint8Array
}

export type MessageType =
  // Local messages: never sent over the network.
  | 'MsgHup' // start an election
  | 'MsgBeat' // leader: send heartbeats
  | 'MsgProp' // propose entries (also forwarded follower -> leader)
  | 'MsgUnreachable' // transport: a peer could not be reached
  | 'MsgSnapStatus' // transport: outcome of sending a snapshot
  | 'MsgCheckQuorum' // leader: check that a quorum was recently active
  // Network messages.
  | 'MsgApp'
  | 'MsgAppResp'
  | 'MsgVote'
  | 'MsgVoteResp'
  | 'MsgPreVote'
  | 'MsgPreVoteResp'
  | 'MsgSnap'
  | 'MsgHeartbeat'
  | 'MsgHeartbeatResp'
  | 'MsgTransferLeader'
  | 'MsgTimeoutNow'
  | 'MsgReadIndex'
  | 'MsgReadIndexResp'

/**
 * One Raft message. A single flat shape for all types (as in etcd's raftpb), so transports can encode it
 * generically. Fields not meaningful for a type are 0 / empty.
 */
export interface Message {
  type: MessageType
  to: NodeId
  from: NodeId
  term: number
  /** MsgApp: term of the entry preceding `entries`; votes: last log term of the candidate. */
  logTerm: number
  /** MsgApp: index preceding `entries`; MsgAppResp: highest matching index (or rejected index). */
  index: number
  entries: Entry[]
  commit: number
  /** MsgSnap only. */
  snapshot?: Snapshot
  reject: boolean
  /** MsgAppResp rejection: the follower's hint for the leader's next probe (fast back-off). */
  rejectHint: number
  /** Opaque context: ReadIndex request ids, campaign kind on votes (see `CAMPAIGN_TRANSFER`). */
  context?: Uint8Array
}

/** A linearizable read point: once the application has applied `index`, it may serve `requestCtx`. */
export interface ReadState {
  readonly index: number
  readonly requestCtx: Uint8Array
}

/** The progress of one peer as the leader sees it (exposed through `status()` for observability). */
export type ProgressStateType = 'probe' | 'replicate' | 'snapshot'

/** Outcome the transport reports for a snapshot it tried to send (MsgSnapStatus). */
export type SnapshotStatus = 'finish' | 'failure'

/** Builds a message with every field defaulted. */
export function newMessage(fields: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    to: NONE,
    from: NONE,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    ...fields,
  }
}

/** Local messages are produced and consumed by one node and never cross the network. */
export function isLocalMessage(type: MessageType): boolean {
  return (
    type === 'MsgHup' ||
    type === 'MsgBeat' ||
    type === 'MsgUnreachable' ||
    type === 'MsgSnapStatus' ||
    type === 'MsgCheckQuorum'
  )
}

/** Responses never change the receiver's view of who is leader. */
export function isResponseMessage(type: MessageType): boolean {
  return (
    type === 'MsgAppResp' ||
    type === 'MsgVoteResp' ||
    type === 'MsgHeartbeatResp' ||
    type === 'MsgUnreachable' ||
    type === 'MsgPreVoteResp' ||
    type === 'MsgReadIndexResp'
  )
}

export function emptyHardState(): HardState {
  return { term: 0, vote: NONE, commit: 0 }
}

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === NONE && hs.commit === 0
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit
}

export function emptySnapshot(): Snapshot {
  return { data: new Uint8Array(0), metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } } }
}

export function isEmptySnapshot(s: Snapshot | undefined): boolean {
  return s === undefined || s.metadata.index === 0
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * ConfChange entries carry their change as JSON bytes (the core must read it back only for logging; the
 * application decodes it with `decodeConfChange` when it applies the entry).
 */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const context = cc.context === undefined ? undefined : Buffer.from(cc.context).toString('base64')
  return encoder.encode(JSON.stringify({ type: cc.type, nodeId: cc.nodeId, context }))
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const raw = JSON.parse(decoder.decode(data)) as { type: ConfChangeType; nodeId: NodeId; context?: string }
  if (raw.type !== 'addNode' && raw.type !== 'removeNode' && raw.type !== 'addLearnerNode') {
    throw new Error(`invalid conf change type ${String(raw.type)}`)
  }
  if (!Number.isSafeInteger(raw.nodeId) || raw.nodeId <= 0) {
    throw new Error(`invalid conf change node id ${String(raw.nodeId)}`)
  }
  return raw.context === undefined
    ? { type: raw.type, nodeId: raw.nodeId }
    : { type: raw.type, nodeId: raw.nodeId, context: new Uint8Array(Buffer.from(raw.context, 'base64')) }
}
