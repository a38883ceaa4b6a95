import type { NodeId } from './types.js'

/**
 * Majority quorum math as pure functions (Raft §5.2, §5.3). A quorum of N voters is floor(N/2)+1.
 */

export type VoteResult = 'pending' | 'lost' | 'won'

export function quorumSize(voters: number): number {
  return Math.floor(voters / 2) + 1
}

/**
 * The largest index that a quorum of `voters` has matched: sort the voters' match indexes descending and
 * take the quorum-th. An empty configuration commits everything (so that joint/empty halves never block).
 */
export function committedIndex(
  voters: ReadonlySet<NodeId>,
  matchOf: (id: NodeId) => number | undefined,
): number {
  const n = voters.size
  if (n === 0) return Number.MAX_SAFE_INTEGER
  if (n === 1) {
    for (const id of voters) return matchOf(id) ?? 0
  }
  const matched: number[] = []
  for (const id of voters) matched.push(matchOf(id) ?? 0)
  matched.sort((a, b) => b - a)
  return matched[quorumSize(n) - 1]!
}

/** The outcome of an election given the votes received so far (true = granted). */
export function voteResult(voters: ReadonlySet<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.size === 0) return 'won'
  let granted = 0
  let missing = 0
  for (const id of voters) {
    const v = votes.get(id)
    if (v === undefined) missing++
    else if (v) granted++
  }
  const q = quorumSize(voters.size)
  if (granted >= q) return 'won'
  if (granted + missing >= q) return 'pending'
  return 'lost'
}
