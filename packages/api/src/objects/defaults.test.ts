// Defaulting as pkg/apis/core/v1/defaults.go, pkg/apis/apps/v1/defaults.go and the
// DefaultTolerationSeconds admission plugin (plugin/pkg/admission/defaulttolerationseconds) do it;
// expected values are what `kubectl get -o yaml` shows on a real 1.32 cluster.
import { describe, expect, it } from 'vitest'
import type { Deployment } from './apps-schema.js'
import type { Namespace, Secret, Service } from './core-schema.js'
import { admitCreate, applyDefaults, imageTag } from './defaults.js'
import type { Pod } from './pod-schema.js'

const pod = (image: string): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'default' },
  spec: { containers: [{ name: 'c', image, ports: [{ containerPort: 80 }] }] },
})

describe('imagePullPolicy (SetDefaults_Container)', () => {
  it.each([
    ['nginx', 'Always'],
    ['nginx:latest', 'Always'],
    ['nginx:1.27', 'IfNotPresent'],
    ['registry:5000/nginx', 'Always'],
    ['registry:5000/nginx:1.2', 'IfNotPresent'],
    ['nginx@sha256:abcd', 'IfNotPresent'],
  ])('%s → %s', (image, policy) => {
    const out = applyDefaults('Pod', pod(image))
    expect(out.spec?.containers?.[0]?.imagePullPolicy).toBe(policy)
  })
  it('imageTag', () => {
    expect(imageTag('a/b:c')).toBe('c')
    expect(imageTag('a:1/b')).toBe('latest')
  })
})

describe('pod defaults', () => {
  it('fills the PodSpec and container defaults and leaves the input untouched', () => {
    const input = pod('nginx:1.27')
    const frozen = structuredClone(input)
    const out = applyDefaults('Pod', input)
    expect(input).toEqual(frozen)
    expect(out.spec).toMatchObject({
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      terminationGracePeriodSeconds: 30,
      schedulerName: 'default-scheduler',
      securityContext: {},
      enableServiceLinks: true,
    })
    expect(out.spec?.containers?.[0]).toMatchObject({
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      resources: {},
      ports: [{ containerPort: 80, protocol: 'TCP' }],
    })
  })
  it('keeps values that are set', () => {
    const p = pod('x')
    p.spec!.restartPolicy = 'Never'
    p.spec!.terminationGracePeriodSeconds = 0
    const out = applyDefaults('Pod', p)
    expect(out.spec?.restartPolicy).toBe('Never')
    expect(out.spec?.terminationGracePeriodSeconds).toBe(0)
  })
  it('requests default to limits', () => {
    const p = pod('x')
    p.spec!.containers![0]!.resources = { limits: { cpu: '1' }, requests: { memory: '1Gi' } }
    expect(applyDefaults('Pod', p).spec?.containers?.[0]?.resources?.requests).toEqual({
      memory: '1Gi',
      cpu: '1',
    })
  })
  it('a volume without a source is an emptyDir; configMap volumes get defaultMode 420', () => {
    const p = pod('x')
    p.spec!.volumes = [{ name: 'a' }, { name: 'b', configMap: { name: 'cm' } }]
    expect(applyDefaults('Pod', p).spec?.volumes).toEqual([
      { name: 'a', emptyDir: {} },
      { name: 'b', configMap: { name: 'cm', defaultMode: 420 } },
    ])
  })
})

describe('create-time admission', () => {
  const notReady = {
    key: 'node.kubernetes.io/not-ready',
    operator: 'Exists',
    effect: 'NoExecute',
    tolerationSeconds: 300,
  }
  const unreachable = {
    key: 'node.kubernetes.io/unreachable',
    operator: 'Exists',
    effect: 'NoExecute',
    tolerationSeconds: 300,
  }
  it('adds the 300 s not-ready and unreachable tolerations, the default service account and priority', () => {
    const out = admitCreate('Pod', applyDefaults('Pod', pod('x')))
    expect(out.spec?.tolerations).toEqual([notReady, unreachable])
    expect(out.spec).toMatchObject({
      serviceAccountName: 'default',
      serviceAccount: 'default',
      priority: 0,
      preemptionPolicy: 'PreemptLowerPriority',
    })
  })
  it('does not add a toleration the pod already has (any-key or matching key, any or NoExecute effect)', () => {
    const p = pod('x')
    p.spec!.tolerations = [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', tolerationSeconds: 5, effect: 'NoExecute' },
    ]
    expect(admitCreate('Pod', p).spec?.tolerations).toEqual([p.spec!.tolerations[0], unreachable])
    p.spec!.tolerations = [{ operator: 'Exists' }]
    expect(admitCreate('Pod', p).spec?.tolerations).toEqual([{ operator: 'Exists' }])
  })
  it('namespaces get the kubernetes finalizer, phase Active and the metadata.name label', () => {
    const ns: Namespace = { metadata: { name: 'team' } }
    const out = admitCreate('Namespace', applyDefaults('Namespace', ns))
    expect(out.spec?.finalizers).toEqual(['kubernetes'])
    expect(out.status?.phase).toBe('Active')
    expect(out.metadata?.labels).toEqual({ 'kubernetes.io/metadata.name': 'team' })
  })
})

describe('apps and service defaults', () => {
  it('deployment: replicas 1, RollingUpdate 25%/25%, revisionHistoryLimit 10, progressDeadlineSeconds 600', () => {
    const d: Deployment = {
      metadata: { name: 'web' },
      spec: { template: { spec: { containers: [{ name: 'c', image: 'x' }] } } },
    }
    const out = applyDefaults('Deployment', d)
    expect(out.spec).toMatchObject({
      replicas: 1,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    })
    expect(out.spec?.template?.spec?.restartPolicy).toBe('Always')
    expect(out.spec?.template?.spec?.containers?.[0]?.imagePullPolicy).toBe('Always')
  })
  it('deployment with Recreate gets no rollingUpdate', () => {
    const out = applyDefaults('Deployment', { spec: { strategy: { type: 'Recreate' } } } as Deployment)
    expect(out.spec?.strategy).toEqual({ type: 'Recreate' })
  })
  it('replicaset: replicas 1', () => {
    expect(applyDefaults('ReplicaSet', { spec: {} }).spec).toMatchObject({ replicas: 1 })
  })
  it('service: ClusterIP, sessionAffinity None, port protocol TCP and targetPort = port', () => {
    const svc: Service = { spec: { ports: [{ port: 80 }] } }
    expect(applyDefaults('Service', svc).spec).toEqual({
      type: 'ClusterIP',
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
      ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
    })
  })
  it('secret: type Opaque, stringData folded into base64 data', () => {
    const s: Secret = { stringData: { a: 'hi' } }
    expect(applyDefaults('Secret', s)).toEqual({ type: 'Opaque', data: { a: 'aGk=' } })
  })
  it('kinds without defaults are returned as they are', () => {
    const cm = { data: { a: 'b' } }
    expect(applyDefaults('ConfigMap', cm)).toBe(cm)
  })
})
