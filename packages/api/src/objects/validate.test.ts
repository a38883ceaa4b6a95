// Validation messages as kube-apiserver 1.32 reports them. Rules and texts come from
// pkg/apis/core/validation/validation.go (pods, services, nodes), pkg/apis/apps/validation/
// validation.go (deployments, replicasets) and apimachinery pkg/api/validation/objectmeta.go.
import { describe, expect, it } from 'vitest'
import { invalid as statusInvalid } from '../status.js'
import { errorString, type FieldError } from '../validation/field-errors.js'
import type { Deployment } from './apps-schema.js'
import { admitCreate, applyDefaults } from './defaults.js'
import type { Pod } from './pod-schema.js'
import { validateCreate, validateUpdate } from './validate.js'

const strings = (errs: FieldError[]) => errs.map(errorString)
const prepare = <T extends Record<string, unknown>>(kind: string, o: T): T =>
  admitCreate(kind, applyDefaults(kind, o))

const basePod = (): Pod => ({
  metadata: { name: 'p', namespace: 'default' },
  spec: { containers: [{ name: 'c', image: 'nginx' }] },
})
const podErrors = (mutate: (p: Pod) => void) => {
  const p = basePod()
  mutate(p)
  return strings(validateCreate('Pod', prepare('Pod', p)))
}

describe('pod validation', () => {
  it('a defaulted minimal pod is valid', () => {
    expect(podErrors(() => {})).toEqual([])
  })
  it.each<[string, (p: Pod) => void, string[]]>([
    ['no containers', (p) => (p.spec!.containers = []), ['spec.containers: Required value']],
    ['no image', (p) => delete p.spec!.containers![0]!.image, ['spec.containers[0].image: Required value']],
    [
      'image with whitespace',
      (p) => (p.spec!.containers![0]!.image = ' nginx'),
      ['spec.containers[0].image: Invalid value: " nginx": must not have leading or trailing whitespace'],
    ],
    [
      'no name',
      (p) => delete p.metadata!.name,
      ['metadata.name: Required value: name or generateName is required'],
    ],
    ['no namespace', (p) => delete p.metadata!.namespace, ['metadata.namespace: Required value']],
    [
      'bad name',
      (p) => (p.metadata!.name = 'Bad_Name'),
      [
        `metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
      ],
    ],
    [
      'duplicate container names',
      (p) => p.spec!.containers!.push({ name: 'c', image: 'x' }),
      ['spec.containers[1].name: Duplicate value: "c"'],
    ],
    [
      'bad restartPolicy',
      (p) => (p.spec!.restartPolicy = 'Sometimes'),
      [
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
      ],
    ],
    [
      'bad imagePullPolicy',
      (p) => (p.spec!.containers![0]!.imagePullPolicy = 'Maybe'),
      [
        'spec.containers[0].imagePullPolicy: Unsupported value: "Maybe": supported values: "Always", "IfNotPresent", "Never"',
      ],
    ],
    [
      'port out of range',
      (p) => (p.spec!.containers![0]!.ports = [{ containerPort: 70000 }]),
      [
        'spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      ],
    ],
    [
      'bad protocol',
      (p) => (p.spec!.containers![0]!.ports = [{ containerPort: 80, protocol: 'HTTP' }]),
      [
        'spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
      ],
    ],
    [
      'requests above limits',
      (p) => (p.spec!.containers![0]!.resources = { requests: { cpu: '2' }, limits: { cpu: '1' } }),
      [
        'spec.containers[0].resources.requests[cpu]: Invalid value: "2": must be less than or equal to cpu limit of 1',
      ],
    ],
    [
      'mount of an unknown volume',
      (p) => (p.spec!.containers![0]!.volumeMounts = [{ name: 'data', mountPath: '/d' }]),
      ['spec.containers[0].volumeMounts[0].name: Not found: "data"'],
    ],
    [
      'toleration with seconds but not NoExecute',
      (p) =>
        (p.spec!.tolerations = [
          { key: 'k', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 1 },
        ]),
      [
        'spec.tolerations[0].effect: Invalid value: "NoSchedule": effect must be \'NoExecute\' when `tolerationSeconds` is set',
      ],
    ],
    [
      'bad nodeSelector value',
      (p) => (p.spec!.nodeSelector = { disk: '-ssd' }),
      [
        `spec.nodeSelector: Invalid value: "-ssd": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
      ],
    ],
  ])('%s', (_name, mutate, expected) => {
    expect(podErrors(mutate)).toEqual(expected)
  })

  it('generateName alone is accepted (the server generates the name)', () => {
    expect(podErrors((p) => (p.metadata = { generateName: 'web-', namespace: 'default' }))).toEqual([])
  })

  it('the Invalid Status reads as kubectl shows it', () => {
    const p = prepare('Pod', basePod())
    p.spec!.containers = []
    const err = statusInvalid({ group: '', kind: 'Pod' }, 'p', validateCreate('Pod', p))
    expect(err.message).toBe('Pod "p" is invalid: spec.containers: Required value')
  })
})

