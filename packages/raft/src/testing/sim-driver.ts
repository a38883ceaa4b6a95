import type { SeededRandom } from '../rand.js'
import type { Ready } from '../raw-node.js'
import { raftOf } from '../raw-node.js'
import type { Entry, Message } from '../types.js'
import { decodeConfChange } from '../types.js'
import { type SimChecker, SimViolation } from './sim-checker.js'
import type { SimClients } from './sim-clients.js'
import { applyToImage, confEpochOf, decodeImage, type SimMember } from './sim-member.js'
import type { SimMembership } from './sim-membership.js'
import type { SimOptions } from './sim-options.js'

/**
 * The simulation's driver: one member's Ready handled in the contract's order (persist, send, apply,
 * advance; raw-node.ts), with the process crashing at any step in between during the safety phase. The
 * checkers see each step: what was persisted, committed and applied.
 */

export const CRASH_POINTS = ['beforePersist', 'afterPersist', 'afterSend', 'midApply'] as const
export type CrashPoint = (typeof CRASH_POINTS)[number]

/** What the driver needs from the simulation. */
export interface DriverHost {
  readonly rng: SeededRandom
  readonly options: SimOptions
  readonly checker: SimChecker
  readonly clients: SimClients
  readonly membership: SimMembership
  /** Crashes are injected only in the safety phase. */
  readonly safetyPhase: boolean
  readonly tracing: boolean
  readonly stats: { snapshotsInstalled: number; snapshotsCreated: number }
  canCrash(): boolean
  crash(m: SimMember, point: CrashPoint): void
  send(from: SimMember, msg: Message): void
  afterInput(m: SimMember): void
  log(line: string): void
}

export function handleReady(h: DriverHost, m: SimMember, rd: Ready): void {
  const node = m.node!
  const crashAt: CrashPoint | undefined =
    h.safetyPhase && h.rng.chance(h.options.crashInReadyRate) && h.canCrash()
      ? h.rng.pick(CRASH_POINTS)
      : undefined
  if (crashAt === 'beforePersist') {
    h.crash(m, crashAt)
    return
  }
  if (rd.softState !== undefined && h.tracing) {
    h.log(`${m.id} is ${rd.softState.raftState} in term ${raftOf(node).term} (lead ${rd.softState.lead})`)
  }

  // 1. Persist: snapshot, entries, hard state (one atomic, synced write in this model).
  if (rd.snapshot !== undefined) {
    const err = m.storage.applySnapshot(rd.snapshot)
    if (err !== undefined) throw new Error(`member ${m.id}: storage refused snapshot: ${err.message}`)
  }
  if (rd.entries.length > 0) {
    m.storage.append(rd.entries)
    const prev = m.storage.term(rd.entries[0]!.index - 1)
    h.checker.onPersist(m.id, rd.entries, typeof prev === 'number' ? prev : -1)
  }
  if (rd.hardState !== undefined) {
    m.storage.setHardState(rd.hardState)
  }
  if (rd.hardState !== undefined && rd.hardState.commit > 0) {
    const t = raftOf(node).raftLog.term(rd.hardState.commit)
    if (typeof t !== 'number') throw new Error(`member ${m.id}: no term for commit ${rd.hardState.commit}`)
    h.checker.onCommit(m.id, rd.hardState.term, rd.hardState.commit, t)
  }
  if (crashAt === 'afterPersist') {
    h.crash(m, crashAt)
    return
  }

  // 2. Send.
  for (const msg of rd.messages) h.send(m, msg)
  if (crashAt === 'afterSend') {
    h.crash(m, crashAt)
    return
  }

  // 3. Apply: the snapshot's image, then committed entries; then serve reads.
  if (rd.snapshot !== undefined) {
    const meta = rd.snapshot.metadata
    const img = decodeImage(rd.snapshot.data)
    if (img.index !== meta.index) {
      throw new SimViolation('stateMachineSafety', `snapshot ${meta.index} carries an image at ${img.index}`)
    }
    h.checker.checkChain(m.id, img.index, img.hash)
    m.sm = img
    m.confState = meta.confState
    h.stats.snapshotsInstalled++
    if (h.tracing) h.log(`${m.id} installed snapshot ${meta.index}/${meta.term}`)
  }
  for (const e of rd.committedEntries) {
    // Only entries on this member's own disk may be applied (etcd #14370): a crash must not lose an
    // entry its state machine already reflects. (This Ready's own entries were persisted above.)
    if (m.storage.term(e.index) !== e.term) {
      h.checker.fail('integrity', `member ${m.id} was handed entry ${e.index}/${e.term} before persisting it`)
    }
    applyEntry(h, m, e)
    if (crashAt === 'midApply' && h.rng.chance(0.3)) {
      h.crash(m, crashAt)
      return
    }
  }
  for (const rs of rd.readStates) h.clients.onReadState(m, rs)
  node.advance()
  if (raftOf(node).raftLog.applied !== m.sm.index) {
    // The node's applied index drives conf change gating and what it hands out next: it must be the
    // state machine's.
    h.checker.fail(
      'integrity',
      `member ${m.id}: node's applied index ${raftOf(node).raftLog.applied} but state machine at ${m.sm.index}`,
    )
  }
  h.afterInput(m)
  if (m.snapshotIfDue(h.options.snapshotEvery, h.options.snapshotKeep)) h.stats.snapshotsCreated++
}

function applyEntry(h: DriverHost, m: SimMember, e: Entry): void {
  if (e.index !== m.sm.index + 1) {
    throw new SimViolation('integrity', `member ${m.id} applied index ${e.index} right after ${m.sm.index}`)
  }
  applyToImage(m.sm, e)
  h.checker.onApply(m.id, e, m.sm.hash)
  if (e.type === 'confChange') {
    const cc = decodeConfChange(e.data)
    const epoch = confEpochOf(cc.context)
    if (epoch !== undefined && epoch !== m.sm.confEpoch) return
    m.confState = m.node!.applyConfChange(cc)
    if (epoch !== undefined) {
      m.sm.confEpoch++
      h.membership.onApplied(epoch, cc)
    }
  } else if (e.data.length > 0) {
    h.clients.onApplied(m, e)
  }
}
