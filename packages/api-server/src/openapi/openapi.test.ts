/**
 * Goal: the OpenAPI documents are what kubectl needs from a kube-apiserver 1.32: `/openapi/v3` and
 * its group-version documents (PATCH operations carrying the GVK and a `fieldValidation`
 * parameter, components named and extended as kube does), `/openapi/v2` as gnostic protobuf; and
 * with them the real kubectl 1.27, 1.32 and 1.33 validate create/apply on the server
 * (`fieldValidation=Strict`), print kube's strict-decoding error for a misspelled field, drop it
 * with `--validate=false`, and explain fields with their types.
 * Method: the real ApiServer (memory storage, discovery + OpenAPI) over HTTP with undici for the
 * documents; then each kubectl binary, with its own cache dir, against a server of its own.
 */
import { request } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import {
  call,
  type Json,
  KUBECTL_VERSIONS,
  Kubectl,
  removeKubectlHomes,
  startTestServer,
  stopTestServers,
} from '../testing/index.js'
import { decodeGnosticDocument } from './gnostic.js'
import {
  buildOpenAPIDocuments,
  OPENAPI_V2_PROTOBUF,
  OPENAPI_V2_PROTOBUF_CONTENT_TYPE,
  wantsV2Protobuf,
} from './register.js'
import { PATCH_CONTENT_TYPES } from './v3.js'

async function get(url: string, headers: Record<string, string> = {}) {
  const r = await request(url, { headers })
  const body = Buffer.from(await r.body.arrayBuffer())
  return { status: r.statusCode, headers: r.headers, body }
}

const json = (b: Buffer): Json => JSON.parse(b.toString()) as Json

/** Every `$ref` target in `doc` under `prefix`, checked to exist in `defs`. */
function danglingRefs(doc: unknown, prefix: string, defs: Record<string, unknown>): string[] {
  const out: string[] = []
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk)
    else if (v !== null && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref' && typeof x === 'string') {
          if (!x.startsWith(prefix) || !(x.slice(prefix.length) in defs)) out.push(x)
        } else walk(x)
      }
  }
  walk(doc)
  return out
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const

/**
 * The requests a `-v=6` kubectl logged, as `METHOD path?query CODE`, from either log format
 * (1.27–1.32: `GET http://host/path 200 OK in 1 milliseconds`; 1.33: `"Response" verb="GET"
 * url="http://host/path" status="200 OK"`).
 */
function requestsLogged(stderr: string): string[] {
  const out: string[] = []
  for (const line of stderr.split('\n')) {
    const old = /round_trippers\.go:\d+\] (\w+) https?:\/\/[^/\s]+(\S+) (\d{3})/.exec(line)
    const structured = /verb="(\w+)" url="https?:\/\/[^/"]+([^"]+)" status="(\d{3})/.exec(line)
    const m = old ?? structured
    if (m !== null) out.push(`${m[1]} ${m[2]} ${m[3]}`)
  }
  return out
}

