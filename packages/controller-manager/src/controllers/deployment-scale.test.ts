/**
 * Goal: a Deployment's changed replica count reaches its ReplicaSets as kube's `scale` does:
 * a scaling event is detected from the desired-replicas annotation; one active set takes the whole
 * count; a saturated new set sends the old ones to 0; mid-rollout the change is shared in proportion
 * (kube's TestScale cases 5 -> 10 and 10 -> 5), the leftover to the largest set, down to 0 for 0;
 * and syncDeployment scales a paused Deployment without starting a rollout.
 */
import type { Deployment, ReplicaSet } from '@hakube/api'
import { describe, expect, it } from 'vitest'
import { FakeActions } from '../testing/fake-actions.js'
import { syncDeployment } from './deployment.js'
import { isScalingEvent, scaleTargets } from './deployment-scale.js'
import {
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  REVISION_ANNOTATION,
} from './deployment-util.js'

function deployment(
  replicas: number,
  maxSurge: number | string = 0,
  maxUnavailable: number | string = 1,
): Deployment {
  return {
    metadata: {
      name: 'web',
      namespace: 'ns',
      uid: 'd1',
      generation: 2,
      annotations: { [REVISION_ANNOTATION]: '2' },
    },
    spec: {
      replicas,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable } },
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'new' }] } },
    },
  } as Deployment
}

function rs(
  name: string,
  replicas: number,
  o: { desired: number; max: number; available?: number; created: string; image?: string },
): ReplicaSet {
  return {
    metadata: {
      name,
      namespace: 'ns',
      uid: `u-${name}`,
      creationTimestamp: o.created,
      labels: { app: 'web', 'pod-template-hash': name },
      annotations: {
        [DESIRED_REPLICAS_ANNOTATION]: String(o.desired),
        [MAX_REPLICAS_ANNOTATION]: String(o.max),
        [REVISION_ANNOTATION]: name === 'new' ? '2' : '1',
      },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd1', controller: true },
      ],
    },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web', 'pod-template-hash': name } },
      template: {
        metadata: { labels: { app: 'web', 'pod-template-hash': name } },
        spec: { containers: [{ name: 'c', image: o.image ?? name }] },
      },
    },
    status: { replicas, availableReplicas: o.available ?? replicas, readyReplicas: o.available ?? replicas },
  } as ReplicaSet
}

const OLD = '2026-01-01T00:00:00Z'
const NEW = '2026-01-01T00:05:00Z'
const sizes = (targets: Array<[ReplicaSet, number]>) =>
  Object.fromEntries(targets.map(([r, n]) => [r.metadata?.name, n]))

describe('scaleTargets', () => {
  it('detects a scaling event from the desired-replicas annotation of active sets only', () => {
    const newRS = rs('new', 2, { desired: 5, max: 5, created: NEW })
    expect(isScalingEvent(deployment(5), [newRS])).toBe(false)
    expect(isScalingEvent(deployment(10), [newRS])).toBe(true)
    const idle = rs('old', 0, { desired: 3, max: 3, created: OLD })
    expect(isScalingEvent(deployment(5), [newRS, idle])).toBe(false)
  })

  it('gives the whole count to the only active set', () => {
    const only = rs('new', 10, { desired: 10, max: 10, created: NEW })
    expect(sizes(scaleTargets(deployment(12), only, []))).toEqual({ new: 12 })
    expect(sizes(scaleTargets(deployment(5), only, []))).toEqual({ new: 5 })
    expect(scaleTargets(deployment(10), only, [])).toEqual([])
  })

  it('sends the old sets to 0 once the new one is saturated', () => {
    const newRS = rs('new', 5, { desired: 5, max: 5, available: 5, created: NEW })
    const old = rs('old', 2, { desired: 3, max: 3, created: OLD })
    expect(sizes(scaleTargets(deployment(5), newRS, [old]))).toEqual({ old: 0 })
  })

  it('shares a change in proportion mid-rollout (kube: 5 -> 10 and 10 -> 5)', () => {
    const up = scaleTargets(
      deployment(10),
      rs('new', 2, { desired: 5, max: 5, available: 0, created: NEW }),
      [rs('old', 3, { desired: 5, max: 5, created: OLD })],
    )
    expect(sizes(up)).toEqual({ new: 4, old: 6 })
    const down = scaleTargets(
      deployment(5),
      rs('new', 4, { desired: 10, max: 10, available: 0, created: NEW }),
      [rs('old', 6, { desired: 10, max: 10, created: OLD })],
    )
    expect(sizes(down)).toEqual({ new: 2, old: 3 })
    // Each of three sets of 1 rounds to +0 for 3 -> 4: the leftover goes to the largest, newest first.
    const odd = scaleTargets(
      deployment(4),
      rs('new', 1, { desired: 3, max: 3, available: 0, created: NEW }),
      [
        rs('old', 1, { desired: 3, max: 3, created: OLD }),
        rs('mid', 1, { desired: 3, max: 3, created: '2026-01-01T00:02:00Z' }),
      ],
    )
    expect(sizes(odd)).toEqual({ new: 2, old: 1, mid: 1 })
    const zero = scaleTargets(
      deployment(0),
      rs('new', 2, { desired: 5, max: 5, available: 0, created: NEW }),
      [rs('old', 3, { desired: 5, max: 5, created: OLD })],
    )
    expect(sizes(zero)).toEqual({ new: 0, old: 0 })
  })
})

describe('syncDeployment scaling', () => {
  it('scales a paused Deployment, starting no rollout', async () => {
    const d = deployment(6)
    d.spec = { ...d.spec, paused: true }
    const old = rs('old', 3, { desired: 3, max: 3, created: OLD, image: 'old' })
    const a = new FakeActions()
    const view = { deployment: () => d, replicaSets: () => [old] }
    await syncDeployment('ns/web', view, a, Date.parse(NEW))
    expect(a.calls.filter((c) => c.startsWith('create'))).toEqual([])
    const scaled = a.updates.find((o) => o.metadata?.name === 'old') as ReplicaSet
    expect(scaled.spec?.replicas).toBe(6)
    expect(scaled.metadata?.annotations?.[DESIRED_REPLICAS_ANNOTATION]).toBe('6')
    expect(a.events).toContain(
      'Normal ScalingReplicaSet Deployment/web: Scaled up replica set old from 3 to 6',
    )
  })
})
