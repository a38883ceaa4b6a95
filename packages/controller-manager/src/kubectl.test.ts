/**
 * Goal: what a new user hits first, with the real kubectl (1.33) against an in-process api-server and
 * the serviceaccount, namespace and garbagecollector controllers: a new namespace gets its `default`
 * ServiceAccount; `kubectl delete -f` of a file holding a Namespace returns once everything is gone;
 * `kubectl delete cm --cascade=foreground` completes, for a ConfigMap alone and for one owning a
 * blocking dependent (both go); `--cascade=orphan` keeps the dependent and drops its ownerReference.
 * About 9 s.
 */
import { Kubectl, removeKubectlHomes } from '@hakube/api-server/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestCluster, type TestCluster } from './testing/cluster.js'

let c: TestCluster
let k: Kubectl

beforeAll(async () => {
  c = await startTestCluster(['serviceaccount', 'namespace', 'garbagecollector'], { discovery: true })
  k = new Kubectl(c.server.base, '1.33')
})
afterAll(async () => {
  await c?.stop()
  removeKubectlHomes()
})

describe('kubectl against the controllers', () => {
  it('a new namespace gets its default ServiceAccount', async () => {
    await k.ok(['create', 'namespace', 'fresh'])
    const out = await eventually('default sa', async () => {
      const r = await k.run(['get', 'serviceaccount', 'default', '-n', 'fresh', '-o', 'name'])
      return r.code === 0 ? r.stdout : undefined
    })
    expect(out.trim()).toBe('serviceaccount/default')
  })

  it('kubectl delete -f of a file with a Namespace returns once everything is gone', async () => {
    const file = k.file(
      'app.yaml',
      `apiVersion: v1
kind: Namespace
metadata:
  name: app
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: app
data:
  a: "1"
---
apiVersion: v1
kind: Secret
metadata:
  name: token
  namespace: app
stringData:
  t: x
`,
    )
    await k.ok(['apply', '-f', file])
    const started = Date.now()
    const out = await k.ok(['delete', '-f', file], { timeoutMs: 30_000 })
    expect(out).toContain('namespace "app" deleted')
    expect(Date.now() - started).toBeLessThan(20_000)
    const r = await k.run(['get', 'namespace', 'app'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('namespaces "app" not found')
  })

  it('kubectl delete --cascade=foreground completes, for a lone ConfigMap and for an owner with dependents', async () => {
    await k.ok(['create', 'configmap', 'lonely', '-n', 'default'])
    await k.ok(['delete', 'configmap', 'lonely', '-n', 'default', '--cascade=foreground'], {
      timeoutMs: 30_000,
    })
    expect((await k.run(['get', 'configmap', 'lonely', '-n', 'default'])).code).toBe(1)

    await k.ok(['create', 'configmap', 'owner', '-n', 'default'])
    const uid = (
      await k.ok(['get', 'configmap', 'owner', '-n', 'default', '-o', 'jsonpath={.metadata.uid}'])
    ).trim()
    const dep = k.file(
      'dep.yaml',
      `apiVersion: v1
kind: ConfigMap
metadata:
  name: dependent
  namespace: default
  ownerReferences:
  - apiVersion: v1
    kind: ConfigMap
    name: owner
    uid: ${uid}
    blockOwnerDeletion: true
`,
    )
    await k.ok(['apply', '-f', dep])
    await k.ok(['delete', 'configmap', 'owner', '-n', 'default', '--cascade=foreground'], {
      timeoutMs: 30_000,
    })
    const left = await k.ok(['get', 'configmaps', '-n', 'default', '-o', 'name'])
    expect(left).not.toContain('configmap/owner')
    expect(left).not.toContain('configmap/dependent')
  })

  it('kubectl delete --cascade=orphan removes the owner and keeps its dependent, without the ownerReference', async () => {
    await k.ok(['create', 'configmap', 'parent', '-n', 'default'])
    const uid = (
      await k.ok(['get', 'configmap', 'parent', '-n', 'default', '-o', 'jsonpath={.metadata.uid}'])
    ).trim()
    const child = k.file(
      'child.yaml',
      `apiVersion: v1
kind: ConfigMap
metadata:
  name: child
  namespace: default
  ownerReferences:
  - apiVersion: v1
    kind: ConfigMap
    name: parent
    uid: ${uid}
`,
    )
    await k.ok(['apply', '-f', child])
    await k.ok(['delete', 'configmap', 'parent', '-n', 'default', '--cascade=orphan', '--wait'], {
      timeoutMs: 30_000,
    })
    expect((await k.run(['get', 'configmap', 'parent', '-n', 'default'])).code).toBe(1)
    const refs = await k.ok([
      'get',
      'configmap',
      'child',
      '-n',
      'default',
      '-o',
      'jsonpath={.metadata.ownerReferences}',
    ])
    expect(refs.trim()).toBe('')
  })
})
