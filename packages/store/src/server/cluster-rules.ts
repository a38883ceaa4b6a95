/**
 * Small pure decisions of the server: membership-change admission (etcd's
 * ValidateConfigurationChange and isLearnerReady), the leadership transferee on shutdown, and
 * generated lease ids.
 */
import type { NodeId, RaftStatus, RandomSource } from '@hakube/raft'
import type { Member } from '../backend.js'
import { StoreError } from '../errors.js'
import type { Result } from '../mvcc/index.js'
import { deriveMemberId } from './member-id.js'

type Progress = RaftStatus['progress']

/** The member `member add` would create, or etcd's error for it. */
export function newMember(
  members: readonly Member[],
  removed: readonly NodeId[],
  peerUrls: readonly string[],
  clusterToken: string,
  isLearner: boolean,
): Result<Member> {
  if (peerUrls.length === 0) return { ok: false, error: new StoreError('STORE_ERR_MEMBER_BAD_URLS') }
  const id = deriveMemberId(peerUrls, clusterToken)
  if (members.some((m) => m.id === id) || removed.includes(id))
    return { ok: false, error: new StoreError('STORE_ERR_MEMBER_EXISTS') }
  const urls = new Set(members.flatMap((m) => m.peerUrls))
  if (peerUrls.some((u) => urls.has(u)))
    return { ok: false, error: new StoreError('STORE_ERR_PEER_URL_EXISTS') }
  return { ok: true, response: { id, name: '', peerUrls: [...peerUrls], clientUrls: [], isLearner } }
}

/** etcd's isLearnerReady: the learner's match index is at least 90% of the leader's. */
export function isLearnerReady(progress: Progress, leaderId: NodeId, learnerId: NodeId): boolean {
  const learner = progress.get(learnerId)
  const leader = progress.get(leaderId)
  return learner !== undefined && leader !== undefined && learner.match >= 0.9 * leader.match
}

/** The most caught-up voter other than `self` (etcd's longest-connected voter), or undefined. */
export function pickTransferee(
  progress: Progress,
  self: NodeId,
  voters: readonly NodeId[],
): NodeId | undefined {
  let best: NodeId | undefined
  let bestMatch = -1
  for (const [id, pr] of progress) {
    if (id === self || pr.isLearner || !voters.includes(id)) continue
    if (pr.match > bestMatch) {
      best = id
      bestMatch = pr.match
    }
  }
  return best
}

/** A random non-zero int63 lease id (etcd's lessor draws the same range). */
export function randomLeaseId(r: RandomSource): bigint {
  for (;;) {
    const id = (BigInt(r.intn(1 << 21)) << 42n) | (BigInt(r.intn(1 << 21)) << 21n) | BigInt(r.intn(1 << 21))
    if (id !== 0n) return id
  }
}
