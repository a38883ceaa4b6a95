/**
 * Goal: each kind's columns and cells as kube-apiserver's printers print them (printers.go, 1.32),
 * HumanDuration ages, and the default table convertor.
 * Method: the printers called with a fixed `now`.
 */
import { describe, expect, it } from 'vitest'
import type { Json } from '../testing/harness.js'
import { humanDuration, translateTimestampSince } from './table-cells.js'
import { DEFAULT_PRINTER, printerFor } from './table-printers.js'
import { nodeRoles } from './table-printers-pods.js'
import { formatEndpoints } from './table-printers-services.js'

const NOW = Date.parse('2025-06-01T12:00:00Z')
const S = 1000
const M = 60 * S
const H = 60 * M
const D = 24 * H
/** RFC 3339 of `NOW - ms`. */
const ago = (ms: number) => new Date(NOW - ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
const cells = (kind: string, obj: unknown) => printerFor(kind).print(obj, NOW).cells

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
