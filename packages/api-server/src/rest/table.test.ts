/**
 * Goal: server-side tables as kube-apiserver serves them: each kind's columns and cells
 * (printers.go), HumanDuration ages, Accept negotiation with includeObject, PartialObjectMetadata,
 * 406s, one-row Tables for GET and watch events (columnDefinitions only in the first), and the
 * text the real kubectl 1.27, 1.32 and 1.33 print from them.
 * Method: the printers called with a fixed `now`; a real ApiServer on 127.0.0.1 driven with undici;
 * the real kubectl binaries against it (each with its own HOME and cache dir).
 */
import { request } from 'undici'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { call, type Json, startTestServer, stopTestServers } from '../testing/harness.js'
import { KUBECTL_VERSIONS, Kubectl, removeKubectlHomes } from '../testing/kubectl.js'
import { buildTable, negotiateOutput, parseIncludeObject, watchEncoder } from './table.js'
import { humanDuration, translateTimestampSince } from './table-cells.js'
import { DEFAULT_PRINTER, printerFor } from './table-printers.js'
import { nodeRoles } from './table-printers-pods.js'
import { formatEndpoints } from './table-printers-services.js'

afterEach(stopTestServers)
afterAll(removeKubectlHomes)

const NOW = Date.parse('2025-06-01T12:00:00Z')
const S = 1000
const M = 60 * S
const H = 60 * M
const D = 24 * H
/** RFC 3339 of `NOW - ms`. */
const ago = (ms: number) => new Date(NOW - ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
const cells = (kind: string, obj: unknown) => printerFor(kind).print(obj, NOW).cells
const KUBECTL_ACCEPT =
  'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'

describe('humanDuration (apimachinery util/duration)', () => {
  it.each([
    [0, '0s'],
    [45 * S, '45s'],
    [119 * S, '119s'],
    [2 * M, '2m'],
    [5 * M + 3 * S, '5m3s'],
    [10 * M + 30 * S, '10m'],
    [179 * M, '179m'],
    [3 * H + 4 * M, '3h4m'],
    [5 * H, '5h'],
    [8 * H + 30 * M, '8h'],
    [47 * H, '47h'],
    [2 * D + 3 * H, '2d3h'],
    [3 * D, '3d'],
    [100 * D, '100d'],
    [3 * 365 * D + 10 * D, '3y10d'],
    [9 * 365 * D, '9y'],
    [-1500, '0s'],
    [-2 * S, '<invalid>'],
  ])('%d ms is %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text)
  })

  it('reads a missing timestamp as <unknown> and a future one as <invalid>', () => {
    expect(translateTimestampSince(undefined, NOW)).toBe('<unknown>')
    expect(translateTimestampSince('', NOW)).toBe('<unknown>')
    expect(translateTimestampSince(ago(-10 * S), NOW)).toBe('<invalid>')
    expect(translateTimestampSince(ago(5 * M), NOW)).toBe('5m')
  })
})

const meta = (name: string, extra: Json = {}) => ({ name, creationTimestamp: ago(5 * M), ...extra })
const running = (name: string, extra: Json = {}) => ({
  name,
  ready: true,
  restartCount: 0,
  image: 'nginx',
  imageID: '',
  state: { running: { startedAt: ago(4 * M) } },
  ...extra,
})