describe('OpenAPI v3 documents', () => {
  afterEach(stopTestServers)

  it('lists one document per group-version; each is served at its serverRelativeURL with an ETag', async () => {
    const t = await startTestServer({ openapi: true })
    const root = await get(`${t.base}/openapi/v3`)
    expect(root.status).toBe(200)
    expect(root.headers['content-type']).toBe('application/json')
    const paths = json(root.body)['paths'] as Record<string, { serverRelativeURL: string }>
    expect(Object.keys(paths)).toEqual(['api/v1', 'apis/apps/v1', 'apis/coordination.k8s.io/v1'])
    for (const [gv, { serverRelativeURL }] of Object.entries(paths)) {
      expect(serverRelativeURL).toMatch(
        new RegExp(`^/openapi/v3/${gv.replace(/\./g, '\\.')}\\?hash=[0-9A-F]{128}$`),
      )
      const doc = await get(`${t.base}${serverRelativeURL}`)
      expect(doc.status).toBe(200)
      expect(doc.headers['etag']).toBe(`"${serverRelativeURL.split('hash=')[1]}"`)
      const again = await get(`${t.base}/openapi/v3/${gv}`, { 'if-none-match': String(doc.headers['etag']) })
      expect(again.status).toBe(304)
    }
    const missing = await get(`${t.base}/openapi/v3/apis/batch/v1`)
    expect(missing.status).toBe(404)
    expect(json(missing.body)).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 })
  })

  it('names components as kube does, with the GVK and list extensions and allOf references', () => {
    const apps = json(buildOpenAPIDocuments().v3.get('apis/apps/v1')!.body)
    const schemas = apps['components']['schemas'] as Record<string, Json>
    expect(schemas['io.k8s.api.apps.v1.Deployment']!['x-kubernetes-group-version-kind']).toEqual([
      { group: 'apps', kind: 'Deployment', version: 'v1' },
    ])
    expect(schemas['io.k8s.api.apps.v1.DeploymentList']!['x-kubernetes-group-version-kind']).toEqual([
      { group: 'apps', kind: 'DeploymentList', version: 'v1' },
    ])
    expect(schemas['io.k8s.api.apps.v1.Deployment']!['properties']['metadata']).toMatchObject({
      allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }],
    })
    expect(schemas['io.k8s.api.apps.v1.DeploymentSpec']!['properties']['strategy']).toMatchObject({
      allOf: [{ $ref: '#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy' }],
      'x-kubernetes-patch-strategy': 'retainKeys',
    })
    expect(schemas['io.k8s.api.core.v1.PodSpec']!['properties']['containers']).toMatchObject({
      type: 'array',
      items: { allOf: [{ $ref: '#/components/schemas/io.k8s.api.core.v1.Container' }] },
      'x-kubernetes-list-map-keys': ['name'],
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-patch-merge-key': 'name',
      'x-kubernetes-patch-strategy': 'merge',
    })
    expect(schemas['io.k8s.api.core.v1.Container']!['required']).toEqual(['name'])
    expect(
      schemas['io.k8s.api.core.v1.Container']!['properties']['ports']['x-kubernetes-list-map-keys'],
    ).toEqual(['containerPort', 'protocol'])
    expect(schemas['io.k8s.apimachinery.pkg.util.intstr.IntOrString']).toMatchObject({
      format: 'int-or-string',
      oneOf: [{ type: 'integer' }, { type: 'string' }],
    })
    expect(schemas['io.k8s.api.apps.v1.DeploymentStatus']!['properties']['conditions']['items']).toEqual({
      allOf: [{ $ref: '#/components/schemas/io.k8s.api.apps.v1.DeploymentCondition' }],
    })
    expect(schemas['io.k8s.api.autoscaling.v1.Scale']!['x-kubernetes-group-version-kind']).toEqual([
      { group: 'autoscaling', kind: 'Scale', version: 'v1' },
    ])
  })

  it('gives every operation its action and GVK, and every PATCH the parameters and body types kubectl checks', () => {
    const docs = buildOpenAPIDocuments()
    let patches = 0
    for (const [gv, served] of docs.v3) {
      const doc = json(served.body)
      expect(danglingRefs(doc, '#/components/schemas/', doc['components']['schemas']), gv).toEqual([])
      for (const [path, item] of Object.entries(doc['paths'] as Record<string, Json>)) {
        for (const m of METHODS) {
          const op = item[m] as Json | undefined
          if (op === undefined) continue
          expect(op['x-kubernetes-action'], `${m} ${path}`).toBeTypeOf('string')
          expect(op['x-kubernetes-group-version-kind'], `${m} ${path}`).toHaveProperty('kind')
          if (m === 'patch') {
            patches++
            const names = (op['parameters'] as Json[]).map((p) => p['name'])
            expect(names, path).toEqual(['dryRun', 'fieldManager', 'fieldValidation', 'force'])
            expect(Object.keys(op['requestBody']['content']), path).toEqual([...PATCH_CONTENT_TYPES])
          }
          if (m === 'post' || m === 'put')
            expect(
              (op['parameters'] as Json[]).map((p) => p['name']),
              `${m} ${path}`,
            ).toContain('fieldValidation')
        }
      }
    }
    // 12 resources, 6 status and 2 scale subresources.
    expect(patches).toBe(20)
    const core = json(docs.v3.get('api/v1')!.body)
    const podPatch = core['paths']['/api/v1/namespaces/{namespace}/pods/{name}']['patch']
    expect(podPatch).toMatchObject({
      operationId: 'patchCoreV1NamespacedPod',
      'x-kubernetes-action': 'patch',
      'x-kubernetes-group-version-kind': { group: '', kind: 'Pod', version: 'v1' },
    })
    expect(core['paths']['/api/v1/nodes/{name}']['patch']['operationId']).toBe('patchCoreV1Node')
    expect(core['paths']['/api/v1/pods']['get']['operationId']).toBe('listCoreV1PodForAllNamespaces')
    const scale = json(docs.v3.get('apis/apps/v1')!.body)['paths'][
      '/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale'
    ]['patch']
    expect(scale['x-kubernetes-group-version-kind']).toEqual({
      group: 'autoscaling',
      kind: 'Scale',
      version: 'v1',
    })
  })
})

