/**
 * Goal: the Deployment's Progressing and ReplicaFailure conditions follow kube's syncRolloutStatus:
 * progress renews lastUpdateTime (not lastTransitionTime), a stall past progressDeadlineSeconds is
 * False/ProgressDeadlineExceeded, completion is NewReplicaSetAvailable, no deadline means no
 * Progressing condition, a stalled rollout is checked again when its deadline passes, creation /
 * found / paused / resumed reasons, and a ReplicaSet's ReplicaFailure copied to the Deployment.
 */
import type { Deployment, ReplicaSet } from '@hakube/api'
import { describe, expect, it } from 'vitest'
import { PROGRESSING, REPLICA_FAILURE, rolloutConditions, startingConditions } from './deployment-progress.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')

type Condition = NonNullable<NonNullable<Deployment['status']>['conditions']>[number]

function deployment(o: {
  deadline?: number
  paused?: boolean
  status?: Deployment['status']
  replicas?: number
}): Deployment {
  return {
    metadata: { name: 'web', namespace: 'ns', generation: 3 },
    spec: {
      replicas: o.replicas ?? 4,
      progressDeadlineSeconds: o.deadline ?? 600,
      ...(o.paused !== undefined && { paused: o.paused }),
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
    },
    ...(o.status !== undefined && { status: o.status }),
  } as Deployment
}

const newRS = { metadata: { name: 'web-new' } } as ReplicaSet
const updating = (at: number): Condition => ({
  type: PROGRESSING,
  status: 'True',
  reason: 'ReplicaSetUpdated',
  message: 'ReplicaSet "web-new" is progressing.',
  lastUpdateTime: iso(at),
  lastTransitionTime: iso(T0),
})
const counts = {
  observedGeneration: 3,
  replicas: 5,
  updatedReplicas: 2,
  readyReplicas: 3,
  availableReplicas: 3,
}
const progressingOf = (cs: readonly Condition[]) => cs.find((c) => c.type === PROGRESSING)