describe('pod printer', () => {
  it('prints a running pod with its wide cells', () => {
    const pod = {
      metadata: meta('web'),
      spec: { nodeName: 'node-1', containers: [{ name: 'a' }, { name: 'b' }] },
      status: {
        phase: 'Running',
        podIP: '10.244.0.5',
        podIPs: [{ ip: '10.244.0.5' }],
        conditions: [{ type: 'Ready', status: 'True' }],
        containerStatuses: [running('a'), running('b', { ready: false })],
      },
    }
    expect(cells('Pod', pod)).toEqual([
      'web',
      '1/2',
      'Running',
      '0',
      '5m',
      '10.244.0.5',
      'node-1',
      '<none>',
      '<none>',
    ])
    expect(printerFor('Pod').columns.map((c) => [c.name, c.type, c.priority, c.format])).toEqual([
      ['Name', 'string', 0, 'name'],
      ['Ready', 'string', 0, ''],
      ['Status', 'string', 0, ''],
      ['Restarts', 'string', 0, ''],
      ['Age', 'string', 0, ''],
      ['IP', 'string', 1, ''],
      ['Node', 'string', 1, ''],
      ['Nominated Node', 'string', 1, ''],
      ['Readiness Gates', 'string', 1, ''],
    ])
  })

  it('prints a pending pod without status as Pending 0/1 with <none> wide cells', () => {
    const pod = { metadata: meta('p'), spec: { containers: [{ name: 'c' }] }, status: { phase: 'Pending' } }
    expect(cells('Pod', pod)).toEqual([
      'p',
      '0/1',
      'Pending',
      '0',
      '5m',
      '<none>',
      '<none>',
      '<none>',
      '<none>',
    ])
  })

  it('shows the waiting reason and restarts with the time of the last one', () => {
    const pod = {
      metadata: meta('crash'),
      spec: { containers: [{ name: 'c' }] },
      status: {
        phase: 'Running',
        containerStatuses: [
          {
            name: 'c',
            ready: false,
            restartCount: 3,
            image: 'x',
            imageID: '',
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(5 * M) } },
          },
        ],
      },
    }
    expect(cells('Pod', pod).slice(0, 4)).toEqual(['crash', '0/1', 'CrashLoopBackOff', '3 (5m ago)'])
  })

  it.each([
    [{ state: { waiting: { reason: 'PodInitializing' } } }, 'Init:0/2'],
    [{ state: { waiting: { reason: 'ImagePullBackOff' } } }, 'Init:ImagePullBackOff'],
    [{ state: { terminated: { exitCode: 1, reason: 'Error' } } }, 'Init:Error'],
    [{ state: { terminated: { exitCode: 2 } } }, 'Init:ExitCode:2'],
    [{ state: { terminated: { exitCode: 137, signal: 9 } } }, 'Init:Signal:9'],
  ])('computes init container status %j as %s', (state, status) => {
    const pod = {
      metadata: meta('init'),
      spec: { initContainers: [{ name: 'i1' }, { name: 'i2' }], containers: [{ name: 'c' }] },
      status: {
        phase: 'Pending',
        initContainerStatuses: [
          { name: 'i1', ready: false, restartCount: 0, image: 'x', imageID: '', ...state },
          { name: 'i2', ready: false, restartCount: 0, image: 'x', imageID: '' },
        ],
        containerStatuses: [
          {
            name: 'c',
            ready: false,
            restartCount: 0,
            image: 'x',
            imageID: '',
            state: { waiting: { reason: 'PodInitializing' } },
          },
        ],
      },
    }
    expect(cells('Pod', pod)[2]).toBe(status)
  })

  it('counts the second init container once the first succeeded, and sidecars as containers', () => {
    const pod = {
      metadata: meta('init'),
      spec: {
        initContainers: [{ name: 'i1' }, { name: 'sidecar', restartPolicy: 'Always' }, { name: 'i3' }],
        containers: [{ name: 'c' }],
      },
      status: {
        phase: 'Pending',
        initContainerStatuses: [
          {
            name: 'i1',
            ready: false,
            restartCount: 0,
            image: 'x',
            imageID: '',
            state: { terminated: { exitCode: 0 } },
          },
          { ...running('sidecar'), started: true },
          { name: 'i3', ready: false, restartCount: 0, image: 'x', imageID: '', state: { running: {} } },
        ],
      },
    }
    expect(cells('Pod', pod).slice(1, 3)).toEqual(['1/2', 'Init:2/3'])
  })

  it('shows Terminating, Unknown for a lost node, and keeps terminal phases while deleting', () => {
    const base = { spec: { containers: [{ name: 'c' }] } }
    const deleting = meta('d', { deletionTimestamp: ago(0) })
    expect(cells('Pod', { ...base, metadata: deleting, status: { phase: 'Running' } })[2]).toBe('Terminating')
    expect(
      cells('Pod', { ...base, metadata: deleting, status: { phase: 'Running', reason: 'NodeLost' } })[2],
    ).toBe('Unknown')
    expect(cells('Pod', { ...base, metadata: deleting, status: { phase: 'Succeeded' } })[2]).toBe('Succeeded')
  })

  it('reads Completed with a running container as Running or NotReady by the Ready condition', () => {
    const statuses = [
      running('a'),
      {
        name: 'b',
        ready: false,
        restartCount: 0,
        image: 'x',
        imageID: '',
        state: { terminated: { exitCode: 0, reason: 'Completed' } },
      },
    ]
    const pod = (ready: string) => ({
      metadata: meta('p'),
      spec: { containers: [{ name: 'a' }, { name: 'b' }] },
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: ready }],
        containerStatuses: statuses,
      },
    })
    expect(cells('Pod', pod('True'))[2]).toBe('Running')
    expect(cells('Pod', pod('False'))[2]).toBe('NotReady')
  })

  it('marks finished pods with the Completed row condition and counts readiness gates', () => {
    const done = printerFor('Pod').print(
      { metadata: meta('job'), spec: { containers: [{ name: 'c' }] }, status: { phase: 'Succeeded' } },
      NOW,
    )
    expect(done.conditions).toEqual([
      {
        type: 'Completed',
        status: 'True',
        reason: 'Succeeded',
        message: 'The pod has completed successfully.',
      },
    ])
    const gated = {
      metadata: meta('g'),
      spec: {
        containers: [{ name: 'c' }],
        readinessGates: [{ conditionType: 'x/one' }, { conditionType: 'x/two' }],
      },
      status: {
        phase: 'Pending',
        conditions: [
          { type: 'x/one', status: 'True' },
          { type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' },
        ],
      },
    }
    expect(cells('Pod', gated)[2]).toBe('SchedulingGated')
    expect(cells('Pod', gated)[8]).toBe('1/2')
  })
})

describe('node printer', () => {
  const node = (extra: Json) => ({
    metadata: meta('node-1', {
      labels: { 'node-role.kubernetes.io/control-plane': '', 'kubernetes.io/role': 'edge' },
    }),
    ...extra,
  })

  it('prints Ready,SchedulingDisabled, roles, version and the wide cells', () => {
    const n = node({
      spec: { unschedulable: true },
      status: {
        conditions: [
          { type: 'MemoryPressure', status: 'False' },
          { type: 'Ready', status: 'True' },
        ],
        addresses: [
          { type: 'Hostname', address: 'node-1' },
          { type: 'InternalIP', address: '172.18.0.2' },
        ],
        nodeInfo: {
          kubeletVersion: 'v1.32.0',
          osImage: 'Debian GNU/Linux 12',
          kernelVersion: '6.1.0',
          containerRuntimeVersion: 'containerd://1.7',
        },
      },
    })
    expect(cells('Node', n)).toEqual([
      'node-1',
      'Ready,SchedulingDisabled',
      'control-plane,edge',
      '5m',
      'v1.32.0',
      '172.18.0.2',
      '<none>',
      'Debian GNU/Linux 12',
      '6.1.0',
      'containerd://1.7',
    ])
  })

  it('prints NotReady, Unknown without a Ready condition, <none> roles and <unknown> node info', () => {
    const notReady = { metadata: meta('n'), status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } }
    expect(cells('Node', notReady).slice(1, 3)).toEqual(['NotReady', '<none>'])
    expect(cells('Node', { metadata: meta('n') })).toEqual([
      'n',
      'Unknown',
      '<none>',
      '5m',
      '',
      '<none>',
      '<none>',
      '<unknown>',
      '<unknown>',
      '<unknown>',
    ])
    expect(
      nodeRoles({
        'node-role.kubernetes.io/': '',
        'node-role.kubernetes.io/b': 'x',
        'node-role.kubernetes.io/a': '',
      }),
    ).toEqual(['a', 'b'])
  })
})

