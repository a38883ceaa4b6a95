/**
 * Goal: PATCH with `application/strategic-merge-patch+json` merges as kube-apiserver does (lists by
 * their merge keys from the kinds' schemas, null deletion, `$setElementOrder`, `$patch`), answers
 * malformed patches with kube's codes and texts, and the real kubectl's strategic patches work:
 * `patch --type strategic`, `set image`, `cordon` / `uncordon` and client-side `apply`.
 * Method: a real ApiServer on 127.0.0.1 (port 0, memory storage) with discovery and the resource
 * routes, driven with undici; then `kubectl` from PATH against it with its own --cache-dir, checking
 * its output and the stored objects.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { call, type Json, startTestServer, stopTestServers } from '../testing/harness.js'
import { Kubectl, removeKubectlHomes } from '../testing/kubectl.js'

const tempDirs: string[] = []
afterEach(async () => {
  await stopTestServers()
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
afterAll(removeKubectlHomes)

const SMP = 'application/strategic-merge-patch+json'

const POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'x', labels: { app: 'web', tier: 'fe' } },
  spec: {
    containers: [
      { name: 'a', image: 'nginx:1', env: [{ name: 'E', value: '1' }] },
      { name: 'b', image: 'busybox:1' },
      { name: 'c', image: 'redis:1' },
    ],
    tolerations: [{ key: 'k1', operator: 'Exists', effect: 'NoSchedule' }],
  },
}

async function withPod() {
  const s = await start()
  const url = `${s.base}/api/v1/namespaces/default/pods/x`
  expect((await call('POST', `${s.base}/api/v1/namespaces/default/pods`, POD)).status).toBe(201)
  return { ...s, url }
}

/** A Deployment whose template has POD's containers; returns its URL. */
async function withDeployment(base: string): Promise<string> {
  const deploy = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: POD.spec.containers } },
    },
  }
  expect((await call('POST', `${base}/apis/apps/v1/namespaces/default/deployments`, deploy)).status).toBe(201)
  return `${base}/apis/apps/v1/namespaces/default/deployments/d`
}

const names = (pod: Json) => (pod['spec'].containers as Json[]).map((c) => c['name'])

async function start() {
  const { port, base } = await startTestServer({
    discovery: true,
    bookmarkIntervalMs: 200,
    namespaces: ['default'],
  })
  return { port, base }
}