describe('rolloutConditions', () => {
  it('renews lastUpdateTime while the rollout moves, keeping lastTransitionTime', () => {
    const d = deployment({ status: { ...counts, updatedReplicas: 1, conditions: [updating(T0)] } })
    const now = T0 + 300_000
    const r = rolloutConditions(d, newRS, [newRS], d.status?.conditions ?? [], counts, now, iso(now))
    expect(progressingOf(r.conditions)).toEqual({ ...updating(now), lastTransitionTime: iso(T0) })
    // Stalled from now on: checked again a second after the deadline.
    expect(r.requeueAfterMs).toBe(600_000 + 1000)
  })

  it('times out a rollout that has not moved for progressDeadlineSeconds, and stays timed out', () => {
    const d = deployment({ status: { ...counts, conditions: [updating(T0)] } })
    const early = T0 + 599_000
    const before = rolloutConditions(d, newRS, [newRS], [updating(T0)], counts, early, iso(early))
    expect(progressingOf(before.conditions)?.reason).toBe('ReplicaSetUpdated')
    expect(before.requeueAfterMs).toBe(1000 + 1000)
    const late = T0 + 601_000
    const after = rolloutConditions(d, newRS, [newRS], [updating(T0)], counts, late, iso(late))
    expect(progressingOf(after.conditions)).toEqual({
      type: PROGRESSING,
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
      message: 'ReplicaSet "web-new" has timed out progressing.',
      lastUpdateTime: iso(late),
      lastTransitionTime: iso(late),
    })
    expect(after.requeueAfterMs).toBeUndefined()
    const timedOut = deployment({ status: { ...counts, conditions: after.conditions } })
    const later = rolloutConditions(
      timedOut,
      newRS,
      [newRS],
      after.conditions,
      counts,
      late + 5000,
      iso(late),
    )
    expect(progressingOf(later.conditions)?.reason).toBe('ProgressDeadlineExceeded')
  })

  it('reports a complete rollout as NewReplicaSetAvailable, and nothing without a deadline', () => {
    const done = {
      observedGeneration: 3,
      replicas: 4,
      updatedReplicas: 4,
      readyReplicas: 4,
      availableReplicas: 4,
    }
    const d = deployment({ status: { ...counts, conditions: [updating(T0)] } })
    const r = rolloutConditions(d, newRS, [newRS], [updating(T0)], done, T0 + 1000, iso(T0 + 1000))
    expect(progressingOf(r.conditions)?.reason).toBe('NewReplicaSetAvailable')
    expect(progressingOf(r.conditions)?.message).toBe('ReplicaSet "web-new" has successfully progressed.')
    expect(r.requeueAfterMs).toBeUndefined()
    const none = deployment({ deadline: 2147483647, status: { ...counts, conditions: [updating(T0)] } })
    const n = rolloutConditions(none, newRS, [newRS], [updating(T0)], counts, T0 + 10_000_000, iso(T0))
    expect(progressingOf(n.conditions)).toBeUndefined()
    expect(n.requeueAfterMs).toBeUndefined()
  })

  it("copies the new ReplicaSet's ReplicaFailure condition, and drops it once gone", () => {
    const failing = {
      metadata: { name: 'web-new' },
      status: {
        replicas: 0,
        conditions: [
          {
            type: 'ReplicaFailure',
            status: 'True',
            reason: 'FailedCreate',
            message: 'pods "web-new-" is forbidden: exceeded quota',
            lastTransitionTime: iso(T0),
          },
        ],
      },
    } as ReplicaSet
    const d = deployment({ status: { ...counts, conditions: [updating(T0)] } })
    const r = rolloutConditions(d, failing, [failing], [updating(T0)], counts, T0 + 1000, iso(T0 + 1000))
    expect(r.conditions.find((c) => c.type === REPLICA_FAILURE)).toEqual({
      type: REPLICA_FAILURE,
      status: 'True',
      reason: 'FailedCreate',
      message: 'pods "web-new-" is forbidden: exceeded quota',
      lastUpdateTime: iso(T0),
      lastTransitionTime: iso(T0),
    })
    const healed = rolloutConditions(d, newRS, [newRS], r.conditions, counts, T0 + 2000, iso(T0 + 2000))
    expect(healed.conditions.find((c) => c.type === REPLICA_FAILURE)).toBeUndefined()
  })
})

describe('startingConditions', () => {
  it('records a created or found ReplicaSet, a pause and a resume', () => {
    const now = iso(T0)
    expect(progressingOf(startingConditions(deployment({}), newRS, true, now))).toMatchObject({
      status: 'True',
      reason: 'NewReplicaSetCreated',
      message: 'Created new replica set "web-new"',
    })
    expect(progressingOf(startingConditions(deployment({}), newRS, false, now))).toMatchObject({
      reason: 'FoundNewReplicaSet',
      message: 'Found new replica set "web-new"',
    })
    // Found only when no Progressing condition exists yet.
    const withCond = deployment({ status: { conditions: [updating(T0)] } })
    expect(progressingOf(startingConditions(withCond, newRS, false, now))?.reason).toBe('ReplicaSetUpdated')
    const paused = startingConditions(
      deployment({ paused: true, status: { conditions: [updating(T0)] } }),
      newRS,
      false,
      now,
    )
    expect(progressingOf(paused)).toMatchObject({ status: 'Unknown', reason: 'DeploymentPaused' })
    const resumedAt = T0 + 3_600_000
    const resumed = startingConditions(
      deployment({ status: { conditions: paused } }),
      newRS,
      false,
      iso(resumedAt),
    )
    expect(progressingOf(resumed)).toMatchObject({
      status: 'Unknown',
      reason: 'DeploymentResumed',
      message: 'Deployment is resumed',
      lastUpdateTime: iso(resumedAt),
    })
    // The deadline counts from the resume, not from before the pause.
    const d = deployment({ status: { ...counts, conditions: resumed } })
    const soon = resumedAt + 10_000
    const r = rolloutConditions(d, newRS, [newRS], resumed, counts, soon, iso(soon))
    expect(progressingOf(r.conditions)?.reason).toBe('DeploymentResumed')
  })
})