describe('workload printers', () => {
  const template = {
    spec: {
      containers: [
        { name: 'web', image: 'nginx:1.27' },
        { name: 'log', image: 'busybox' },
      ],
    },
  }

  it('prints a Deployment as READY n/m UP-TO-DATE AVAILABLE with containers, images and selector', () => {
    const d = {
      metadata: meta('web'),
      spec: { replicas: 3, selector: { matchLabels: { app: 'web', tier: 'fe' } }, template },
      status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
    }
    expect(cells('Deployment', d)).toEqual([
      'web',
      '2/3',
      3,
      2,
      '5m',
      'web,log',
      'nginx:1.27,busybox',
      'app=web,tier=fe',
    ])
    expect(cells('Deployment', { metadata: meta('x'), spec: {} }).slice(1, 4)).toEqual(['0/1', 0, 0])
  })

  it('prints a ReplicaSet as DESIRED CURRENT READY integers and formats its selector', () => {
    const rs = {
      metadata: meta('web-abc'),
      spec: {
        replicas: 2,
        selector: {
          matchLabels: { app: 'web' },
          matchExpressions: [{ key: 'tier', operator: 'In', values: ['fe'] }],
        },
        template,
      },
      status: { replicas: 2, readyReplicas: 1 },
    }
    expect(cells('ReplicaSet', rs)).toEqual([
      'web-abc',
      2,
      2,
      1,
      '5m',
      'web,log',
      'nginx:1.27,busybox',
      'app=web,tier in (fe)',
    ])
    expect(
      cells('ReplicaSet', { metadata: meta('x'), spec: { replicas: 0, selector: {} } }).slice(1, 4),
    ).toEqual([0, 0, 0])
    expect(cells('ReplicaSet', { metadata: meta('x'), spec: { selector: {} } })[7]).toBe('<none>')
    expect(printerFor('ReplicaSet').columns.map((c) => `${c.name}:${c.type}:${c.priority}`)).toEqual([
      'Name:string:0',
      'Desired:integer:0',
      'Current:integer:0',
      'Ready:integer:0',
      'Age:string:0',
      'Containers:string:1',
      'Images:string:1',
      'Selector:string:1',
    ])
  })
})

describe('service and endpoints printers', () => {
  it.each([
    [
      {
        type: 'ClusterIP',
        clusterIP: '10.96.0.10',
        clusterIPs: ['10.96.0.10'],
        ports: [
          { port: 53, protocol: 'UDP' },
          { port: 53, protocol: 'TCP' },
        ],
        selector: { k8s: 'dns' },
      },
      {},
      ['ClusterIP', '10.96.0.10', '<none>', '53/UDP,53/TCP', 'k8s=dns'],
    ],
    [
      {
        type: 'NodePort',
        clusterIP: '10.96.0.11',
        ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }],
        externalIPs: ['1.2.3.4'],
      },
      {},
      ['NodePort', '10.96.0.11', '1.2.3.4', '80:30080/TCP', '<none>'],
    ],
    [
      { type: 'LoadBalancer', clusterIP: '10.96.0.12', ports: [{ port: 443, protocol: 'TCP' }] },
      {},
      ['LoadBalancer', '10.96.0.12', '<pending>', '443/TCP', '<none>'],
    ],
    [
      { type: 'LoadBalancer', clusterIP: '10.96.0.12', ports: [] },
      { loadBalancer: { ingress: [{ ip: '5.6.7.8' }, { hostname: 'lb.example.com' }] } },
      ['LoadBalancer', '10.96.0.12', '5.6.7.8,lb.example.com', '<none>', '<none>'],
    ],
    [
      { type: 'ExternalName', externalName: 'db.example.com' },
      {},
      ['ExternalName', '<none>', 'db.example.com', '<none>', '<none>'],
    ],
    [
      { type: 'ClusterIP', clusterIP: 'None', ports: [{ port: 80, protocol: 'TCP' }] },
      {},
      ['ClusterIP', 'None', '<none>', '80/TCP', '<none>'],
    ],
  ])('prints Service spec %j', (spec, status, expected) => {
    const c = cells('Service', { metadata: meta('svc'), spec, status })
    expect([c[1], c[2], c[3], c[4], c[6]]).toEqual(expected)
    expect(c[5]).toBe('5m')
  })

  it('prints at most three endpoints then "+ N more..."', () => {
    const addresses = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'].map((ip) => ({ ip }))
    expect(formatEndpoints({ subsets: [{ addresses, ports: [{ port: 80 }, { port: 443 }] }] })).toBe(
      '10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 5 more...',
    )
    expect(
      formatEndpoints({ subsets: [{ addresses: addresses.slice(0, 2), ports: [{ port: 8080 }] }] }),
    ).toBe('10.0.0.1:8080,10.0.0.2:8080')
    expect(formatEndpoints({ subsets: [{ addresses: [{ ip: 'fd00::1' }], ports: [{ port: 80 }] }] })).toBe(
      '[fd00::1]:80',
    )
    expect(formatEndpoints({ subsets: [{ addresses }] })).toBe('10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...')
    expect(cells('Endpoints', { metadata: meta('ep') })).toEqual(['ep', '<none>', '5m'])
  })
})

