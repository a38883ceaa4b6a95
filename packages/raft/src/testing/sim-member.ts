import type { RawNode } from '../raw-node.js'
import { isRaftError, MemoryStorage } from '../storage.js'
import type { ConfState, Entry, NodeId } from '../types.js'
import { chainHash } from './sim-checker.js'

/**
 * One simulated member: a MemoryStorage that survives crashes (its disk), and a RawNode plus a state
 * machine that do not (its process). While the member is down, `node` is undefined.
 */

/**
 * The state machine: the raw applied sequence reduced to its length and a hash chain (so snapshots stay
 * a few bytes and an image restored from a snapshot can be checked against what others applied), plus
 * the membership epoch, which decides whether a conf change entry takes effect (see `confEpochOf`).
 */
export interface StateMachineImage {
  /** Index of the last applied entry. */
  index: number
  /** Hash chain over every applied entry up to `index`. */
  hash: number
  /** Number of membership changes that took effect. */
  confEpoch: number
}

const IMAGE_BYTES = 24

export function encodeImage(img: StateMachineImage): Uint8Array {
  const out = new Uint8Array(IMAGE_BYTES)
  const view = new DataView(out.buffer)
  view.setFloat64(0, img.index)
  view.setFloat64(8, img.hash)
  view.setFloat64(16, img.confEpoch)
  return out
}

export function decodeImage(data: Uint8Array): StateMachineImage {
  if (data.length !== IMAGE_BYTES) throw new Error(`state machine image of ${data.length} bytes`)
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  return { index: view.getFloat64(0), hash: view.getFloat64(8), confEpoch: view.getFloat64(16) }
}

export function emptyImage(): StateMachineImage {
  return { index: 0, hash: 0, confEpoch: 0 }
}

/** Applies one entry's effect on the hash chain (conf changes are handled by the driver). */
export function applyToImage(img: StateMachineImage, e: Entry): void {
  img.hash = chainHash(img.hash, e)
  img.index = e.index
}

/**
 * Membership change contexts carry the epoch the change was proposed for. The state machine lets a
 * change take effect only if its epoch is the next one: a stale duplicate of an earlier change (proposed
 * again after a timeout) is applied as a no-op instead of, say, demoting a freshly promoted voter. Every
 * member decides the same way because the epoch is part of the replicated state. Bootstrap changes carry
 * no context and always apply.
 */
export function encodeConfEpoch(epoch: number): Uint8Array {
  return new TextEncoder().encode(`epoch:${epoch}`)
}

export function confEpochOf(context: Uint8Array | undefined): number | undefined {
  if (context === undefined) return undefined
  const text = new TextDecoder().decode(context)
  if (!text.startsWith('epoch:')) throw new Error(`unexpected conf change context ${text}`)
  return Number(text.slice('epoch:'.length))
}

export class SimMember {
  readonly storage = new MemoryStorage()
  node: RawNode | undefined
  /** Bumped at every restart: messages and transport reports are tied to one incarnation. */
  incarnation = 0
  sm: StateMachineImage = emptyImage()
  /** The configuration as of `sm.index` (used when snapshotting). */
  confState: ConfState = { voters: [], learners: [] }
  /** Removed from the configuration and shut down for good (ids are never reused). */
  retired = false
  /** Proposal ids a client is waiting on at this member: lost when the process crashes. */
  readonly waiters = new Set<number>()

  constructor(
    readonly id: NodeId,
    /** The founding configuration if this member bootstraps the cluster; empty if it joins later. */
    readonly bootstrapPeers: readonly NodeId[],
  ) {}

  get running(): boolean {
    return this.node !== undefined
  }

  /**
   * Snapshots the state machine once it applied `every` entries past the last snapshot, and compacts
   * the log up to `keep` entries before it (never past it: a restart rebuilds the state machine from
   * the snapshot plus the log). Returns whether it took a snapshot.
   */
  snapshotIfDue(every: number, keep: number): boolean {
    const snap = this.storage.snapshot()
    if (this.sm.index - snap.metadata.index < every) return false
    const created = this.storage.createSnapshot(this.sm.index, this.confState, encodeImage(this.sm))
    if (isRaftError(created)) throw new Error(`member ${this.id}: createSnapshot: ${created.message}`)
    const compactTo = this.sm.index - keep
    if (compactTo > this.storage.firstIndex() - 1) {
      const err = this.storage.compact(compactTo)
      if (err !== undefined) throw new Error(`member ${this.id}: compact: ${err.message}`)
    }
    return true
  }
}