describe('pod update', () => {
  const stored = () => {
    const p = prepare('Pod', basePod())
    p.metadata = { ...p.metadata, uid: 'u1', resourceVersion: '5' }
    return p
  }
  it('allows an image change and added tolerations', () => {
    const old = stored()
    const next = structuredClone(old)
    next.spec!.containers![0]!.image = 'nginx:1.27'
    next.spec!.tolerations = [...(next.spec!.tolerations ?? []), { key: 'x', operator: 'Exists' }]
    expect(validateUpdate('Pod', next, old)).toEqual([])
  })
  it('forbids other spec changes with the Kubernetes message', () => {
    const old = stored()
    const next = structuredClone(old)
    next.spec!.restartPolicy = 'Never'
    const errs = validateUpdate('Pod', next, old)
    expect(errs).toHaveLength(1)
    expect(errs[0]!.field).toBe('spec')
    expect(errorString(errs[0]!)).toMatch(
      /^spec: Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`,`spec.initContainers\[\*\].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` \(only additions to existing tolerations\),`spec.terminationGracePeriodSeconds` \(allow it to be set to 1 if it was previously negative\)\n/,
    )
    expect(errs[0]!.detail).toContain('spec.restartPolicy: "Always" -> "Never"')
  })
  it('scheduling gates may be removed, never added (validateOnlyDeletedSchedulingGates)', () => {
    const old = stored()
    old.spec!.schedulingGates = [{ name: 'example.com/a' }, { name: 'example.com/b' }]
    const fewer = structuredClone(old)
    fewer.spec!.schedulingGates = [{ name: 'example.com/b' }]
    expect(validateUpdate('Pod', fewer, old)).toEqual([])
    const none = structuredClone(old)
    delete none.spec!.schedulingGates
    expect(validateUpdate('Pod', none, old)).toEqual([])
    const added = structuredClone(old)
    added.spec!.schedulingGates = [{ name: 'example.com/b' }, { name: 'example.com/c' }]
    expect(strings(validateUpdate('Pod', added, old))).toEqual([
      "spec.schedulingGates: Forbidden: only deletion is allowed, but found new scheduling gate 'example.com/c'",
    ])
  })
  it('metadata.name and uid are immutable; resourceVersion is required', () => {
    const old = stored()
    const next = structuredClone(old)
    next.metadata!.uid = 'u2'
    delete next.metadata!.resourceVersion
    expect(strings(validateUpdate('Pod', next, old))).toEqual([
      'metadata.resourceVersion: Invalid value: "": must be specified for an update',
      'metadata.uid: Invalid value: "u2": field is immutable',
    ])
  })
})

const baseDeployment = (): Deployment => ({
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image: 'nginx' }] },
    },
  },
})
const deployErrors = (mutate: (d: Deployment) => void) => {
  const d = baseDeployment()
  mutate(d)
  return strings(validateCreate('Deployment', prepare('Deployment', d)))
}

describe('deployment and replicaset validation', () => {
  it('a defaulted deployment is valid', () => {
    expect(deployErrors(() => {})).toEqual([])
  })
  it.each<[string, (d: Deployment) => void, string[]]>([
    ['missing selector', (d) => delete d.spec!.selector, ['spec.selector: Required value']],
    [
      'selector not matching the template',
      (d) => (d.spec!.template!.metadata!.labels = { app: 'other' }),
      [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`',
      ],
    ],
    [
      'empty selector',
      (d) => (d.spec!.selector = {}),
      [
        'spec.selector: Invalid value: &v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment',
      ],
    ],
    [
      'template restartPolicy Never',
      (d) => (d.spec!.template!.spec!.restartPolicy = 'Never'),
      ['spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'],
    ],
    [
      'negative replicas',
      (d) => (d.spec!.replicas = -1),
      ['spec.replicas: Invalid value: -1: must be greater than or equal to 0'],
    ],
    [
      'template container without image',
      (d) => delete d.spec!.template!.spec!.containers![0]!.image,
      ['spec.template.spec.containers[0].image: Required value'],
    ],
    [
      'maxUnavailable and maxSurge both 0',
      (d) =>
        (d.spec!.strategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } }),
      ['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0'],
    ],
    [
      'progressDeadlineSeconds not above minReadySeconds',
      (d) => {
        d.spec!.minReadySeconds = 10
        d.spec!.progressDeadlineSeconds = 10
      },
      ['spec.progressDeadlineSeconds: Invalid value: 10: must be greater than minReadySeconds'],
    ],
  ])('%s', (_name, mutate, expected) => {
    expect(deployErrors(mutate)).toEqual(expected)
  })

  it('the selector is immutable on update (apps/v1)', () => {
    const old = prepare('Deployment', baseDeployment())
    old.metadata = { ...old.metadata, resourceVersion: '3' }
    const next = structuredClone(old)
    next.spec!.selector = { matchLabels: { app: 'web', tier: 'fe' } }
    next.spec!.template!.metadata!.labels = { app: 'web', tier: 'fe' }
    expect(strings(validateUpdate('Deployment', next, old))).toEqual([
      'spec.selector: Invalid value: &v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "tier":"fe"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    ])
  })

  it('replicasets share the selector rules', () => {
    const rs = prepare('ReplicaSet', {
      metadata: { name: 'r', namespace: 'd' },
      spec: { template: baseDeployment().spec!.template },
    })
    expect(strings(validateCreate('ReplicaSet', rs))).toEqual(['spec.selector: Required value'])
  })
})