describe('event and small-kind printers', () => {
  it('prints an Event with its wide cells in column order', () => {
    const ev = {
      metadata: meta('web.17a'),
      involvedObject: { kind: 'Pod', name: 'web', fieldPath: 'spec.containers{c}' },
      reason: 'Pulled',
      type: 'Normal',
      message: ' Successfully pulled image \n',
      source: { component: 'kubelet', host: 'node-1' },
      firstTimestamp: ago(3 * H + 4 * M),
      lastTimestamp: ago(45 * S),
      count: 4,
    }
    expect(cells('Event', ev)).toEqual([
      '45s',
      'Normal',
      'Pulled',
      'pod/web',
      'spec.containers{c}',
      'kubelet, node-1',
      'Successfully pulled image',
      '3h4m',
      4,
      'web.17a',
    ])
    expect(printerFor('Event').columns.map((c) => `${c.name}:${c.priority}:${c.format}`)).toEqual([
      'Last Seen:0:',
      'Type:0:',
      'Reason:0:',
      'Object:0:',
      'Subobject:1:',
      'Source:1:',
      'Message:0:',
      'First Seen:1:',
      'Count:1:',
      'Name:1:name',
    ])
  })

  it('falls back to eventTime, reporting controller and a count of 1; series wins', () => {
    const ev = {
      metadata: meta('e'),
      involvedObject: { kind: 'Node' },
      eventTime: '2025-06-01T11:58:00.000000Z',
      reportingComponent: 'scheduler',
    }
    expect(cells('Event', ev)).toEqual(['2m', '', '', 'node', '', 'scheduler', '', '2m', 1, 'e'])
    const series = { ...ev, series: { count: 7, lastObservedTime: '2025-06-01T11:59:30.000000Z' } }
    expect(cells('Event', series)[0]).toBe('30s')
    expect(cells('Event', series)[8]).toBe(7)
  })

  it('prints namespaces, secrets, service accounts, config maps and leases', () => {
    expect(cells('Namespace', { metadata: meta('ns'), status: { phase: 'Active' } })).toEqual([
      'ns',
      'Active',
      '5m',
    ])
    expect(cells('Secret', { metadata: meta('s'), type: 'Opaque', data: { a: 'eA==', b: 'eQ==' } })).toEqual([
      's',
      'Opaque',
      2,
      '5m',
    ])
    expect(cells('ServiceAccount', { metadata: meta('sa'), secrets: [{ name: 'x' }] })).toEqual([
      'sa',
      1,
      '5m',
    ])
    expect(cells('ConfigMap', { metadata: meta('cm'), data: { a: '1' }, binaryData: { b: 'eA==' } })).toEqual(
      ['cm', 2, '5m'],
    )
    expect(cells('ConfigMap', { metadata: meta('cm') })).toEqual(['cm', 0, '5m'])
    expect(
      cells('Lease', { metadata: meta('kube-scheduler'), spec: { holderIdentity: 'cp-1_abc' } }),
    ).toEqual(['kube-scheduler', 'cp-1_abc', '5m'])
  })

  it('gives a kind without a printer the default Name / Created At table', () => {
    expect(printerFor('Widget')).toBe(DEFAULT_PRINTER)
    expect(DEFAULT_PRINTER.columns.map((c) => [c.name, c.type, c.format])).toEqual([
      ['Name', 'string', 'name'],
      ['Created At', 'date', ''],
    ])
    expect(DEFAULT_PRINTER.print({ metadata: meta('w') }, NOW).cells).toEqual(['w', '2025-06-01T11:55:00Z'])
  })
})

