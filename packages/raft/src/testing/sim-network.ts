import type { SeededRandom } from '../rand.js'
import type { Message, NodeId } from '../types.js'

/**
 * The simulated network of the deterministic simulation: every message gets a delivery time drawn from
 * the seeded generator, so latency, reordering, loss and duplication are all functions of the seed.
 * Partitions are a set of blocked directed links, checked when a message arrives (a link cut while a
 * message is in flight loses it, as a broken TCP connection would).
 *
 * Time is counted in network time units; the simulation runs several units per Raft tick.
 */

/** Fault rates of the network; the simulation changes them between its phases. */
export interface NetworkFaults {
  /** Probability that a message is lost. */
  dropRate: number
  /** Probability that a message is delivered twice (each copy with its own latency). */
  duplicateRate: number
  /** Latency of a normal message, in time units, uniform in [latencyMin, latencyMax]. */
  latencyMin: number
  latencyMax: number
  /** Probability that a message is held back for up to `longDelayMax` units (heavy reordering). */
  longDelayRate: number
  longDelayMax: number
}

/** One message on the wire. */
export interface Envelope {
  readonly msg: Message
  readonly deliverAt: number
  /** Send order; breaks ties between envelopes due at the same time. */
  readonly seq: number
  /** Incarnation of the sender when it sent the message (transport reports go only to that one). */
  readonly fromIncarnation: number
  /** False for the extra copy of a duplicated message: only the original reports snapshot outcomes. */
  readonly original: boolean
}

/** Why a message did not arrive. */
export type DropReason = 'lost' | 'partition' | 'down'

export class SimNetwork {
  /** Envelopes by delivery time. Invariant: every key is greater than the last `takeDue` time. */
  private readonly buckets = new Map<number, Envelope[]>()
  /** Directed links that drop everything: key `from * LINK_KEY_BASE + to`. */
  private readonly blocked = new Set<number>()
  private seq = 0
  private inFlight = 0
  sent = 0
  dropped = 0
  duplicated = 0

  constructor(
    private readonly rng: SeededRandom,
    public faults: NetworkFaults,
  ) {}

  /**
   * Puts `msg` on the wire at time `now`. Returns false if the network lost it at once (the caller may
   * then report it as unreachable or as a failed snapshot).
   */
  send(msg: Message, now: number, fromIncarnation: number): boolean {
    this.sent++
    const f = this.faults
    if (this.rng.chance(f.dropRate)) {
      this.dropped++
      return false
    }
    this.enqueue(msg, now + this.latency(), fromIncarnation, true)
    if (this.rng.chance(f.duplicateRate)) {
      this.duplicated++
      this.enqueue(msg, now + this.latency(), fromIncarnation, false)
    }
    return true
  }

  private latency(): number {
    const f = this.faults
    if (this.rng.chance(f.longDelayRate)) return this.rng.between(f.latencyMax, f.longDelayMax)
    return this.rng.between(f.latencyMin, f.latencyMax)
  }

  private enqueue(msg: Message, deliverAt: number, fromIncarnation: number, original: boolean): void {
    const env: Envelope = { msg, deliverAt, seq: this.seq++, fromIncarnation, original }
    const bucket = this.buckets.get(deliverAt)
    if (bucket === undefined) this.buckets.set(deliverAt, [env])
    else bucket.push(env)
    this.inFlight++
  }

  /** Removes and returns the envelopes due at `now`, in send order. */
  takeDue(now: number): Envelope[] {
    const bucket = this.buckets.get(now)
    if (bucket === undefined) return []
    this.buckets.delete(now)
    this.inFlight -= bucket.length
    return bucket
  }

  /** Removes every envelope addressed to `id` (it crashed: its connections are gone) and returns them. */
  purgeTo(id: NodeId): Envelope[] {
    const purged: Envelope[] = []
    for (const [at, bucket] of this.buckets) {
      const keep = bucket.filter((env) => env.msg.to !== id)
      if (keep.length === bucket.length) continue
      for (const env of bucket) if (env.msg.to === id) purged.push(env)
      if (keep.length === 0) this.buckets.delete(at)
      else this.buckets.set(at, keep)
    }
    this.inFlight -= purged.length
    purged.sort((a, b) => a.seq - b.seq)
    return purged
  }

  inFlightCount(): number {
    return this.inFlight
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blocked.size > 0 && this.blocked.has(linkKey(from, to))
  }

  /** Drops everything sent from any member of `from` to any member of `to` (one direction). */
  block(from: readonly NodeId[], to: readonly NodeId[]): void {
    for (const a of from) for (const b of to) if (a !== b) this.blocked.add(linkKey(a, b))
  }

  /** Cuts both directions between two groups. */
  split(a: readonly NodeId[], b: readonly NodeId[]): void {
    this.block(a, b)
    this.block(b, a)
  }

  heal(): void {
    this.blocked.clear()
  }

  blockedLinks(): number {
    return this.blocked.size
  }
}

/** Node ids in the simulation stay far below this, so a pair fits one safe integer. */
const LINK_KEY_BASE = 1 << 20

function linkKey(from: NodeId, to: NodeId): number {
  return from * LINK_KEY_BASE + to
}

/** A stable number for a message type (for run digests; independent of what ran before). */
export function messageTypeCode(type: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < type.length; i++) h = Math.imul(h ^ type.charCodeAt(i), 0x01000193) >>> 0
  return h
}

/** One line per message, for traces. */
export function describeMessage(m: Message): string {
  const snap =
    m.snapshot === undefined ? '' : ` snap=${m.snapshot.metadata.index}/${m.snapshot.metadata.term}`
  return `${m.type} ${m.from}->${m.to} term=${m.term} logTerm=${m.logTerm} index=${m.index} commit=${m.commit} ents=${m.entries.length}${m.reject ? ' reject' : ''}${snap}`
}
