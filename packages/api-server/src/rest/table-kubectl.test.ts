/**
 * Goal: the text the real kubectl 1.27, 1.32 and 1.33 print from the api-server's Tables for every
 * printed kind (`get`, `get -o wide`, and the columns kubectl adds itself).
 * Method: a real ApiServer on 127.0.0.1 seeded over HTTP; the real kubectl binaries against it (each
 * with its own HOME and cache dir).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { call, startTestServer, stopTestServers } from '../testing/harness.js'
import { KUBECTL_VERSIONS, Kubectl, removeKubectlHomes } from '../testing/kubectl.js'

afterEach(stopTestServers)
afterAll(removeKubectlHomes)

const M = 60 * 1000

async function must(method: 'POST' | 'PUT' | 'PATCH', url: string, body: unknown, ct?: string) {
  const r = await call(method, url, body, ct)
  if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`)
  return r.body
}

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
