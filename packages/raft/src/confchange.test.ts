/**
 * The pure conf change step (confchange.ts), checked against the cases of etcd-io/raft's
 * confchange/testdata (simple_safety, simple_promote_demote, simple_idempotency, zero): what is
 * accepted, what is refused, and that the current configuration is never modified.
 */
import { describe, expect, it } from 'vitest'
import { type ConfChangeEnv, changeConfig, configFromConfState, type MembershipConfig } from './confchange.js'
import { ProgressTracker } from './progress-tracker.js'
import { SeededRandom } from './rand.js'
import type { ConfChange, NodeId } from './types.js'

const trk = new ProgressTracker(4, 0)
const env = (lastIndex: number, tick = 0): ConfChangeEnv => ({
  lastIndex,
  tick,
  newProgress: (match, next, isLearner, active, at) => trk.newProgress(match, next, isLearner, active, at),
})

/** v3 adds voter 3, l3 adds (or demotes to) learner 3, r3 removes 3. */
function cc(s: string): ConfChange {
  const m = /^([vlr])(\d+)$/.exec(s)
  if (m === null) throw new Error(`bad change ${s}`)
  const type = m[1] === 'v' ? 'addNode' : m[1] === 'l' ? 'addLearnerNode' : 'removeNode'
  return { type, nodeId: Number(m[2]) }
}

/** The configuration as etcd's testdata prints it, plus each member's progress. */
function show(c: MembershipConfig): string {
  const ids = (s: ReadonlySet<NodeId>) => [...s].sort((a, b) => a - b).join(' ')
  const lines = [`voters=(${ids(c.voters)})${c.learners.size > 0 ? ` learners=(${ids(c.learners)})` : ''}`]
  for (const [id, pr] of [...c.progress].sort((a, b) => a[0] - b[0])) {
    lines.push(`${id}: ${pr.state} match=${pr.match} next=${pr.next}${pr.isLearner ? ' learner' : ''}`)
  }
  return lines.join('\n')
}

const empty = (): MembershipConfig => ({ voters: new Set(), learners: new Set(), progress: new Map() })

/** Applies the changes one at a time (each must be accepted), the log growing by one index per change. */
function build(changes: string[], start: MembershipConfig = empty()): MembershipConfig {
  let c = start
  changes.forEach((s, i) => {
    const res = changeConfig(c, cc(s), env(i))
    if (!res.ok) throw new Error(`${s} refused: ${res.reason}`)
    c = res.config
  })
  return c
}

/** A deep, comparable image of a configuration (to prove that the step does not modify its input). */
function image(c: MembershipConfig): unknown {
  return {
    voters: [...c.voters],
    learners: [...c.learners],
    progress: [...c.progress].map(([id, pr]) => [id, { ...pr, inflights: pr.inflights.len() }]),
  }
}