describe('negotiation', () => {
  it('picks the first acceptable clause', () => {
    expect(negotiateOutput(KUBECTL_ACCEPT)).toEqual({ kind: 'Table', version: 'v1' })
    expect(negotiateOutput('application/json;as=Table;v=v1beta1;g=meta.k8s.io')).toEqual({
      kind: 'Table',
      version: 'v1beta1',
    })
    expect(negotiateOutput('application/json')).toBeUndefined()
    expect(negotiateOutput(undefined)).toBeUndefined()
    expect(negotiateOutput('application/vnd.kubernetes.protobuf,application/json')).toBeUndefined()
    // A clause hakube cannot serve is skipped, as kube skips it.
    expect(
      negotiateOutput(
        'application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json',
      ),
    ).toEqual({ kind: 'PartialObjectMetadataList', version: 'v1' })
    expect(negotiateOutput('application/json;as=Table;v=v2;g=meta.k8s.io,application/json')).toBeUndefined()
  })

  it('refuses with 406 NotAcceptable when only unknown conversions are asked for', () => {
    for (const accept of ['application/json;as=Foo;v=v1;g=meta.k8s.io', 'application/json;as=Table']) {
      let thrown: unknown
      try {
        negotiateOutput(accept)
      } catch (err) {
        thrown = err
      }
      expect((thrown as { toJSON(): Json }).toJSON()).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message:
          'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf',
        reason: 'NotAcceptable',
        code: 406,
      })
    }
  })

  it('reads includeObject', () => {
    expect(parseIncludeObject({})).toBe('Metadata')
    expect(parseIncludeObject({ includeObject: 'Object' })).toBe('Object')
    expect(parseIncludeObject({ includeObject: 'None' })).toBe('None')
    expect(() => parseIncludeObject({ includeObject: 'All' })).toThrow(
      'unrecognized includeObject value: "All"',
    )
  })

  it('builds rows with the object as metadata, whole, or not at all', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { ...meta('p'), namespace: 'default', resourceVersion: '7' },
      spec: { containers: [{ name: 'c' }] },
    }
    const t = (includeObject: 'None' | 'Metadata' | 'Object') =>
      buildTable(
        'Pod',
        [pod],
        { resourceVersion: '9', continue: 'tok' },
        { version: 'v1', includeObject, nowMs: NOW },
      )
    expect(t('Metadata')).toMatchObject({
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { resourceVersion: '9', continue: 'tok' },
      rows: [
        { object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: pod.metadata } },
      ],
    })
    expect(t('Object').rows[0]?.object).toBe(pod)
    expect(t('None').rows[0]?.object).toBeNull()
  })

  it('encodes watch events as one-row tables with headers only in the first, keeping ERROR Status', () => {
    const encode = watchEncoder({ kind: 'ConfigMap' } as never, KUBECTL_ACCEPT, {}, () => NOW)
    const cm = (rv: string) => ({
      kind: 'ConfigMap',
      metadata: { ...meta('c'), resourceVersion: rv },
      data: {},
    })
    const first = encode({ type: 'ADDED', object: cm('5') }).object as Json
    const second = encode({ type: 'MODIFIED', object: cm('6') }).object as Json
    expect(first).toMatchObject({
      kind: 'Table',
      metadata: { resourceVersion: '5' },
      rows: [{ cells: ['c', 0, '5m'] }],
    })
    expect(first['columnDefinitions'].map((c: Json) => c['name'])).toEqual(['Name', 'Data', 'Age'])
    expect(second['columnDefinitions']).toBeNull()
    expect(second['rows']).toHaveLength(1)
    const status = { kind: 'Status', apiVersion: 'v1', code: 410 }
    expect(encode({ type: 'ERROR', object: status }).object).toBe(status)
    expect(encode({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '9' } } }).object).toMatchObject(
      {
        kind: 'Table',
        metadata: { resourceVersion: '9' },
        rows: [],
      },
    )
    const plain = watchEncoder({ kind: 'ConfigMap' } as never, 'application/json', {})
    const frame = { type: 'ADDED', object: cm('5') }
    expect(plain(frame)).toBe(frame)
  })
})

// ---------------------------------------------------------------------------------------------
// HTTP

async function get(url: string, accept: string) {
  const r = await request(url, { headers: { accept } })
  const text = await r.body.text()
  return {
    status: r.statusCode,
    contentType: String(r.headers['content-type']),
    body: JSON.parse(text) as Json,
  }
}