describe('other kinds', () => {
  it('namespace names are DNS labels and namespaces are cluster-scoped', () => {
    expect(strings(validateCreate('Namespace', { metadata: { name: 'a.b', namespace: 'x' } }))).toEqual([
      'metadata.name: Invalid value: "a.b": must not contain dots',
      'metadata.namespace: Forbidden: not allowed on this type',
    ])
  })
  it('service: ports required, names DNS-1035', () => {
    const svc = prepare('Service', { metadata: { name: '1svc', namespace: 'd' }, spec: {} })
    const errs = strings(validateCreate('Service', svc))
    expect(errs[0]).toMatch(/^metadata.name: Invalid value: "1svc": a DNS-1035 label must consist of/)
    expect(errs[1]).toBe('spec.ports: Required value')
  })
  it('service port names are DNS-1123 labels (kubectl create service names them 80-8080)', () => {
    const svc = (name: string) =>
      prepare('Service', { metadata: { name: 's', namespace: 'd' }, spec: { ports: [{ name, port: 80 }] } })
    expect(strings(validateCreate('Service', svc('80-8080')))).toEqual([])
    expect(strings(validateCreate('Service', svc('Web_1')))[0]).toMatch(
      /^spec.ports\[0\].name: Invalid value: "Web_1": a lowercase RFC 1123 label must consist of/,
    )
  })
  it('service clusterIP is immutable once set', () => {
    const old = prepare('Service', {
      metadata: { name: 's', namespace: 'd', resourceVersion: '1' },
      spec: { clusterIP: '10.0.0.1', ports: [{ port: 80 }] },
    })
    const next = structuredClone(old)
    next.spec!.clusterIP = '10.0.0.2'
    expect(strings(validateUpdate('Service', next, old))).toEqual([
      'spec.clusterIP: Invalid value: "10.0.0.2": field is immutable',
    ])
  })
  it('node taints need a valid effect', () => {
    expect(
      strings(
        validateCreate('Node', {
          metadata: { name: 'n1' },
          spec: { taints: [{ key: 'k', effect: 'Sometimes' }] },
        }),
      ),
    ).toEqual([
      'spec.taints[0].effect: Unsupported value: "Sometimes": supported values: "NoExecute", "NoSchedule", "PreferNoSchedule"',
    ])
  })
  it('configmap keys', () => {
    expect(
      strings(
        validateCreate('ConfigMap', { metadata: { name: 'c', namespace: 'd' }, data: { 'a b': 'x' } }),
      )[0],
    ).toMatch(
      /^data: Invalid value: "a b": a valid config key must consist of alphanumeric characters, '-', '_' or '.'/,
    )
  })
  it('lease duration must be positive', () => {
    expect(
      strings(
        validateCreate('Lease', {
          metadata: { name: 'l', namespace: 'd' },
          spec: { leaseDurationSeconds: 0 },
        }),
      ),
    ).toEqual(['spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0'])
  })
  it('event involvedObject namespace must match', () => {
    expect(
      strings(
        validateCreate('Event', {
          metadata: { name: 'e', namespace: 'a' },
          involvedObject: { namespace: 'b', kind: 'Pod', name: 'p' },
        }),
      ),
    ).toEqual(['involvedObject.namespace: Invalid value: "b": does not match event.namespace'])
  })
})