describe('PATCH application/strategic-merge-patch+json', () => {
  it("patches one container's image by name and keeps the others", async () => {
    const { url } = await withPod()
    const r = await call('PATCH', url, { spec: { containers: [{ name: 'b', image: 'busybox:2' }] } }, SMP)
    expect(r.status, JSON.stringify(r.body)).toBe(200)
    const stored = (await call('GET', url)).body
    expect(stored['spec'].containers).toMatchObject([
      { name: 'a', image: 'nginx:1', env: [{ name: 'E', value: '1' }] },
      { name: 'b', image: 'busybox:2' },
      { name: 'c', image: 'redis:1' },
    ])
    expect(r.body['metadata'].resourceVersion).toBe(stored['metadata'].resourceVersion)
  })

  it('adds a toleration to a pod (tolerations are replaced whole, as in Kubernetes)', async () => {
    const { url } = await withPod()
    // The live list (with the defaults admission added) plus one: the patch list replaces it.
    const live = (await call('GET', url)).body['spec'].tolerations as Json[]
    expect(live).toHaveLength(3)
    const tolerations = [
      ...live,
      { key: 'k2', operator: 'Equal', value: 'v', effect: 'NoExecute', tolerationSeconds: 30 },
    ]
    const r = await call('PATCH', url, { spec: { tolerations } }, SMP)
    expect(r.status, JSON.stringify(r.body)).toBe(200)
    expect((await call('GET', url)).body['spec'].tolerations).toEqual(tolerations)
    expect(names(r.body)).toEqual(['a', 'b', 'c'])
    // Dropping one is refused by pod update validation, as in Kubernetes.
    const drop = await call('PATCH', url, { spec: { tolerations: [tolerations[3]] } }, SMP)
    expect(drop.status).toBe(422)
    expect(drop.body['message']).toContain('pod updates may not change fields other than')
  })

  it('deletes a label of a pod with null', async () => {
    const { url } = await withPod()
    const r = await call('PATCH', url, { metadata: { labels: { tier: null, v: '2' } } }, SMP)
    expect(r.status, JSON.stringify(r.body)).toBe(200)
    expect((await call('GET', url)).body['metadata'].labels).toEqual({ app: 'web', v: '2' })
  })

  it('$setElementOrder reorders containers (a Deployment; a pod refuses the change as kube does)', async () => {
    const { url, base } = await withPod()
    const order = {
      '$setElementOrder/containers': [{ name: 'c' }, { name: 'a' }, { name: 'b' }],
      containers: [{ name: 'a', image: 'nginx:2' }],
    }
    const podR = await call('PATCH', url, { spec: order }, SMP)
    expect(podR.status).toBe(422)
    expect(podR.body['message']).toContain('spec.containers[0].name: "a" -> "c"')
    const d = await withDeployment(base)
    const r = await call('PATCH', d, { spec: { template: { spec: order } } }, SMP)
    expect(r.status, JSON.stringify(r.body)).toBe(200)
    const stored = (await call('GET', d)).body
    expect(stored['spec'].template.spec.containers.map((c: Json) => [c['name'], c['image']])).toEqual([
      ['c', 'redis:1'],
      ['a', 'nginx:2'],
      ['b', 'busybox:1'],
    ])
    expect(stored['metadata'].generation).toBe(2)
    expect(JSON.stringify(stored)).not.toContain('$setElementOrder')
  })

  it('merges env by name and deletes a container with $patch: delete (Deployment template)', async () => {
    const { base } = await start()
    const d = await withDeployment(base)
    const r = await call(
      'PATCH',
      d,
      {
        spec: {
          template: {
            spec: {
              containers: [
                { name: 'a', env: [{ name: 'F', value: '2' }] },
                { name: 'c', $patch: 'delete' },
              ],
            },
          },
        },
      },
      SMP,
    )
    expect(r.status, JSON.stringify(r.body)).toBe(200)
    const containers = (await call('GET', d)).body['spec'].template.spec.containers as Json[]
    expect(containers.map((c) => c['name'])).toEqual(['a', 'b'])
    expect(containers[0]?.['env']).toEqual([
      { name: 'F', value: '2' },
      { name: 'E', value: '1' },
    ])
  })

  it('answers malformed patches as kube-apiserver does and writes nothing', async () => {
    const { url } = await withPod()
    const before = (await call('GET', url)).body['metadata'].resourceVersion
    const noKey = await call('PATCH', url, { spec: { containers: [{ image: 'x' }] } }, SMP)
    expect(noKey.status).toBe(500)
    expect(noKey.body).toMatchObject({
      kind: 'Status',
      code: 500,
      message: 'map: map[image:x] does not contain declared merge key: name',
    })
    const retain = await call('PATCH', url, { metadata: { $retainKeys: 'x' } }, SMP)
    expect(retain.status).toBe(400)
    expect(retain.body).toMatchObject({ reason: 'BadRequest', message: 'invalid patch format of retainKeys' })
    const listOfLists = await call('PATCH', url, { metadata: { finalizers: [['a']] } }, SMP)
    expect(listOfLists.status).toBe(422)
    expect(listOfLists.body).toMatchObject({ reason: 'Invalid' })
    expect(listOfLists.body['details'].causes[0].message).toBe('lists of lists are not supported')
    const array = await call('PATCH', url, '[1]', SMP)
    expect(array.status).toBe(400)
    expect(array.body['message']).toBe(
      'json: cannot unmarshal array into Go value of type map[string]interface {}',
    )
    const invalid = await call('PATCH', url, { spec: { containers: [{ name: 'a', image: '' }] } }, SMP)
    expect(invalid.status).toBe(422)
    expect(invalid.body['message']).toContain('spec.containers[0].image: Required value')
    expect((await call('GET', url)).body['metadata'].resourceVersion).toBe(before)
  })

  it('patches the /scale subresource and a node', async () => {
    const { base } = await start()
    const deploy = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'd' } },
        template: {
          metadata: { labels: { app: 'd' } },
          spec: { containers: [{ name: 'c', image: 'nginx' }] },
        },
      },
    }
    expect((await call('POST', `${base}/apis/apps/v1/namespaces/default/deployments`, deploy)).status).toBe(
      201,
    )
    const scaled = await call(
      'PATCH',
      `${base}/apis/apps/v1/namespaces/default/deployments/d/scale`,
      { spec: { replicas: 3 } },
      SMP,
    )
    expect(scaled.status).toBe(200)
    expect(scaled.body).toMatchObject({ kind: 'Scale', spec: { replicas: 3 } })
    expect((await call('POST', `${base}/api/v1/nodes`, { metadata: { name: 'n1' } })).status).toBe(201)
    const cordoned = await call('PATCH', `${base}/api/v1/nodes/n1`, { spec: { unschedulable: true } }, SMP)
    expect(cordoned.body['spec']).toEqual({ unschedulable: true })
  })
})

