/**
 * The kubectl suite (issue 5): the real kubectl of one version against a running hakube-apiserver,
 * checking what it prints and what the server stored. Every case builds on the previous ones, in order,
 * inside a namespace of its own (`k127`, `k132`, `k133`), so the three versions can share one server.
 * The expected texts are what kubectl prints against a real api-server (kubectl-wire.md and the
 * printers of kubernetes/kubernetes).
 */
import { Kubectl, type KubectlResult, type KubectlVersion } from '@hakube/api-server/testing'
import { beforeAll, beforeEach, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import {
  AGE,
  deploymentManifest,
  eventually,
  expectRolledOut,
  IPV4,
  type Json,
  lineOf,
  podManifest,
  rowOf,
  table,
} from './suite-helpers.js'

export { table } from './suite-helpers.js'

export interface SuiteTarget {
  /** `http://host:port` of the api-server kubectl talks to. */
  base: string
  /** Server and store output, for failure messages. */
  logs: () => string
  /**
   * A whole cluster: the controller-manager, the scheduler and kubelets run beside the api-server.
   * Where a case's output depends on them, it expects what a real cluster prints (a Deployment's
   * ReplicaSet and pods, pods scheduled and Running, namespaces finished by the namespace controller).
   * Default false: an api-server alone, where objects stay as kubectl and the suite wrote them.
   */
  controllers?: boolean
}

/** Defines the cases for kubectl `version` against `target()` (resolved in beforeAll). */
export function kubectlSuite(version: KubectlVersion, target: () => SuiteTarget): void {
  const v = version.replace('.', '')
  const ns = `k${v}`
  const node = `node-${v}`
  let k: Kubectl
  let base: string
  let logs: () => string
  /** SuiteTarget.controllers: the full cluster's expectations where they differ. */
  let full = false

  const http = async (
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Json }> => {
    const r = await fetch(`${base}${path}`, {
      method,
      ...(body !== undefined && {
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      }),
    })
    const text = await r.text()
    return { status: r.status, body: text === '' ? {} : (JSON.parse(text) as Json) }
  }
  const stored = async (path: string): Promise<Json> => {
    const r = await http('GET', path)
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${JSON.stringify(r.body)}`)
    return r.body
  }
  /** kubectl that must succeed; stdout. */
  const ok = async (args: string[], stdin?: string): Promise<string> => {
    const r = await k.run(args, stdin === undefined ? {} : { stdin })
    if (r.code !== 0)
      throw new Error(
        `kubectl ${version} ${args.join(' ')} exited ${r.code}\nstderr: ${r.stderr}\nstdout: ${r.stdout}\n--- server ---\n${logs().slice(-4000)}`,
      )
    return r.stdout
  }
  /** kubectl that must fail with exit code 1; stderr. */
  const fails = async (args: string[]): Promise<KubectlResult> => {
    const r = await k.run(args)
    expect(r.code, `kubectl ${args.join(' ')} should fail\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(1)
    return r
  }
  const podPath = (name: string) => `/api/v1/namespaces/${ns}/pods/${name}`
  const deployPath = `/apis/apps/v1/namespaces/${ns}/deployments/web`
  /** Full cluster: waits until the deployment controller has rolled `web` out (kubectl's own wait). */
  const rolledOut = async () =>
    expect(await ok(['rollout', 'status', 'deployment/web', '-n', ns, '--timeout=120s'])).toMatch(
      /deployment "web" successfully rolled out\n$/,
    )

  beforeAll(() => {
    const t = target()
    base = t.base
    logs = t.logs
    full = t.controllers === true
    k = new Kubectl(base, version)
  })
  // Each case starts with its own empty --cache-dir, so none relies on discovery cached by another.
  beforeEach(() => k?.freshCache())

  it('version: prints the client and the server version (1.32)', async () => {
    const out = await ok(['version'])
    if (version === '1.27')
      expect(out).toMatch(
        /^Server Version: version\.Info\{Major:"1", Minor:"32", GitVersion:"v1\.32\.0-hakube"/m,
      )
    else expect(out).toMatch(/^Server Version: v1\.32\.0-hakube$/m)
    expect(out).toMatch(new RegExp(`^Client Version: .*v${version.replace('.', '\\.')}\\.`, 'm'))
  })

  it('api-resources: every resource with its short names, group version, scope and kind', async () => {
    const rows = table(await ok(['api-resources']))
    expect(rows[0]).toEqual(['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND'])
    for (const expected of [
      ['pods', 'po', 'v1', 'true', 'Pod'],
      ['nodes', 'no', 'v1', 'false', 'Node'],
      ['services', 'svc', 'v1', 'true', 'Service'],
      ['namespaces', 'ns', 'v1', 'false', 'Namespace'],
      ['deployments', 'deploy', 'apps/v1', 'true', 'Deployment'],
      ['replicasets', 'rs', 'apps/v1', 'true', 'ReplicaSet'],
      ['leases', 'coordination.k8s.io/v1', 'true', 'Lease'],
    ])
      expect(rows).toContainEqual(expected)
  })

  it('create namespace', async () => {
    expect(await ok(['create', 'namespace', ns])).toBe(`namespace/${ns} created\n`)
    const created = await stored(`/api/v1/namespaces/${ns}`)
    expect(created['status']).toEqual({ phase: 'Active' })
    expect(created['spec']).toEqual({ finalizers: ['kubernetes'] })
  })

  it('create -f a pod (validated, with the namespace from -n)', async () => {
    k.file('pod.yaml', JSON.stringify(podManifest('web-0', ns)))
    expect(await ok(['create', '-f', 'pod.yaml', '-n', ns])).toBe('pod/web-0 created\n')
    const pod = await stored(podPath('web-0'))
    expect(pod['spec'].containers[0]).toMatchObject({ image: 'nginx:1.27', imagePullPolicy: 'IfNotPresent' })
    if (!full)
      expect(pod['metadata'].managedFields).toMatchObject([
        { manager: 'kubectl-create', operation: 'Update' },
      ])
    else {
      // The scheduler and the kubelet may have written already (binding, status): kubectl's entry is there.
      expect(pod['metadata'].managedFields).toContainEqual(
        expect.objectContaining({ manager: 'kubectl-create', operation: 'Update' }),
      )
      expect(await ok(['wait', '--for=condition=Ready', 'pod/web-0', '-n', ns, '--timeout=60s'])).toBe(
        'pod/web-0 condition met\n',
      )
    }
  })

  it('apply -f a deployment, again with a change, unchanged, then --server-side', async () => {
    k.file('deploy.yaml', JSON.stringify(deploymentManifest('web', 'nginx:1.27', 2)))
    expect(await ok(['apply', '-f', 'deploy.yaml', '-n', ns])).toBe('deployment.apps/web created\n')
    k.file('deploy.yaml', JSON.stringify(deploymentManifest('web', 'nginx:1.28', 2)))
    expect(await ok(['apply', '-f', 'deploy.yaml', '-n', ns])).toBe('deployment.apps/web configured\n')
    expect(await ok(['apply', '-f', 'deploy.yaml', '-n', ns])).toBe('deployment.apps/web unchanged\n')
    let d = await stored(deployPath)
    expect(d['spec'].template.spec.containers[0].image).toBe('nginx:1.28')
    // kubectl's own record of what it applied (with the namespace it filled in).
    expect(
      JSON.parse(d['metadata'].annotations['kubectl.kubernetes.io/last-applied-configuration']),
    ).toMatchObject({
      ...deploymentManifest('web', 'nginx:1.28', 2),
      metadata: { name: 'web', namespace: ns },
    })
    expect(d['metadata'].generation).toBe(2)
    k.file('deploy.yaml', JSON.stringify(deploymentManifest('web', 'nginx:1.28', 3)))
    expect(await ok(['apply', '--server-side', '-f', 'deploy.yaml', '-n', ns])).toBe(
      'deployment.apps/web serverside-applied\n',
    )
    d = await stored(deployPath)
    expect(d['spec'].replicas).toBe(3)
    expect(d['metadata'].managedFields.map((m: Json) => `${m['manager']}/${m['operation']}`)).toContain(
      'kubectl/Apply',
    )
  })

  it('apply of a misspelled field: refused by the server strict field validation; --validate=false drops it', async () => {
    const bad = deploymentManifest('typo', 'nginx:1.27', 2)
    bad['spec'].replicass = bad['spec'].replicas
    delete bad['spec'].replicas
    k.file('typo.yaml', JSON.stringify(bad))
    expect((await fails(['apply', '-f', 'typo.yaml', '-n', ns])).stderr).toBe(
      'Error from server (BadRequest): error when creating "typo.yaml": Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replicass"\n',
    )
    expect((await http('GET', `/apis/apps/v1/namespaces/${ns}/deployments/typo`)).status).toBe(404)
    expect(await ok(['apply', '-f', 'typo.yaml', '-n', ns, '--validate=false'])).toBe(
      'deployment.apps/typo created\n',
    )
    const typo = await stored(`/apis/apps/v1/namespaces/${ns}/deployments/typo`)
    expect(typo['spec']).not.toHaveProperty('replicass')
    expect(typo['spec'].replicas).toBe(1)
    expect(await ok(['delete', 'deployment', 'typo', '-n', ns])).toBe('deployment.apps "typo" deleted\n')
  })

  it('get pods -A -o wide', async () => {
    const rows = table(await ok(['get', 'pods', '-A', '-o', 'wide']))
    expect(rows[0]).toEqual([
      'NAMESPACE',
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
    const row = rows.find((r) => r[0] === ns && r[1] === 'web-0')
    if (!full) {
      expect(row?.slice(2, 5)).toEqual(['0/1', 'Pending', '0'])
      expect(row?.[5]).toMatch(AGE)
      expect(row?.slice(6)).toEqual(['<none>', '<none>', '<none>', '<none>'])
      return
    }
    // Scheduled on a worker, where its kubelet runs it and reports its IP.
    const pod = await stored(podPath('web-0'))
    expect(pod['spec'].nodeName).toMatch(/\S/)
    expect(pod['status'].podIP).toMatch(IPV4)
    expect(row?.slice(2, 5)).toEqual(['1/1', 'Running', '0'])
    expect(row?.[5]).toMatch(AGE)
    expect(row?.slice(6)).toEqual([pod['status'].podIP, pod['spec'].nodeName, '<none>', '<none>'])
  })

  it('get deploy,rs,po prints each kind with its own header and name prefixes', async () => {
    if (full) await rolledOut()
    const out = await ok(['get', 'deploy,rs,po', '-n', ns])
    const deploy = rowOf(out, 'deployment.apps/web')
    expect(deploy.slice(1, 4)).toEqual(full ? ['3/3', '3', '3'] : ['0/3', '0', '0'])
    expect(out).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/m)
    expect(out).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/m)
    expect(rowOf(out, 'pod/web-0').slice(1, 4)).toEqual(
      full ? ['1/1', 'Running', '0'] : ['0/1', 'Pending', '0'],
    )
    if (full) expectRolledOut(out, 'web', 3)
  })

  it('get pod X -o yaml, -o json, -o jsonpath, -o custom-columns', async () => {
    const yaml = parseYaml(await ok(['get', 'pod', 'web-0', '-n', ns, '-o', 'yaml'])) as Json
    expect(yaml).toMatchObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: ns } })
    expect(yaml['metadata'].managedFields).toBeUndefined()
    const json = JSON.parse(await ok(['get', 'pod', 'web-0', '-n', ns, '-o', 'json'])) as Json
    expect(json['metadata'].uid).toBe(yaml['metadata'].uid)
    expect(json['spec'].restartPolicy).toBe('Always')
    expect(await ok(['get', 'pod', 'web-0', '-n', ns, '-o', 'jsonpath={.spec.containers[0].image}'])).toBe(
      'nginx:1.27',
    )
    const cols = await ok([
      'get',
      'pod',
      'web-0',
      '-n',
      ns,
      '-o',
      'custom-columns=NAME:.metadata.name,IMAGE:.spec.containers[0].image,NODE:.spec.nodeName',
    ])
    expect(table(cols)).toEqual([
      ['NAME', 'IMAGE', 'NODE'],
      ['web-0', 'nginx:1.27', full ? json['spec'].nodeName : '<none>'],
    ])
    if (full) expect(json['spec'].nodeName).toMatch(/\S/)
  })

  it('get -w prints later changes as new rows', async () => {
    const watch = k.start(['get', 'pods', '-n', ns, '-w'])
    try {
      const first = await watch.waitForLines(2)
      expect(first[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/)
      if (!full) expect(first[1]).toMatch(/^web-0\s+0\/1\s+Pending\s+0\s+\S+$/)
      // Full cluster: web-0 is Running, then the deployment's pods are listed after it.
      else expect(first[1]).toMatch(/^web-0\s+1\/1\s+Running\s+0\s+\S+$/)
      const created = await http('POST', `/api/v1/namespaces/${ns}/pods`, podManifest('web-1', ns))
      expect(created.status).toBe(201)
      if (full) {
        // Created Pending, then each change as a row of its own until the kubelet runs it.
        const pending = await lineOf(watch, /^web-1\s+0\/1\s+Pending\s+0\s+\S+$/)
        const running = await lineOf(watch, /^web-1\s+1\/1\s+Running\s+0\s+\S+$/)
        expect(watch.lines().indexOf(pending)).toBeLessThan(watch.lines().indexOf(running))
      }
      const lines = full ? watch.lines() : await watch.waitForLines(3)
      if (!full) expect(lines[2]).toMatch(/^web-1\s+0\/1\s+Pending\s+0\s+\S+$/)
      // No second header: the watch events are one-row tables with the list's columns.
      expect(lines.filter((l) => l.startsWith('NAME'))).toHaveLength(1)
    } finally {
      await watch.stop()
    }
  })

  it('label and annotate', async () => {
    expect(await ok(['label', 'pod', 'web-0', '-n', ns, 'tier=web'])).toBe('pod/web-0 labeled\n')
    expect((await stored(podPath('web-0')))['metadata'].labels).toEqual({ app: 'web-0', tier: 'web' })
    expect(await ok(['label', 'pod', 'web-0', '-n', ns, 'tier-'])).toBe('pod/web-0 unlabeled\n')
    // kubectl 1.27 prints "annotate" (its own wording, fixed in later versions).
    expect(await ok(['annotate', 'pod', 'web-0', '-n', ns, 'note=hello'])).toBe(
      `pod/web-0 ${version === '1.27' ? 'annotate' : 'annotated'}\n`,
    )
    const meta = (await stored(podPath('web-0')))['metadata']
    expect(meta.labels).toEqual({ app: 'web-0' })
    expect(meta.annotations).toEqual({ note: 'hello' })
  })

  it('patch --type merge, json and strategic', async () => {
    const mergeLabel = [
      'patch',
      'pod',
      'web-0',
      '-n',
      ns,
      '--type',
      'merge',
      '-p',
      '{"metadata":{"labels":{"m":"1"}}}',
    ]
    expect(await ok(mergeLabel)).toBe('pod/web-0 patched\n')
    expect(
      await ok([
        'patch',
        'pod',
        'web-0',
        '-n',
        ns,
        '--type',
        'json',
        '-p',
        '[{"op":"add","path":"/metadata/labels/j","value":"2"}]',
      ]),
    ).toBe('pod/web-0 patched\n')
    expect((await stored(podPath('web-0')))['metadata'].labels).toEqual({ app: 'web-0', m: '1', j: '2' })
    expect(
      await ok([
        'patch',
        'deployment',
        'web',
        '-n',
        ns,
        '--type',
        'strategic',
        '-p',
        '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.29"}]}}}}',
      ]),
    ).toBe('deployment.apps/web patched\n')
    const c = (await stored(deployPath))['spec'].template.spec.containers
    expect(c).toHaveLength(1)
    expect(c[0]).toMatchObject({
      name: 'web',
      image: 'nginx:1.29',
      ports: [{ containerPort: 80, protocol: 'TCP' }],
    })
    expect(await ok(mergeLabel)).toBe('pod/web-0 patched (no change)\n')
  })

  it('scale and set image', async () => {
    expect(await ok(['scale', 'deployment', 'web', '-n', ns, '--replicas=4'])).toBe(
      'deployment.apps/web scaled\n',
    )
    expect((await stored(deployPath))['spec'].replicas).toBe(4)
    expect(await ok(['set', 'image', 'deployment/web', '-n', ns, 'web=nginx:1.30'])).toBe(
      'deployment.apps/web image updated\n',
    )
    expect((await stored(deployPath))['spec'].template.spec.containers[0].image).toBe('nginx:1.30')
  })

  it('cordon and uncordon', async () => {
    k.file('node.yaml', JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: node } }))
    expect(await ok(['create', '-f', 'node.yaml'])).toBe(`node/${node} created\n`)
    expect(await ok(['cordon', node])).toBe(`node/${node} cordoned\n`)
    // Full cluster: the node lifecycle controller taints a cordoned node (TaintNodesByCondition).
    const unschedulableTaint = (spec: Json) =>
      (spec['taints'] ?? []).some(
        (t: Json) => t['key'] === 'node.kubernetes.io/unschedulable' && t['effect'] === 'NoSchedule',
      )
    const spec = async () => (await stored(`/api/v1/nodes/${node}`))['spec'] as Json
    if (!full) expect(await spec()).toEqual({ unschedulable: true })
    else {
      expect((await spec())['unschedulable']).toBe(true)
      await eventually('unschedulable taint', async () =>
        unschedulableTaint(await spec()) ? true : undefined,
      )
    }
    expect(await ok(['cordon', node])).toBe(`node/${node} already cordoned\n`)
    expect(await ok(['uncordon', node])).toBe(`node/${node} uncordoned\n`)
    expect((await spec())['unschedulable']).toBeUndefined()
    if (full)
      await eventually('the unschedulable taint removed', async () =>
        unschedulableTaint(await spec()) ? undefined : true,
      )
  })

  it('describe pod, node, deployment and replicaset, with the pod events', async () => {
    const pod = await stored(podPath('web-0'))
    // Full cluster: the scheduler's own event, naming the node it chose; else one written as it would.
    const assigned = full ? pod['spec'].nodeName : node
    if (!full) {
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
      const event = await http('POST', `/api/v1/namespaces/${ns}/events`, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'web-0.scheduled' },
        involvedObject: {
          kind: 'Pod',
          namespace: ns,
          name: 'web-0',
          uid: pod['metadata'].uid,
          apiVersion: 'v1',
        },
        reason: 'Scheduled',
        message: `Successfully assigned ${ns}/web-0 to ${node}`,
        type: 'Normal',
        source: { component: 'default-scheduler' },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      })
      expect(event.status).toBe(201)
    }
    const dp = await ok(['describe', 'pod', 'web-0', '-n', ns])
    expect(dp).toMatch(/^Name:\s+web-0$/m)
    expect(dp).toMatch(new RegExp(`^Namespace:\\s+${ns}$`, 'm'))
    expect(dp).toMatch(full ? /^Status:\s+Running$/m : /^Status:\s+Pending$/m)
    expect(dp).toMatch(/^\s+Image:\s+nginx:1\.27$/m)
    expect(dp).toMatch(/^\s+Type\s+Reason\s+Age\s+From\s+Message$/m)
    expect(dp).toMatch(
      new RegExp(
        `^\\s+Normal\\s+Scheduled\\s+\\S+\\s+default-scheduler\\s+Successfully assigned ${ns}/web-0 to ${assigned}$`,
        'm',
      ),
    )
    const dn = await ok(['describe', 'node', node])
    expect(dn).toMatch(new RegExp(`^Name:\\s+${node}$`, 'm'))
    expect(dn).toMatch(/^Unschedulable:\s+false$/m)
    if (full) await rolledOut()
    const dd = await ok(['describe', 'deployment', 'web', '-n', ns])
    expect(dd).toMatch(
      full
        ? /^Replicas:\s+4 desired \| 4 updated \| 4 total \| 4 available \| 0 unavailable$/m
        : /^Replicas:\s+4 desired \| 0 updated \| 0 total \| 0 available \| 0 unavailable$/m,
    )
    expect(dd).toMatch(/^StrategyType:\s+RollingUpdate$/m)
    expect(dd).toMatch(/^RollingUpdateStrategy:\s+25% max unavailable, 25% max surge$/m)
    expect(dd).toMatch(/^\s+Image:\s+nginx:1\.30$/m)
    const rsPath = `/apis/apps/v1/namespaces/${ns}/replicasets`
    const rs = await http('POST', rsPath, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web-5d8f', labels: { app: 'rs' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'rs' } },
        template: {
          metadata: { labels: { app: 'rs' } },
          spec: { containers: [{ name: 'web', image: 'nginx:1.30' }] },
        },
      },
    })
    expect(rs.status).toBe(201)
    // Full cluster: the replicaset controller makes its 2 pods, which get scheduled and run.
    if (full)
      await eventually('2 ready replicas of web-5d8f', async () =>
        (await stored(`${rsPath}/web-5d8f`))['status']?.readyReplicas === 2 ? true : undefined,
      )
    const dr = await ok(['describe', 'replicaset', 'web-5d8f', '-n', ns])
    expect(dr).toMatch(/^Name:\s+web-5d8f$/m)
    expect(dr).toMatch(
      full ? /^Replicas:\s+2 current \/ 2 desired$/m : /^Replicas:\s+0 current \/ 2 desired$/m,
    )
    expect(dr).toMatch(
      full
        ? /^Pods Status:\s+2 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed$/m
        : /^Pods Status:\s+0 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed$/m,
    )
  })

  it('get lease,endpoints -n kube-system', async () => {
    const lease = await http('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: `kube-scheduler-${v}` },
      spec: { holderIdentity: `master-${v}_abc`, leaseDurationSeconds: 15 },
    })
    expect(lease.status).toBe(201)
    const ep = await http('POST', '/api/v1/namespaces/kube-system/endpoints', {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: `kube-controller-manager-${v}` },
    })
    expect(ep.status).toBe(201)
    const out = await ok(['get', 'lease,endpoints', '-n', 'kube-system'])
    const l = rowOf(out, `lease.coordination.k8s.io/kube-scheduler-${v}`)
    expect(l[1]).toBe(`master-${v}_abc`)
    expect(l[2]).toMatch(AGE)
    const e = rowOf(out, `endpoints/kube-controller-manager-${v}`)
    expect(e[1]).toBe('<none>')
    const yaml = parseYaml(
      await ok(['get', 'endpoints', '-n', 'kube-system', `kube-controller-manager-${v}`, '-o', 'yaml']),
    )
    expect(yaml).toMatchObject({ kind: 'Endpoints', metadata: { name: `kube-controller-manager-${v}` } })
  })

  it('explain pod.spec.containers', async () => {
    const out = await ok(['explain', 'pod.spec.containers'])
    expect(out).toMatch(/^KIND:\s+Pod$/m)
    expect(out).toMatch(/^VERSION:\s+v1$/m)
    expect(out).toMatch(/^\s+image\s+<string>/m)
    expect(out).toMatch(/^\s+name\s+<string>( -required-)?$/m)
  })

  it('diff shows the change and writes nothing', async () => {
    const live = await stored(deployPath)
    k.file('deploy-diff.yaml', JSON.stringify(deploymentManifest('web', 'nginx:1.30', 7)))
    const r = await k.run(['diff', '-f', 'deploy-diff.yaml', '-n', ns])
    expect(r.code, r.stderr).toBe(1)
    expect(r.stdout).toMatch(/^-\s+replicas: 4$/m)
    expect(r.stdout).toMatch(/^\+\s+replicas: 7$/m)
    const after = await stored(deployPath)
    // Full cluster: the deployment controller may write the status meanwhile (a new resourceVersion);
    // what kubectl would have written, the spec (and so the generation), must be as it was.
    if (!full) expect(after['metadata'].resourceVersion).toBe(live['metadata'].resourceVersion)
    else {
      expect(after['metadata'].generation).toBe(live['metadata'].generation)
      expect(after['spec']).toEqual(live['spec'])
    }
    expect(after['spec'].replicas).toBe(4)
  })

  it('get --raw /readyz?verbose', async () => {
    const out = await ok(['get', '--raw', '/readyz?verbose'])
    expect(out).toMatch(/^\[\+\]ping ok$/m)
    expect(out).toMatch(/^\[\+\]etcd ok$/m)
    expect(out).toMatch(/^readyz check passed$/m)
  })

  it('errors: NotFound, AlreadyExists, Invalid with causes, Conflict', async () => {
    expect((await fails(['get', 'pod', 'nope', '-n', ns])).stderr).toBe(
      'Error from server (NotFound): pods "nope" not found\n',
    )
    expect((await fails(['create', '-f', 'pod.yaml', '-n', ns])).stderr).toBe(
      'Error from server (AlreadyExists): error when creating "pod.yaml": pods "web-0" already exists\n',
    )
    k.file(
      'bad.yaml',
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'Bad_Name' },
        spec: { containers: [] },
      }),
    )
    const invalid = await fails(['create', '-f', 'bad.yaml', '-n', ns])
    expect(invalid.stderr).toContain('The Pod "Bad_Name" is invalid: \n')
    expect(invalid.stderr).toContain(
      '* metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain',
    )
    expect(invalid.stderr).toContain('* spec.containers: Required value')
    const stale = {
      ...podManifest('web-0', ns),
      metadata: { name: 'web-0', namespace: ns, resourceVersion: '1' },
    }
    k.file('stale.yaml', JSON.stringify(stale))
    expect((await fails(['replace', '-f', 'stale.yaml'])).stderr).toBe(
      'Error from server (Conflict): error when replacing "stale.yaml": Operation cannot be fulfilled on pods "web-0": the object has been modified; please apply your changes to the latest version and try again\n',
    )
  })

  it('errors: Forbidden in a terminating namespace, ServiceUnavailable, MethodNotAllowed', async () => {
    const term = `${ns}-gone`
    expect(await ok(['create', 'namespace', term])).toBe(`namespace/${term} created\n`)
    // Full cluster: the namespace controller would empty and remove the namespace at once; a ConfigMap
    // with a finalizer of ours holds it in Terminating until we drop the finalizer.
    const heldPath = `/api/v1/namespaces/${term}/configmaps/held`
    if (full) {
      const held = await http('POST', `/api/v1/namespaces/${term}/configmaps`, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'held', finalizers: ['example.com/hold'] },
      })
      expect(held.status).toBe(201)
    }
    expect(await ok(['delete', 'namespace', term, '--wait=false'])).toBe(`namespace "${term}" deleted\n`)
    expect((await stored(`/api/v1/namespaces/${term}`))['status'].phase).toBe('Terminating')
    k.file('pod-anywhere.yaml', JSON.stringify({ ...podManifest('web-0', ns), metadata: { name: 'web-0' } }))
    expect((await fails(['create', '-f', 'pod-anywhere.yaml', '-n', term])).stderr).toBe(
      `Error from server (Forbidden): error when creating "pod-anywhere.yaml": pods "web-0" is forbidden: unable to create new content in namespace ${term} because it is being terminated\n`,
    )
    if (full) {
      // The namespace controller has asked the ConfigMap to go; once its finalizer is dropped, the
      // namespace is finished and removed.
      await eventually('deletion of the held ConfigMap', async () =>
        (await stored(heldPath))['metadata'].deletionTimestamp === undefined ? undefined : true,
      )
      expect(
        await ok([
          'patch',
          'configmap',
          'held',
          '-n',
          term,
          '--type',
          'merge',
          '-p',
          '{"metadata":{"finalizers":null}}',
        ]),
      ).toBe('configmap/held patched\n')
      await eventually(`namespace ${term} removed`, async () =>
        (await http('GET', `/api/v1/namespaces/${term}`)).status === 404 ? true : undefined,
      )
    }
    // A Service without endpoints, reached through the services/proxy subresource.
    k.file(
      'svc.yaml',
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'nowhere' },
        spec: { selector: { app: 'none' }, ports: [{ port: 80 }] },
      }),
    )
    expect(await ok(['create', '-f', 'svc.yaml', '-n', ns])).toBe('service/nowhere created\n')
    expect((await fails(['get', '--raw', `/api/v1/namespaces/${ns}/services/nowhere/proxy/`])).stderr).toBe(
      'Error from server (ServiceUnavailable): no endpoints available for service "nowhere"\n',
    )
    k.file('pod.json', JSON.stringify(podManifest('web-0', ns)))
    expect(
      (await fails(['create', '--raw', `/api/v1/namespaces/${ns}/pods/web-0`, '-f', 'pod.json'])).stderr,
    ).toBe(
      'Error from server (MethodNotAllowed): the server does not allow this method on the requested resource\n',
    )
  })

  it('delete returns once the object is gone', async () => {
    expect(await ok(['delete', 'pod', 'web-0', '-n', ns])).toBe('pod "web-0" deleted\n')
    expect((await http('GET', podPath('web-0'))).status).toBe(404)
    expect(await ok(['delete', 'deployment', 'web', '-n', ns])).toBe('deployment.apps "web" deleted\n')
    expect((await http('GET', deployPath)).status).toBe(404)
    expect((await fails(['delete', 'pod', 'web-0', '-n', ns])).stderr).toBe(
      'Error from server (NotFound): pods "web-0" not found\n',
    )
  })
}