describe('OpenAPI v2 document', () => {
  afterEach(stopTestServers)

  it('negotiates protobuf only for the gnostic media type', () => {
    expect(wantsV2Protobuf(OPENAPI_V2_PROTOBUF)).toBe(true)
    expect(wantsV2Protobuf(`application/json, ${OPENAPI_V2_PROTOBUF}`)).toBe(true)
    expect(wantsV2Protobuf(`${OPENAPI_V2_PROTOBUF};q=0`)).toBe(false)
    expect(wantsV2Protobuf('application/json')).toBe(false)
    expect(wantsV2Protobuf(undefined)).toBe(false)
  })

  it('serves the gnostic protobuf Document with definitions, YAML extensions and fieldValidation on PATCH', async () => {
    const t = await startTestServer({ openapi: true })
    const r = await get(`${t.base}/openapi/v2`, { accept: OPENAPI_V2_PROTOBUF })
    expect(r.status).toBe(200)
    expect(r.headers['content-type']).toBe(OPENAPI_V2_PROTOBUF_CONTENT_TYPE)
    const doc = decodeGnosticDocument(r.body) as Json
    expect(doc['swagger']).toBe('2.0')
    expect(doc['info']).toEqual({ title: 'Kubernetes', version: 'v1.32.0-hakube' })
    const defs = new Map<string, Json>(
      (doc['definitions']['additionalProperties'] as Json[]).map((d) => [d['name'], d['value']]),
    )
    const deployment = defs.get('io.k8s.api.apps.v1.Deployment')!
    const ext = (s: Json, name: string): unknown =>
      parseYaml((s['vendorExtension'] as Json[]).find((e) => e['name'] === name)!['value']['yaml'])
    expect(ext(deployment, 'x-kubernetes-group-version-kind')).toEqual([
      { group: 'apps', kind: 'Deployment', version: 'v1' },
    ])
    const prop = (s: Json, name: string): Json =>
      (s['properties']['additionalProperties'] as Json[]).find((p) => p['name'] === name)!['value']
    expect(prop(deployment, 'spec')['ref']).toBe('#/definitions/io.k8s.api.apps.v1.DeploymentSpec')
    const containers = prop(defs.get('io.k8s.api.core.v1.PodSpec')!, 'containers')
    expect(containers['type']).toEqual({ value: ['array'] })
    expect(containers['items']).toEqual({ schema: [{ ref: '#/definitions/io.k8s.api.core.v1.Container' }] })
    expect(ext(containers, 'x-kubernetes-patch-merge-key')).toBe('name')
    expect(ext(containers, 'x-kubernetes-patch-strategy')).toBe('merge')
    expect(defs.get('io.k8s.apimachinery.pkg.util.intstr.IntOrString')).toMatchObject({
      format: 'int-or-string',
      type: { value: ['string'] },
    })

    const paths = new Map<string, Json>((doc['paths']['path'] as Json[]).map((p) => [p['name'], p['value']]))
    const patch = paths.get('/apis/apps/v1/namespaces/{namespace}/deployments/{name}')!['patch'] as Json
    expect(ext(patch, 'x-kubernetes-group-version-kind')).toEqual({
      group: 'apps',
      kind: 'Deployment',
      version: 'v1',
    })
    expect(ext(patch, 'x-kubernetes-action')).toBe('patch')
    const params = patch['parameters'] as Json[]
    expect(params[0]?.['parameter']['bodyParameter']).toMatchObject({
      name: 'body',
      in: 'body',
      required: true,
    })
    expect(
      params.slice(1).map((p) => p['parameter']['nonBodyParameter']['queryParameterSubSchema']['name']),
    ).toEqual(['dryRun', 'fieldManager', 'fieldValidation', 'force'])
    expect(patch['consumes']).toEqual([...PATCH_CONTENT_TYPES])
  })

  it('serves JSON Swagger 2.0 with kube-style $ref references when JSON is asked for', async () => {
    const t = await startTestServer({ openapi: true })
    const r = await get(`${t.base}/openapi/v2`, { accept: 'application/json' })
    expect(r.headers['content-type']).toBe('application/json')
    const doc = json(r.body)
    expect(doc['swagger']).toBe('2.0')
    expect(danglingRefs(doc, '#/definitions/', doc['definitions'])).toEqual([])
    expect(doc['definitions']['io.k8s.api.core.v1.Pod']['properties']['spec']).toEqual({
      $ref: '#/definitions/io.k8s.api.core.v1.PodSpec',
      description: 'What the pod should run: its containers, volumes and scheduling constraints.',
    })
    expect(Object.keys(doc['paths'])).toContain(
      '/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}',
    )
    const notModified = await get(`${t.base}/openapi/v2`, {
      accept: 'application/json',
      'if-none-match': String(r.headers['etag']),
    })
    expect(notModified.status).toBe(304)
  })
})