// The real kubectl.

/** kubectl against the server with its own HOME, --cache-dir and an empty kubeconfig. */
function kubectl(port: number, args: string[]): Promise<string> {
  return new Kubectl(`http://127.0.0.1:${port}`).ok(args)
}

describe('the real kubectl sends strategic merge patches', () => {
  it('patch --type strategic and set image', async () => {
    const { port, url } = await withPod()
    const patched = await kubectl(port, [
      'patch',
      'pod',
      'x',
      '--type',
      'strategic',
      '-p',
      '{"metadata":{"labels":{"tier":null}},"spec":{"containers":[{"name":"c","image":"redis:2"}]}}',
    ])
    expect(patched.trim()).toBe('pod/x patched')
    let stored = (await call('GET', url)).body
    expect(stored['metadata'].labels).toEqual({ app: 'web' })
    expect(stored['spec'].containers.map((c: Json) => c['image'])).toEqual([
      'nginx:1',
      'busybox:1',
      'redis:2',
    ])

    const set = await kubectl(port, ['set', 'image', 'pod/x', 'b=busybox:2'])
    expect(set.trim()).toBe('pod/x image updated')
    stored = (await call('GET', url)).body
    expect(stored['spec'].containers.map((c: Json) => c['image'])).toEqual([
      'nginx:1',
      'busybox:2',
      'redis:2',
    ])
    expect(stored['spec'].containers[0].env).toEqual([{ name: 'E', value: '1' }])
  }, 60_000)

  it('cordon and uncordon a node', async () => {
    const { port, base } = await start()
    expect((await call('POST', `${base}/api/v1/nodes`, { metadata: { name: 'node-1' } })).status).toBe(201)
    expect((await kubectl(port, ['cordon', 'node-1'])).trim()).toBe('node/node-1 cordoned')
    expect((await call('GET', `${base}/api/v1/nodes/node-1`)).body['spec'].unschedulable).toBe(true)
    expect((await kubectl(port, ['uncordon', 'node-1'])).trim()).toBe('node/node-1 uncordoned')
    expect((await call('GET', `${base}/api/v1/nodes/node-1`)).body['spec'].unschedulable).toBeUndefined()
  }, 60_000)

  it('client-side apply of a Deployment, then again with a changed image and an added container', async () => {
    const { port, base } = await start()
    const dir = mkdtempSync(join(tmpdir(), 'hakube-apply-'))
    tempDirs.push(dir)
    const manifest = (containers: Json[]) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers } },
      },
    })
    const file = join(dir, 'deploy.json')
    writeFileSync(
      file,
      JSON.stringify(
        manifest([
          { name: 'api', image: 'nginx:1.26' },
          { name: 'side', image: 'busybox' },
        ]),
      ),
    )
    expect((await kubectl(port, ['apply', '--validate=false', '-f', file])).trim()).toBe(
      'deployment.apps/web created',
    )
    writeFileSync(
      file,
      JSON.stringify(
        manifest([
          { name: 'side', image: 'busybox' },
          { name: 'api', image: 'nginx:1.27' },
          { name: 'log', image: 'fluentd' },
        ]),
      ),
    )
    expect((await kubectl(port, ['apply', '--validate=false', '-f', file])).trim()).toBe(
      'deployment.apps/web configured',
    )
    const stored = (await call('GET', `${base}/apis/apps/v1/namespaces/default/deployments/web`)).body
    expect(stored['spec'].template.spec.containers.map((c: Json) => [c['name'], c['image']])).toEqual([
      ['side', 'busybox'],
      ['api', 'nginx:1.27'],
      ['log', 'fluentd'],
    ])
    expect(stored['metadata'].annotations['kubectl.kubernetes.io/last-applied-configuration']).toContain(
      'nginx:1.27',
    )
    expect((await kubectl(port, ['apply', '--validate=false', '-f', file])).trim()).toBe(
      'deployment.apps/web unchanged',
    )
  }, 60_000)
})