async function must(method: 'POST' | 'PUT' | 'PATCH', url: string, body: unknown, ct?: string) {
  const r = await call(method, url, body, ct)
  if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`)
  return r.body
}

const cmBody = (name: string, data: Record<string, string> = {}) => ({
  metadata: { name, labels: { app: name } },
  data,
})

describe('Table over HTTP', () => {
  it('serves a LIST as a Table with the list resourceVersion and continue, and kube Content-Type', async () => {
    const { base } = await startTestServer({ namespaces: ['team'] })
    for (const n of ['a', 'b', 'c'])
      await must('POST', `${base}/api/v1/namespaces/team/configmaps`, cmBody(n, { k: n }))
    const page = await get(`${base}/api/v1/namespaces/team/configmaps?limit=2`, KUBECTL_ACCEPT)
    expect(page.status).toBe(200)
    expect(page.contentType).toBe('application/json;g=meta.k8s.io;v=v1;as=Table')
    expect(page.body['kind']).toBe('Table')
    expect(page.body['apiVersion']).toBe('meta.k8s.io/v1')
    expect(page.body['columnDefinitions'][0]).toMatchObject({
      name: 'Name',
      type: 'string',
      format: 'name',
      priority: 0,
    })
    expect(page.body['rows'].map((r: Json) => r['cells'].slice(0, 2))).toEqual([
      ['a', 1],
      ['b', 1],
    ])
    expect(page.body['rows'][0]['cells'][2]).toMatch(/^\d+s$/)
    expect(page.body['rows'][0]['object']).toMatchObject({
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { name: 'a', namespace: 'team', labels: { app: 'a' } },
    })
    expect(page.body['metadata']['continue']).toEqual(expect.any(String))
    const plain = await call('GET', `${base}/api/v1/namespaces/team/configmaps?limit=2`)
    expect(page.body['metadata']['resourceVersion']).toBe(plain.body['metadata'].resourceVersion)
    const rest = await get(
      `${base}/api/v1/namespaces/team/configmaps?limit=2&continue=${encodeURIComponent(page.body['metadata']['continue'])}`,
      KUBECTL_ACCEPT,
    )
    expect(rest.body['rows'].map((r: Json) => r['cells'][0])).toEqual(['c'])
    expect(rest.body['metadata']['continue']).toBeUndefined()
    const empty = await get(`${base}/api/v1/namespaces/default/configmaps`, KUBECTL_ACCEPT)
    expect(empty.body['rows']).toEqual([])
  })

  it('serves a GET as a one-row Table, v1beta1 when only that is asked, and honours includeObject', async () => {
    const { base } = await startTestServer({ namespaces: ['team'] })
    const created = await must('POST', `${base}/api/v1/namespaces/team/configmaps`, cmBody('a'))
    const one = await get(`${base}/api/v1/namespaces/team/configmaps/a`, KUBECTL_ACCEPT)
    expect(one.body['rows']).toHaveLength(1)
    expect(one.body['metadata']).toEqual({ resourceVersion: created['metadata'].resourceVersion })
    const beta = await get(
      `${base}/api/v1/namespaces/team/configmaps/a?includeObject=Object`,
      'application/json;as=Table;v=v1beta1;g=meta.k8s.io',
    )
    expect(beta.contentType).toBe('application/json;g=meta.k8s.io;v=v1beta1;as=Table')
    expect(beta.body['apiVersion']).toBe('meta.k8s.io/v1beta1')
    expect(beta.body['rows'][0]['object']).toEqual(created)
    const none = await get(`${base}/api/v1/namespaces/team/configmaps?includeObject=None`, KUBECTL_ACCEPT)
    expect(none.body['rows'][0]['object']).toBeNull()
    const bad = await get(
      `${base}/api/v1/namespaces/team/configmaps?includeObject=Everything`,
      KUBECTL_ACCEPT,
    )
    expect(bad.status).toBe(400)
    expect(bad.body['message']).toBe('unrecognized includeObject value: "Everything"')
    const missing = await get(`${base}/api/v1/namespaces/team/configmaps/nope`, KUBECTL_ACCEPT)
    expect(missing.status).toBe(404)
    expect(missing.body['kind']).toBe('Status')
  })

  it('serves PartialObjectMetadata(List) and answers 406 for mismatched or unknown conversions', async () => {
    const { base } = await startTestServer({ namespaces: ['team'] })
    await must('POST', `${base}/api/v1/namespaces/team/configmaps`, cmBody('a', { x: 'y' }))
    const listAccept = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json'
    const objAccept = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json'
    const list = await get(`${base}/api/v1/namespaces/team/configmaps`, listAccept)
    expect(list.contentType).toBe('application/json;g=meta.k8s.io;v=v1;as=PartialObjectMetadataList')
    expect(list.body).toMatchObject({
      kind: 'PartialObjectMetadataList',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { resourceVersion: expect.any(String) },
      items: [{ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'a' } }],
    })
    expect(list.body['items'][0]['data']).toBeUndefined()
    const one = await get(`${base}/api/v1/namespaces/team/configmaps/a`, objAccept)
    expect(one.body).toMatchObject({
      kind: 'PartialObjectMetadata',
      metadata: { name: 'a', namespace: 'team' },
    })
    const wrong = await get(`${base}/api/v1/namespaces/team/configmaps`, objAccept)
    expect(wrong.status).toBe(406)
    expect(wrong.body).toMatchObject({
      kind: 'Status',
      code: 406,
      reason: 'NotAcceptable',
      message:
        'you requested PartialObjectMetadata, but the requested object is a list (*core.ConfigMapList)',
    })
    const wrongOne = await get(`${base}/api/v1/namespaces/team/configmaps/a`, listAccept)
    expect(wrongOne.status).toBe(406)
    expect(wrongOne.body['message']).toBe(
      'you requested PartialObjectMetadataList, but the requested object is not a list (*core.ConfigMap)',
    )
    const unknown = await get(
      `${base}/api/v1/namespaces/team/configmaps`,
      'application/json;as=Widget;g=meta.k8s.io;v=v1',
    )
    expect(unknown.status).toBe(406)
    expect(unknown.body['reason']).toBe('NotAcceptable')
  })

  it('streams watch events as one-row Tables with columnDefinitions only in the first', async () => {
    const { base } = await startTestServer({ namespaces: ['team'] })
    const list = await get(`${base}/api/v1/namespaces/team/configmaps`, KUBECTL_ACCEPT)
    const ac = new AbortController()
    const r = await request(
      `${base}/api/v1/namespaces/team/configmaps?watch=true&resourceVersion=${list.body['metadata']['resourceVersion']}`,
      { headers: { accept: KUBECTL_ACCEPT }, signal: ac.signal },
    )
    expect(r.statusCode).toBe(200)
    const events: Json[] = []
    let buf = ''
    const reading = (async () => {
      try {
        for await (const chunk of r.body) {
          buf += chunk.toString()
          let nl = buf.indexOf('\n')
          while (nl >= 0) {
            events.push(JSON.parse(buf.slice(0, nl)) as Json)
            buf = buf.slice(nl + 1)
            nl = buf.indexOf('\n')
          }
        }
      } catch {
        // aborted
      }
    })()
    await must('POST', `${base}/api/v1/namespaces/team/configmaps`, cmBody('a'))
    await must(
      'PATCH',
      `${base}/api/v1/namespaces/team/configmaps/a`,
      { data: { k: 'v' } },
      'application/merge-patch+json',
    )
    const deadline = Date.now() + 5000
    while (events.length < 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20))
    ac.abort()
    await reading
    expect(events.map((e) => e['type'])).toEqual(['ADDED', 'MODIFIED'])
    expect(events[0]?.['object']).toMatchObject({
      kind: 'Table',
      rows: [{ cells: ['a', 0, expect.any(String)] }],
    })
    expect(events[0]?.['object']['columnDefinitions']).toHaveLength(3)
    expect(events[1]?.['object']['columnDefinitions']).toBeNull()
    expect(events[1]?.['object']['rows'][0]['cells'].slice(0, 2)).toEqual(['a', 1])
    expect(events[1]?.['object']['metadata']['resourceVersion']).toBe(
      events[1]?.['object']['rows'][0]['object']['metadata']['resourceVersion'],
    )
  })
})

// ---------------------------------------------------------------------------------------------
// The real kubectl

/** 20 minutes ago: HumanDuration prints whole minutes from 10m on, so the text cannot drift to 20m1s. */
const TWENTY_MIN_AGO = () => new Date(Date.now() - 20 * M).toISOString().replace(/\.\d{3}Z$/, 'Z')
const mergePatch = 'application/merge-patch+json'

/** A cluster's worth of objects of every printed kind, statuses written through /status. */
async function seed(base: string): Promise<void> {
  const core = `${base}/api/v1`
  const apps = `${base}/apis/apps/v1`
  const container = { name: 'c', image: 'nginx:1.27' }
  await must('POST', `${core}/namespaces/default/pods`, {
    metadata: { name: 'web', labels: { app: 'web' } },
    spec: { nodeName: 'node-1', containers: [container] },
  })
  await must(
    'PATCH',
    `${core}/namespaces/default/pods/web/status`,
    {
      status: {
        phase: 'Running',
        podIP: '10.244.0.5',
        podIPs: [{ ip: '10.244.0.5' }],
        conditions: [{ type: 'Ready', status: 'True' }],
        containerStatuses: [
          {
            name: 'c',
            ready: true,
            restartCount: 0,
            image: 'nginx:1.27',
            imageID: '',
            state: { running: {} },
          },
        ],
      },
    },
    mergePatch,
  )
  await must('POST', `${core}/namespaces/other/pods`, {
    metadata: { name: 'crash' },
    spec: { containers: [container] },
  })
  await must(
    'PATCH',
    `${core}/namespaces/other/pods/crash/status`,
    {
      status: {
        phase: 'Running',
        containerStatuses: [
          {
            name: 'c',
            ready: false,
            restartCount: 3,
            image: 'nginx:1.27',
            imageID: '',
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: TWENTY_MIN_AGO() } },
          },
        ],
      },
    },
    mergePatch,
  )
  await must('POST', `${core}/nodes`, {
    metadata: { name: 'node-1', labels: { 'node-role.kubernetes.io/control-plane': '' } },
    spec: { unschedulable: true },
  })
  await must(
    'PATCH',
    `${core}/nodes/node-1/status`,
    {
      status: {
        conditions: [{ type: 'Ready', status: 'True' }],
        addresses: [{ type: 'InternalIP', address: '172.18.0.2' }],
        nodeInfo: {
          kubeletVersion: 'v1.32.0',
          osImage: 'Debian GNU/Linux 12 (bookworm)',
          kernelVersion: '6.1.0-18-amd64',
          containerRuntimeVersion: 'containerd://1.7.13',
        },
      },
    },
    mergePatch,
  )
  const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [container] } }
  await must('POST', `${apps}/namespaces/default/deployments`, {
    metadata: { name: 'web' },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template },
  })
  await must(
    'PATCH',
    `${apps}/namespaces/default/deployments/web/status`,
    { status: { replicas: 2, readyReplicas: 1, updatedReplicas: 2, availableReplicas: 1 } },
    mergePatch,
  )
  await must('POST', `${apps}/namespaces/default/replicasets`, {
    metadata: { name: 'web-6d4f', labels: { app: 'web' } },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template },
  })
  await must(
    'PATCH',
    `${apps}/namespaces/default/replicasets/web-6d4f/status`,
    { status: { replicas: 2, readyReplicas: 1 } },
    mergePatch,
  )
  await must('POST', `${core}/namespaces/default/services`, {
    metadata: { name: 'web' },
    spec: { selector: { app: 'web' }, ports: [{ port: 80, protocol: 'TCP' }] },
  })
  await must('POST', `${core}/namespaces/default/endpoints`, {
    metadata: { name: 'web' },
    subsets: [{ addresses: [{ ip: '10.244.0.5' }], ports: [{ port: 80, protocol: 'TCP' }] }],
  })
  await must('POST', `${core}/namespaces/default/events`, {
    metadata: { name: 'web.1' },
    involvedObject: { kind: 'Pod', name: 'web', namespace: 'default' },
    reason: 'Pulled',
    message: 'Successfully pulled image "nginx:1.27"',
    type: 'Normal',
    source: { component: 'kubelet', host: 'node-1' },
    firstTimestamp: TWENTY_MIN_AGO(),
    lastTimestamp: TWENTY_MIN_AGO(),
    count: 1,
  })
  await must('POST', `${base}/apis/coordination.k8s.io/v1/namespaces/kube-system/leases`, {
    metadata: { name: 'kube-scheduler' },
    spec: { holderIdentity: 'cp-1_6f1c', leaseDurationSeconds: 15 },
  })
  await must('POST', `${core}/namespaces/default/configmaps`, {
    metadata: { name: 'settings' },
    data: { a: '1', b: '2' },
  })
  await must('POST', `${core}/namespaces/default/secrets`, {
    metadata: { name: 'token' },
    type: 'Opaque',
    data: { key: 'c2VjcmV0' },
  })
}

/** The lines of kubectl's output, each split on its column gaps (2+ spaces). */
const columnsOf = (out: string) =>
  out
    .trimEnd()
    .split('\n')
    .map((l) => l.trim().split(/\s{2,}/))
const AGE = /^\d+s$/

describe('kubectl get prints the server-side tables', () => {
  for (const version of KUBECTL_VERSIONS) {
    it(`kubectl ${version}`, async () => {
      const { base } = await startTestServer({
        discovery: true,
        namespaces: ['default', 'kube-system', 'other'],
      })
      await seed(base)
      const k = new Kubectl(base, version)

      const pods = (await k.ok(['get', 'pods'])).split('\n')
      expect(pods[0]).toBe('NAME   READY   STATUS    RESTARTS   AGE')
      expect(pods[1]).toMatch(/^web {4}1\/1 {5}Running {3}0 {10}\d+s$/)
      expect(pods).toHaveLength(3)

      const wide = columnsOf(await k.ok(['get', 'pods', '-o', 'wide']))
      expect(wide[0]).toEqual([
        'NAME',
        'READY',
        'STATUS',
        'RESTARTS',
        'AGE',
        'IP',
        'NODE',
        'NOMINATED NODE',
        'READINESS GATES',
      ])
      expect(wide[1]).toEqual([
        'web',
        '1/1',
        'Running',
        '0',
        expect.stringMatching(AGE),
        '10.244.0.5',
        'node-1',
        '<none>',
        '<none>',
      ])

      const all = columnsOf(await k.ok(['get', 'pods', '-A']))
      expect(all[0]).toEqual(['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'])
      expect(all.slice(1).map((r) => r.slice(0, 5))).toEqual([
        ['default', 'web', '1/1', 'Running', '0'],
        ['other', 'crash', '0/1', 'CrashLoopBackOff', '3 (20m ago)'],
      ])

      const mixed = (await k.ok(['get', 'deploy,rs,po'])).trimEnd().split('\n\n').map(columnsOf)
      expect(mixed.map((section) => section[0])).toEqual([
        ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE'],
        ['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE'],
        ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'],
      ])
      expect(mixed[0]?.[1]?.slice(0, 4)).toEqual(['deployment.apps/web', '1/2', '2', '1'])
      expect(mixed[1]?.[1]?.slice(0, 4)).toEqual(['replicaset.apps/web-6d4f', '2', '2', '1'])
      expect(mixed[2]?.[1]?.slice(0, 3)).toEqual(['pod/web', '1/1', 'Running'])

      const nodes = columnsOf(await k.ok(['get', 'nodes', '-o', 'wide']))
      expect(nodes).toEqual([
        [
          'NAME',
          'STATUS',
          'ROLES',
          'AGE',
          'VERSION',
          'INTERNAL-IP',
          'EXTERNAL-IP',
          'OS-IMAGE',
          'KERNEL-VERSION',
          'CONTAINER-RUNTIME',
        ],
        [
          'node-1',
          'Ready,SchedulingDisabled',
          'control-plane',
          expect.stringMatching(AGE),
          'v1.32.0',
          '172.18.0.2',
          '<none>',
          'Debian GNU/Linux 12 (bookworm)',
          '6.1.0-18-amd64',
          'containerd://1.7.13',
        ],
      ])

      const svc = columnsOf(await k.ok(['get', 'svc']))
      expect(svc[0]).toEqual(['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE'])
      expect(svc[1]).toEqual([
        'web',
        'ClusterIP',
        expect.stringMatching(/^10\.(9[6-9]|1[01]\d)\./),
        '<none>',
        '80/TCP',
        expect.stringMatching(AGE),
      ])
      const svcWide = columnsOf(await k.ok(['get', 'svc', '-o', 'wide']))
      expect(svcWide[1]?.[6]).toBe('app=web')

      expect(columnsOf(await k.ok(['get', 'endpoints']))).toEqual([
        ['NAME', 'ENDPOINTS', 'AGE'],
        ['web', '10.244.0.5:80', expect.stringMatching(AGE)],
      ])
      expect(columnsOf(await k.ok(['get', 'events']))).toEqual([
        ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'],
        ['20m', 'Normal', 'Pulled', 'pod/web', 'Successfully pulled image "nginx:1.27"'],
      ])
      expect(columnsOf(await k.ok(['get', 'lease', '-n', 'kube-system']))).toEqual([
        ['NAME', 'HOLDER', 'AGE'],
        ['kube-scheduler', 'cp-1_6f1c', expect.stringMatching(AGE)],
      ])
      expect(columnsOf(await k.ok(['get', 'cm']))).toEqual([
        ['NAME', 'DATA', 'AGE'],
        ['settings', '2', expect.stringMatching(AGE)],
      ])
      expect(columnsOf(await k.ok(['get', 'secrets']))).toEqual([
        ['NAME', 'TYPE', 'DATA', 'AGE'],
        ['token', 'Opaque', '1', expect.stringMatching(AGE)],
      ])
      const ns = columnsOf(await k.ok(['get', 'ns']))
      expect(ns[0]).toEqual(['NAME', 'STATUS', 'AGE'])
      expect(ns.slice(1).map((r) => r.slice(0, 2))).toEqual([
        ['default', 'Active'],
        ['kube-system', 'Active'],
        ['other', 'Active'],
      ])

      const everything = await k.ok(['get', 'all'])
      for (const name of ['pod/web', 'service/web', 'deployment.apps/web', 'replicaset.apps/web-6d4f'])
        expect(everything).toMatch(new RegExp(`^${name.replace('.', '\\.')} `, 'm'))

      const labels = columnsOf(await k.ok(['get', 'pods', '--show-labels']))
      expect(labels[0]).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'LABELS'])
      expect(labels[1]?.[5]).toBe('app=web')

      const none = await k.run(['get', 'serviceaccounts'])
      expect(none).toMatchObject({ code: 0, stdout: '' })
      expect(none.stderr).toBe('No resources found in default namespace.\n')

      const watching = k.start(['get', 'pods', '-w'])
      try {
        const first = await watching.waitForLines(2)
        expect(first[0]).toBe('NAME   READY   STATUS    RESTARTS   AGE')
        await must(
          'PATCH',
          `${base}/api/v1/namespaces/default/pods/web/status`,
          {
            status: {
              conditions: [{ type: 'Ready', status: 'False' }],
              containerStatuses: [
                {
                  name: 'c',
                  ready: false,
                  restartCount: 0,
                  image: 'nginx:1.27',
                  imageID: '',
                  state: { running: {} },
                },
              ],
            },
          },
          mergePatch,
        )
        const after = await watching.waitForLines(3)
        expect(after[2]).toMatch(/^web {4}0\/1 {5}Running {3}0 {10}\d+s$/)
      } finally {
        await watching.stop()
      }
    }, 120_000)
  }
})