describe('changeConfig', () => {
  it('starts a configuration from nothing with a voter (bootstrap), probing from index 1', () => {
    const res = changeConfig(empty(), cc('v1'), env(0))
    expect(res.ok).toBe(true)
    if (res.ok) expect(show(res.config)).toBe('voters=(1)\n1: probe match=0 next=1')
  })

  it('refuses a change that leaves no voter (etcd: "removed all voters")', () => {
    const one = build(['v1'])
    for (const [base, change] of [
      [empty(), 'l1'], // a learner alone is no configuration
      [one, 'r1'], // removing the last voter
      [one, 'l1'], // demoting the last voter
      [build(['v1', 'l2']), 'r1'], // learners do not count
    ] as const) {
      expect(changeConfig(base, cc(change), env(5)), change).toEqual({
        ok: false,
        reason: 'removed all voters',
      })
    }
  })

  it('refuses an unknown change type', () => {
    const res = changeConfig(build(['v1']), { type: 'updateNode' as never, nodeId: 1 }, env(1))
    expect(res).toEqual({ ok: false, reason: 'unexpected conf change type updateNode' })
  })

  it('adds voters and learners, probing from the last index, active as of now', () => {
    const base = build(['v1'])
    const res = changeConfig(base, cc('l3'), env(7, 42))
    expect(res.ok).toBe(true)
    if (!res.ok) return
    expect(show(res.config)).toBe(
      'voters=(1) learners=(3)\n1: probe match=0 next=1\n3: probe match=0 next=7 learner',
    )
    const pr = res.config.progress.get(3)!
    expect(pr.recentActive).toBe(true) // not a CheckQuorum failure before it could answer
    expect(pr.lastActiveTick).toBe(42)
    expect(show(build(['v1', 'v2', 'l3']))).toBe(
      'voters=(1 2) learners=(3)\n1: probe match=0 next=1\n2: probe match=0 next=1\n3: probe match=0 next=2 learner',
    )
  })

  it('promotes a learner and demotes a voter, keeping their replication progress', () => {
    const base = build(['v1', 'v2', 'l3'])
    base.progress.get(3)!.maybeUpdate(5)
    const promoted = changeConfig(base, cc('v3'), env(9))
    expect(promoted.ok).toBe(true)
    if (!promoted.ok) return
    expect(show(promoted.config)).toBe(
      'voters=(1 2 3)\n1: probe match=0 next=1\n2: probe match=0 next=1\n3: probe match=5 next=6',
    )
    // The promoted member's Progress is a copy: the current configuration still has it as a learner.
    expect(promoted.config.progress.get(3)).not.toBe(base.progress.get(3))
    expect(base.progress.get(3)!.isLearner).toBe(true)
    // Members whose role did not change keep their Progress object.
    expect(promoted.config.progress.get(1)).toBe(base.progress.get(1))

    const demoted = changeConfig(promoted.config, cc('l2'), env(9))
    expect(demoted.ok).toBe(true)
    if (demoted.ok) {
      expect(show(demoted.config)).toBe(
        'voters=(1 3) learners=(2)\n1: probe match=0 next=1\n2: probe match=0 next=1 learner\n3: probe match=5 next=6',
      )
    }
  })

  it('removes a member, voter or learner', () => {
    expect(show(build(['v1', 'v2', 'l3', 'r2']))).toBe(
      'voters=(1) learners=(3)\n1: probe match=0 next=1\n3: probe match=0 next=2 learner',
    )
    expect(show(build(['v1', 'v2', 'l3', 'r3']))).toBe(
      'voters=(1 2)\n1: probe match=0 next=1\n2: probe match=0 next=1',
    )
  })

  it('is idempotent: re-adding a voter or a learner, or removing a non-member, changes nothing', () => {
    const base = build(['v1', 'v2', 'l3'])
    for (const change of ['v1', 'l3', 'r4']) {
      const res = changeConfig(base, cc(change), env(9))
      expect(res.ok, change).toBe(true)
      if (res.ok) expect(show(res.config), change).toBe(show(base))
    }
  })

  it('ignores a change of node 0 (etcd clears the id of a change it decided to skip)', () => {
    const base = build(['v1'])
    const res = changeConfig(base, { type: 'removeNode', nodeId: 0 }, env(3))
    expect(res.ok).toBe(true)
    if (res.ok) expect(show(res.config)).toBe(show(base))
  })

  it('never modifies the current configuration, accepted or refused', () => {
    const base = build(['v1', 'v2', 'l3'])
    base.progress.get(2)!.becomeReplicate()
    base.progress.get(2)!.sentEntries(4, 10)
    const before = image(base)
    for (const change of ['v3', 'l2', 'r1', 'r3', 'v4', 'l5', 'v1']) {
      const res = changeConfig(base, cc(change), env(9))
      expect(res.ok, change).toBe(true)
      if (res.ok) expect(res.config.voters).not.toBe(base.voters)
      expect(image(base), change).toEqual(before)
    }
    expect(changeConfig(build(['v1']), cc('r1'), env(1)).ok).toBe(false)
  })

  it('walks etcd-io/raft simple_safety: a sequence of accepted and refused changes', () => {
    let c = empty()
    let lastIndex = 0
    const steps: [string, string][] = [
      ['l1', 'removed all voters'],
      ['v1', 'voters=(1)'],
      ['v2', 'voters=(1 2)'],
      ['l3', 'voters=(1 2) learners=(3)'],
      ['r1', 'voters=(2) learners=(3)'],
      ['r2', 'removed all voters'],
      ['l2', 'removed all voters'],
      ['v3', 'voters=(2 3)'],
      ['l4', 'voters=(2 3) learners=(4)'],
      ['r4', 'voters=(2 3)'],
      ['r3', 'voters=(2)'],
      ['r2', 'removed all voters'],
    ]
    for (const [change, want] of steps) {
      lastIndex++
      const res = changeConfig(c, cc(change), env(lastIndex))
      if (res.ok) c = res.config
      expect(res.ok ? show(res.config).split('\n')[0] : res.reason, change).toBe(want)
    }
  })

  it('throws on a current configuration that breaks the invariants (a bug, not an input)', () => {
    const both = build(['v1', 'l2'])
    const broken: MembershipConfig = { ...both, voters: new Set([1, 2]) }
    expect(() => changeConfig(broken, cc('v3'), env(1))).toThrow(/voter 2 is marked as learner/)
    const orphan: MembershipConfig = { ...both, learners: new Set() }
    expect(() => changeConfig(orphan, cc('v3'), env(1))).toThrow(/progress for 2, which is not a member/)
  })
})

