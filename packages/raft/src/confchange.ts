import type { Progress } from './progress.js'
import type { ConfChange, ConfState, NodeId } from './types.js'
import { NONE } from './types.js'

/**
 * Membership changes as a pure step, after etcd-io/raft's `confchange` package: given the current
 * configuration and one change, validate the change and compute the next configuration, without touching
 * the current one; the node then switches to the result (`ProgressTracker.switchTo`). Keeping the
 * computation apart means a refused change can never leave a half-applied configuration behind, and the
 * rules can be tested on plain values.
 *
 * Only single-step changes exist here (one voter added, removed, promoted or demoted at a time; Raft
 * thesis §4.1): no joint consensus, so no `EnterJoint`/`LeaveJoint` and no staged learners.
 */

/** A configuration as the progress tracker holds it: voters, learners, and one Progress per member. */
export interface MembershipConfig {
  readonly voters: ReadonlySet<NodeId>
  readonly learners: ReadonlySet<NodeId>
  readonly progress: ReadonlyMap<NodeId, Progress>
}

/** A configuration computed by `changeConfig`: fresh collections that the caller may take over. */
export interface NextConfig {
  readonly voters: Set<NodeId>
  readonly learners: Set<NodeId>
  readonly progress: Map<NodeId, Progress>
}

/** What a change needs to know besides the configuration (etcd's `Changer.LastIndex`). */
export interface ConfChangeEnv {
  /** The log's last index: a new member's progress starts probing there. */
  readonly lastIndex: number
  /** The node's logical clock: a new member counts as heard from now (CheckQuorum). */
  readonly tick: number
  /** Makes a fresh Progress with the tracker's flow-control limits. */
  readonly newProgress: (
    match: number,
    next: number,
    isLearner: boolean,
    recentActive: boolean,
    lastActiveTick: number,
  ) => Progress
}

/** The outcome of `changeConfig`: the next configuration, or why the change is refused. */
export type ConfChangeResult =
  | { readonly ok: true; readonly config: NextConfig }
  | { readonly ok: false; readonly reason: string }

/**
 * Computes the configuration that results from applying `cc` to `base` (etcd-io/raft's `Changer.Simple`
 * with one change). `base` and its Progress objects are not modified: a member whose role changes gets a
 * copy of its Progress in the result, every other member's Progress is shared with `base`.
 *
 * Accepted, as etcd-io/raft accepts them:
 * - `addNode` of a new member adds a voter; of a learner promotes it; of a voter changes nothing;
 * - `addLearnerNode` of a new member adds a learner; of a voter demotes it; of a learner changes nothing;
 * - `removeNode` of a member removes it; of a non-member changes nothing;
 * - a change naming node 0 (`NONE`) changes nothing (etcd clears the id of a change it decided to skip).
 *
 * Refused (the configuration stays as it is):
 * - a change that leaves no voter: removing or demoting the last voter, or adding a learner to an empty
 *   configuration ("removed all voters", as etcd-io/raft says);
 * - a change of an unknown type.
 *
 * Throws if `base` breaks the configuration's invariants (that is a bug, not an input error).
 */
export function changeConfig(base: MembershipConfig, cc: ConfChange, env: ConfChangeEnv): ConfChangeResult {
  assertInvariants(base, 'current')
  const next: NextConfig = {
    voters: new Set(base.voters),
    learners: new Set(base.learners),
    progress: new Map(base.progress),
  }
  const id = cc.nodeId
  if (id !== NONE) {
    switch (cc.type) {
      case 'addNode':
        makeVoter(next, id, env)
        break
      case 'addLearnerNode':
        makeLearner(next, id, env)
        break
      case 'removeNode':
        remove(next, id)
        break
      default:
        return { ok: false, reason: `unexpected conf change type ${String((cc as { type: unknown }).type)}` }
    }
  }
  if (next.voters.size === 0) return { ok: false, reason: 'removed all voters' }
  assertInvariants(next, 'next')
  return { ok: true, config: next }
}

/**
 * The configuration a ConfState describes (at start-up and when a snapshot is restored): every member
 * starts probing at `next`, not recently active. Throws if a member is both voter and learner.
 */
export function configFromConfState(
  cs: ConfState,
  next: number,
  tick: number,
  newProgress: ConfChangeEnv['newProgress'],
): NextConfig {
  const config: NextConfig = {
    voters: new Set(cs.voters),
    learners: new Set(cs.learners),
    progress: new Map(),
  }
  for (const id of cs.voters) config.progress.set(id, newProgress(0, next, false, false, tick))
  for (const id of cs.learners) {
    if (config.voters.has(id)) throw new Error(`${id} is in both voters and learners`)
    config.progress.set(id, newProgress(0, next, true, false, tick))
  }
  return config
}

function makeVoter(cfg: NextConfig, id: NodeId, env: ConfChangeEnv): void {
  const pr = cfg.progress.get(id)
  if (pr === undefined) {
    cfg.voters.add(id)
    cfg.progress.set(id, initProgress(false, env))
    return
  }
  if (!pr.isLearner) return
  cfg.learners.delete(id)
  cfg.voters.add(id)
  cfg.progress.set(id, withLearner(pr, false))
}

function makeLearner(cfg: NextConfig, id: NodeId, env: ConfChangeEnv): void {
  const pr = cfg.progress.get(id)
  if (pr === undefined) {
    cfg.learners.add(id)
    cfg.progress.set(id, initProgress(true, env))
    return
  }
  if (pr.isLearner) return
  // Demotion: the member keeps its replication progress, only its vote goes.
  cfg.voters.delete(id)
  cfg.learners.add(id)
  cfg.progress.set(id, withLearner(pr, true))
}

function remove(cfg: NextConfig, id: NodeId): void {
  cfg.voters.delete(id)
  cfg.learners.delete(id)
  cfg.progress.delete(id)
}

function initProgress(isLearner: boolean, env: ConfChangeEnv): Progress {
  // Probe from the last index (invariant match < next, so at least 1). Recently active so that
  // CheckQuorum does not count the new member as a failure before it had a chance to answer.
  return env.newProgress(0, Math.max(env.lastIndex, 1), isLearner, true, env.tick)
}

function withLearner(pr: Progress, isLearner: boolean): Progress {
  const copy = pr.clone()
  copy.isLearner = isLearner
  return copy
}

/** The configuration's invariants (etcd-io/raft's `checkInvariants`, without the joint parts). */
function assertInvariants(cfg: MembershipConfig, which: string): void {
  for (const id of cfg.voters) {
    const pr = cfg.progress.get(id)
    if (pr === undefined) throw new Error(`${which} config: no progress for voter ${id}`)
    if (pr.isLearner) throw new Error(`${which} config: voter ${id} is marked as learner`)
  }
  for (const id of cfg.learners) {
    const pr = cfg.progress.get(id)
    if (pr === undefined) throw new Error(`${which} config: no progress for learner ${id}`)
    if (cfg.voters.has(id)) throw new Error(`${which} config: ${id} is in both voters and learners`)
    if (!pr.isLearner) throw new Error(`${which} config: learner ${id} is not marked as learner`)
  }
  for (const id of cfg.progress.keys()) {
    if (!cfg.voters.has(id) && !cfg.learners.has(id)) {
      throw new Error(`${which} config: progress for ${id}, which is not a member`)
    }
  }
}