const deployment = (name: string, replicasField = 'replicas') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: default
spec:
  ${replicasField}: 2
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
`

const pod = (name: string, imageField = 'image') => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: default
spec:
  containers:
  - name: app
    ${imageField}: busybox
`

describe.each(KUBECTL_VERSIONS)('kubectl %s with the OpenAPI documents', (version) => {
  let base = ''
  let k: Kubectl
  beforeAll(async () => {
    const t = await startTestServer({ discovery: true, openapi: true, namespaces: ['default'] })
    base = t.base
    k = new Kubectl(base, version)
  })
  afterAll(async () => {
    await stopTestServers()
    removeKubectlHomes()
  })

  it('creates and applies valid objects with default validation, sending fieldValidation=Strict', async () => {
    const created = await k.run(['create', '-f', k.file('d1.yaml', deployment('created')), '-v=6'])
    expect(created.code, created.stderr).toBe(0)
    expect(created.stdout).toBe('deployment.apps/created created\n')
    const requests = requestsLogged(created.stderr)
    expect(requests).toContain(
      'POST /apis/apps/v1/namespaces/default/deployments?fieldManager=kubectl-create&fieldValidation=Strict 201',
    )
    // 1.27 and 1.28 read the v2 document (protobuf) first, every time (kubectl-wire.md §4.4).
    if (version === '1.27') expect(requests[0]).toBe('GET /openapi/v2?timeout=32s 200')
    expect(
      requests.some((r) => /^GET \/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]{128}&timeout=32s 200$/.test(r)),
    ).toBe(true)

    expect(await k.ok(['create', '-f', k.file('p1.yaml', pod('created-pod'))])).toBe(
      'pod/created-pod created\n',
    )
    const applied = await k.run(['apply', '-f', k.file('d2.yaml', deployment('applied')), '-v=6'])
    expect(applied.code, applied.stderr).toBe(0)
    expect(applied.stdout).toBe('deployment.apps/applied created\n')
    expect(requestsLogged(applied.stderr)).toContain(
      'POST /apis/apps/v1/namespaces/default/deployments?fieldManager=kubectl-client-side-apply&fieldValidation=Strict 201',
    )
    expect(await k.ok(['apply', '-f', k.file('p2.yaml', pod('applied-pod'))])).toBe(
      'pod/applied-pod created\n',
    )
    // Applying again with a change goes through a PATCH, validated the same way.
    const changed = await k.run([
      'apply',
      '-f',
      k.file('d3.yaml', deployment('applied').replace('replicas: 2', 'replicas: 3')),
    ])
    expect(changed.code, changed.stderr).toBe(0)
    expect(changed.stdout).toBe('deployment.apps/applied configured\n')
    const stored = await call('GET', `${base}/apis/apps/v1/namespaces/default/deployments/applied`)
    expect(stored.body['spec']['replicas']).toBe(3)
  })

  it('fails a misspelled field with the api-server strict decoding error', async () => {
    const file = k.file('bad.yaml', deployment('misspelled', 'replicass'))
    const r = await k.run(['apply', '-f', file])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(
      `Error from server (BadRequest): error when creating "${file}": Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replicass"\n`,
    )
    const podFile = k.file('bad-pod.yaml', pod('misspelled-pod', 'imagee'))
    const c = await k.run(['create', '-f', podFile])
    expect(c.code).toBe(1)
    expect(c.stderr).toBe(
      `Error from server (BadRequest): error when creating "${podFile}": Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.containers[0].imagee"\n`,
    )
    expect((await call('GET', `${base}/apis/apps/v1/namespaces/default/deployments/misspelled`)).status).toBe(
      404,
    )
    expect((await call('GET', `${base}/api/v1/namespaces/default/pods/misspelled-pod`)).status).toBe(404)
  })

  it('with --validate=false creates the object and drops the unknown field (fieldValidation=Ignore)', async () => {
    const file = k.file('ignored.yaml', deployment('ignored', 'replicass'))
    const r = await k.run(['apply', '-f', file, '--validate=false', '-v=6'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe('deployment.apps/ignored created\n')
    expect(requestsLogged(r.stderr)).toContain(
      'POST /apis/apps/v1/namespaces/default/deployments?fieldManager=kubectl-client-side-apply&fieldValidation=Ignore 201',
    )
    expect(r.stderr).not.toMatch(/[Ww]arning/)
    const stored = await call('GET', `${base}/apis/apps/v1/namespaces/default/deployments/ignored`)
    expect(stored.status).toBe(200)
    expect(stored.body['spec']).not.toHaveProperty('replicass')
    expect(stored.body['spec']['replicas']).toBe(1)
  })

  it('explains fields with their types', async () => {
    const containers = await k.ok(['explain', 'pod.spec.containers'])
    expect(containers).toMatch(/^KIND: +Pod\nVERSION: +v1\n\nFIELD: containers <\[\]Container>\n/)
    expect(containers).toContain('  image\t<string>\n    The container image to run.\n')
    expect(containers).toContain('  name\t<string> -required-\n')
    expect(containers).toContain('  ports\t<[]ContainerPort>\n')
    expect(containers).toContain('  resources\t<ResourceRequirements>\n')
    const spec = await k.ok(['explain', 'deployment.spec', '--recursive'])
    expect(spec).toMatch(/^GROUP: +apps\nKIND: +Deployment\nVERSION: +v1\n\nFIELD: spec <DeploymentSpec>\n/)
    for (const line of [
      '  replicas\t<integer>\n',
      '  selector\t<LabelSelector>\n',
      '      maxSurge\t<IntOrString>\n',
      '  template\t<PodTemplateSpec>\n',
      '      containers\t<[]Container>\n',
      '        image\t<string>\n',
      '        name\t<string> -required-\n',
    ])
      expect(spec).toContain(line)
  })

  it('keeps discovery working: api-resources and get pods', async () => {
    const resources = await k.ok(['api-resources'])
    expect(resources).toMatch(/^deployments +deploy +apps\/v1 +true +Deployment$/m)
    expect(resources).toMatch(/^pods +po +v1 +true +Pod$/m)
    const pods = await k.ok(['get', 'pods'])
    expect(pods).toMatch(/^NAME +/)
    expect(pods).toMatch(/^created-pod +/m)
    expect(pods).toMatch(/^applied-pod +/m)
  })
})

describe.each(KUBECTL_VERSIONS)('kubectl %s validating on the client', (version) => {
  // A server whose operations do not list fieldValidation (as before kube 1.25): kubectl then checks
  // manifests itself against /openapi/v2, which shows the v2 schemas are complete enough for it.
  let base = ''
  let k: Kubectl
  beforeAll(async () => {
    const t = await startTestServer({
      discovery: true,
      openapi: { serverSideFieldValidation: false },
      namespaces: ['default'],
    })
    base = t.base
    k = new Kubectl(base, version)
  })
  afterAll(async () => {
    await stopTestServers()
    removeKubectlHomes()
  })

  it("refuses a misspelled field with kubectl's own error and sends nothing", async () => {
    const file = k.file('bad.yaml', deployment('misspelled', 'replicass'))
    const r = await k.run(['apply', '-f', file, '-v=6'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(
      `error: error validating "${file}": error validating data: ValidationError(Deployment.spec): unknown field "replicass" in io.k8s.api.apps.v1.DeploymentSpec; if you choose to ignore these errors, turn validation off with --validate=false\n`,
    )
    expect(requestsLogged(r.stderr).filter((l) => !l.startsWith('GET'))).toEqual([])
    const podFile = k.file('bad-pod.yaml', pod('misspelled-pod', 'imagee'))
    const c = await k.run(['create', '-f', podFile])
    expect(c.code).toBe(1)
    expect(c.stderr).toContain(
      'ValidationError(Pod.spec.containers[0]): unknown field "imagee" in io.k8s.api.core.v1.Container',
    )
    expect((await call('GET', `${base}/apis/apps/v1/namespaces/default/deployments/misspelled`)).status).toBe(
      404,
    )
  })

  it('accepts a valid manifest after checking it against the v2 schemas', async () => {
    const r = await k.run(['apply', '-f', k.file('ok.yaml', deployment('valid')), '-v=6'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe('deployment.apps/valid created\n')
    const requests = requestsLogged(r.stderr)
    // kubectl read the v2 schemas to check the manifest, then sent it (still asking for Strict).
    expect(requests.some((l) => l.startsWith('GET /openapi/v2'))).toBe(true)
    expect(requests).toContain(
      'POST /apis/apps/v1/namespaces/default/deployments?fieldManager=kubectl-client-side-apply&fieldValidation=Strict 201',
    )
  })
})
