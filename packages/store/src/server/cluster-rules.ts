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

/**
 * Whether `u` is a peer URL etcd 3.4's `types.NewURLs` accepts and this member's peer transport can dial:
 * scheme http or https, an authority of the form host:port, no path. (etcd also accepts unix and unixs,
 * which hakube's transport cannot dial: refused here as bad URLs rather than crashing every member that
 * applies the membership change.)
 */
export function isValidPeerUrl(u: string): boolean {
  const m = /^(https?):\/\/([^/?#]*)(.*)$/.exec(u)
  if (m === null) return false
  const authority = (m[2] ?? '').replace(/^[^@]*@/, '')
  if (!/^(\[[^\]]*\]|[^:[\]]*):[^:[\]]*$/.test(authority)) return false
  const rest = m[3] ?? ''
  if (rest !== '' && !rest.startsWith('?') && !rest.startsWith('#')) return false
  try {
    new URL(u)
  } catch {
    return false
  }
  return true
}

/** The member `member add` would create, or etcd's error for it (in etcd's order of checks). */
export function newMember(
  members: readonly Member[],
  removed: readonly NodeId[],
  peerUrls: readonly string[],
  clusterToken: string,
  isLearner: boolean,
): Result<Member> {
  const trimmed = peerUrls.map((u) => u.trim())
  if (trimmed.length === 0 || !trimmed.every(isValidPeerUrl)) {
    return { ok: false, error: new StoreError('STORE_ERR_MEMBER_BAD_URLS') }
  }
  // etcd derives a new member's id from its URLs and the time, so it never equals an existing id and
  // the URL check decides first; ours is derived from the URLs alone (equal for equal URLs).
  const urls = new Set(members.flatMap((m) => m.peerUrls))
  if (trimmed.some((u) => urls.has(u)))
    return { ok: false, error: new StoreError('STORE_ERR_PEER_URL_EXISTS') }
  const id = deriveMemberId(trimmed, clusterToken)
  if (members.some((m) => m.id === id) || removed.includes(id))
    return { ok: false, error: new StoreError('STORE_ERR_MEMBER_EXISTS') }
  return { ok: true, response: { id, name: '', peerUrls: [...trimmed], clientUrls: [], isLearner } }
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
