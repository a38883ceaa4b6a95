/**
 * Goal: the pure pod state machine follows the kubelet's rules: Pending until the start delay, then
 * Running; run-once pods end Succeeded/Failed by exit code; restartPolicy Always / OnFailure restart
 * with the first restart at once and back-off doubling to the cap; deletion stops the containers.
 * Method: plain numbers as the clock, no timers.
 */
import { describe, expect, it } from 'vitest'
import {
  acceptPod,
  advancePod,
  nextEventMs,
  type PodFacts,
  parseDurationMs,
  podFacts,
  podStatus,
  qosClassOf,
  restartDelayMs,
} from './pod-state.js'

const t = { podStartDelayMs: 1000, crashBackoffMs: 10_000, crashBackoffMsMax: 40_000 }
const T0 = Date.UTC(2026, 11, 7, 17, 0, 0)

function facts(over: Partial<PodFacts> = {}): PodFacts {
  return {
    uid: 'u1',
    namespace: 'default',
    name: 'p',
    containers: [{ name: 'c', image: 'nginx' }],
    initContainers: [],
    restartPolicy: 'Always',
    runTimeMs: undefined,
    exitCode: 0,
    qosClass: 'BestEffort',
    deleting: false,
    ...over,
  }
}

describe('pod state machine', () => {
  it('Pending with ContainerCreating, then Running after the start delay', () => {
    const f = facts()
    let s = acceptPod(T0, t)
    expect(s.phase).toBe('Pending')
    expect(nextEventMs(s, f)).toBe(T0 + 1000)
    const pending = podStatus(s, f, { hostIP: '127.0.2.50', podIP: undefined })
    expect(pending['containerStatuses']).toMatchObject([
      { ready: false, state: { waiting: { reason: 'ContainerCreating' } } },
    ])
    expect(pending['podIP']).toBeUndefined()
    s = advancePod(s, f, T0 + 999, t)
    expect(s.phase).toBe('Pending')
    s = advancePod(s, f, T0 + 1000, t)
    expect(s).toMatchObject({ phase: 'Running', runStartMs: T0 + 1000, restartCount: 0 })
    expect(nextEventMs(s, f)).toBeUndefined()
    const st = podStatus(s, f, { hostIP: '127.0.2.50', podIP: '10.128.0.2' })
    expect(st).toMatchObject({
      phase: 'Running',
      podIP: '10.128.0.2',
      podIPs: [{ ip: '10.128.0.2' }],
      startTime: '2026-12-07T17:00:00Z',
    })
    const conds = (st['conditions'] as { type: string; status: string }[]).map((c) => `${c.type}=${c.status}`)
    expect(conds).toEqual([
      'PodReadyToStartContainers=True',
      'Initialized=True',
      'Ready=True',
      'ContainersReady=True',
      'PodScheduled=True',
    ])
  })

  it('a run-once pod ends Succeeded or Failed by its exit code', () => {
    for (const [policy, code, phase] of [
      ['Never', 0, 'Succeeded'],
      ['Never', 2, 'Failed'],
      ['OnFailure', 0, 'Succeeded'],
    ] as const) {
      const f = facts({ restartPolicy: policy, runTimeMs: 5000, exitCode: code })
      const s = advancePod(acceptPod(T0, t), f, T0 + 60_000, t)
      expect(s.phase).toBe(phase)
      expect(s.terminated).toEqual({
        exitCode: code,
        reason: code === 0 ? 'Completed' : 'Error',
        startedMs: T0 + 1000,
        finishedMs: T0 + 6000,
      })
      expect(podStatus(s, f, { hostIP: 'h', podIP: 'ip' })['conditions']).toContainEqual(
        expect.objectContaining({ type: 'Ready', status: 'False', reason: 'PodCompleted' }),
      )
    }
  })

  it('crashes restart per restartPolicy with back-off: at once, then 10s, 20s, 40s, capped', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => restartDelayMs(n, t))).toEqual([
      0, 10_000, 20_000, 40_000, 40_000, 40_000,
    ])
    const f = facts({ restartPolicy: 'OnFailure', runTimeMs: 2000, exitCode: 1 })
    let s = advancePod(acceptPod(T0, t), f, T0 + 3000, t)
    // Started at +1s, crashed at +3s, restarted at once.
    expect(s).toMatchObject({ phase: 'Running', restartCount: 1, runStartMs: T0 + 3000 })
    expect(s.lastTermination).toMatchObject({ exitCode: 1, reason: 'Error', finishedMs: T0 + 3000 })
    s = advancePod(s, f, T0 + 5000, t)
    expect(s).toMatchObject({
      restartCount: 2,
      runStartMs: undefined,
      waiting: { reason: 'CrashLoopBackOff', untilMs: T0 + 15_000 },
    })
    expect(podStatus(s, f, { hostIP: 'h', podIP: 'ip' })['containerStatuses']).toMatchObject([
      {
        ready: false,
        restartCount: 2,
        state: { waiting: { reason: 'CrashLoopBackOff' } },
        lastState: { terminated: { exitCode: 1 } },
      },
    ])
    s = advancePod(s, f, T0 + 15_000, t)
    expect(s).toMatchObject({ phase: 'Running', runStartMs: T0 + 15_000, restartCount: 2 })
    // Never restarts nothing; OnFailure with exit 0 completes.
    expect(
      advancePod(acceptPod(T0, t), facts({ restartPolicy: 'Never', runTimeMs: 1, exitCode: 1 }), T0 + 9999, t)
        .phase,
    ).toBe('Failed')
    // Always restarts even after exit 0 (the kubelet's rule).
    expect(advancePod(acceptPod(T0, t), facts({ runTimeMs: 1000 }), T0 + 2000, t)).toMatchObject({
      phase: 'Running',
      restartCount: 1,
    })
  })

  it('deletion stops running containers; a pod that never ran stays as it is', () => {
    const running = advancePod(acceptPod(T0, t), facts(), T0 + 2000, t)
    const killed = advancePod(running, facts({ deleting: true }), T0 + 3000, t)
    expect(killed).toMatchObject({
      phase: 'Succeeded',
      terminated: { exitCode: 0, reason: 'Completed', finishedMs: T0 + 3000 },
    })
    const pending = advancePod(acceptPod(T0, t), facts({ deleting: true }), T0 + 500, t)
    expect(pending.phase).toBe('Pending')
  })

  it('reads facts from a pod: annotations, Job ownership, QoS', () => {
    const pod = (annotations: Record<string, string>, extra: Record<string, unknown> = {}) => ({
      metadata: { uid: 'u', name: 'p', namespace: 'ns', annotations, ...extra },
      spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'i' }] },
    })
    expect(podFacts(pod({ 'hakube.io/run-time': '1m30s' }), 0)).toMatchObject({
      runTimeMs: 90_000,
      exitCode: 0,
      restartPolicy: 'Never',
    })
    expect(podFacts(pod({ 'hakube.io/crash-after': '500ms' }), 0)).toMatchObject({
      runTimeMs: 500,
      exitCode: 1,
    })
    expect(podFacts(pod({ 'hakube.io/run-time': '2s', 'hakube.io/exit-code': '7' }), 0)).toMatchObject({
      exitCode: 7,
    })
    expect(
      podFacts(pod({}, { ownerReferences: [{ kind: 'Job', apiVersion: 'batch/v1' }] }), 5000).runTimeMs,
    ).toBe(5000)
    expect(podFacts(pod({}), 5000).runTimeMs).toBeUndefined()
    expect(podFacts(pod({ 'hakube.io/run-time': 'soon' }), 0).runTimeMs).toBeUndefined()
    expect(parseDurationMs('1h2m3s4ms')).toBe(3_723_004)
    expect(parseDurationMs('5')).toBeUndefined()
    expect(qosClassOf([{ resources: {} }])).toBe('BestEffort')
    expect(qosClassOf([{ resources: { limits: { cpu: '1', memory: '1Gi' } } }])).toBe('Guaranteed')
    expect(qosClassOf([{ resources: { requests: { cpu: '1' } } }])).toBe('Burstable')
  })
})