describe('configFromConfState', () => {
  it('builds the configuration of a ConfState, every member probing from `next`', () => {
    const c = configFromConfState({ voters: [1, 2], learners: [3] }, 8, 0, env(0).newProgress)
    expect(show(c)).toBe(
      'voters=(1 2) learners=(3)\n1: probe match=0 next=8\n2: probe match=0 next=8\n3: probe match=0 next=8 learner',
    )
    expect(c.progress.get(1)!.recentActive).toBe(false)
  })

  it('throws on a member that is both voter and learner', () => {
    expect(() => configFromConfState({ voters: [1, 2], learners: [2] }, 1, 0, env(0).newProgress)).toThrow(
      '2 is in both voters and learners',
    )
  })
})

describe('changeConfig against a reference model (seeded random change sequences)', () => {
  // The rules spelled out on plain sets, as simply as possible; changeConfig must agree with them
  // on every step, keep its invariants, and never modify its input. CONFCHANGE_SEED=<n> replays one seed.
  const seeds = process.env['CONFCHANGE_SEED']
    ? [Number(process.env['CONFCHANGE_SEED'])]
    : [1, 2, 3, 4, 5, 6, 7, 8]
  for (const seed of seeds) {
    it(`seed ${seed}`, () => {
      console.log(`CONFCHANGE_SEED=${seed}`)
      const rng = new SeededRandom(seed)
      let c = empty()
      let voters = new Set<NodeId>()
      let learners = new Set<NodeId>()
      for (let step = 0; step < 300; step++) {
        const id = rng.between(0, 6)
        const type = (['addNode', 'addLearnerNode', 'removeNode'] as const)[rng.intn(3)]!
        const change: ConfChange = { type, nodeId: id }
        // Reference.
        const nv = new Set(voters)
        const nl = new Set(learners)
        if (id !== 0) {
          if (type === 'addNode') {
            nl.delete(id)
            nv.add(id)
          } else if (type === 'addLearnerNode') {
            nv.delete(id)
            nl.add(id)
          } else {
            nv.delete(id)
            nl.delete(id)
          }
        }
        const refused = nv.size === 0
        const before = image(c)
        const res = changeConfig(c, change, env(step, step))
        const at = `seed ${seed} step ${step}: ${type} ${id}`
        expect(image(c), at).toEqual(before)
        expect(res.ok, at).toBe(!refused)
        if (!res.ok) {
          expect(res.reason, at).toBe('removed all voters')
          continue
        }
        const sorted = (x: Iterable<NodeId>) => [...x].sort((a, b) => a - b)
        expect(sorted(res.config.voters), at).toEqual(sorted(nv))
        expect(sorted(res.config.learners), at).toEqual(sorted(nl))
        expect(sorted(res.config.progress.keys()), at).toEqual(sorted([...nv, ...nl]))
        for (const [pid, pr] of res.config.progress) expect(pr.isLearner, `${at}: ${pid}`).toBe(nl.has(pid))
        // A member already in the configuration keeps its replication state; a new one probes from the
        // last index.
        for (const [pid, pr] of res.config.progress) {
          const old = c.progress.get(pid)
          if (old !== undefined) expect([pr.match, pr.next], `${at}: ${pid}`).toEqual([old.match, old.next])
          else expect([pr.match, pr.next], `${at}: ${pid}`).toEqual([0, Math.max(step, 1)])
        }
        c = res.config
        voters = nv
        learners = nl
      }
    })
  }
})
