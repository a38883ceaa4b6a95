/**
 * Protobuf request bodies. Goal: a body in the Kubernetes protobuf encoding becomes exactly the JSON
 * a JSON client would send, and anything malformed is a 400 Status, never a crash. Method: unit
 * tests encode hand-built messages with the decoder's own protobufjs types and compare the decoded
 * JSON; HTTP tests post raw bytes; the real kubectl 1.27, 1.32 and 1.33 (1.32 and 1.33 send
 * protobuf from their typed `create` commands) then create each kind and the stored object is read
 * back over JSON.
 */
import { request } from 'undici'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { call, type Json, startTestServer, stopTestServers } from '../testing/harness.js'
import { KUBECTL_VERSIONS, Kubectl, removeKubectlHomes } from '../testing/kubectl.js'
import {
  decodeProtobufObject,
  PROTOBUF_MAGIC,
  PROTOBUF_MEDIA_TYPE,
  parseFieldSpecs,
  protobufKinds,
  protobufRoot,
} from './protobuf.js'
import { MESSAGES } from './protobuf-messages.js'

afterEach(stopTestServers)
afterAll(removeKubectlHomes)

/** Encodes `object` (protobufjs object form) as message `type`, wrapped as kube-apiserver expects. */
function envelope(apiVersion: string, kind: string, type: string, object: Record<string, unknown>): Buffer {
  const root = protobufRoot()
  const t = root.lookupType(type)
  const raw = t.encode(t.fromObject(object)).finish()
  const u = root.lookupType('Unknown')
  const body = u
    .encode(u.fromObject({ typeMeta: { apiVersion, kind }, raw, contentEncoding: '', contentType: '' }))
    .finish()
  return Buffer.concat([PROTOBUF_MAGIC, body])
}

function statusOf(f: () => unknown): { code: number; reason: string; message: string } {
  try {
    f()
  } catch (err) {
    const s = (err as { status?: { code: number; reason: string; message: string } }).status
    if (s !== undefined) return s
    throw err
  }
  throw new Error('expected a StatusError')
}

describe('the message table', () => {
  it('parses every field and refers only to messages it defines', () => {
    const known = new Set([
      's',
      'b',
      'i32',
      'i64',
      'f64',
      'by',
      'T',
      'MT',
      'Q',
      'IOS',
      'FV',
      ...Object.keys(MESSAGES),
    ])
    for (const [name, text] of Object.entries(MESSAGES)) {
      const fields = parseFieldSpecs(text)
      expect(new Set(fields.map((f) => f.id)).size, name).toBe(fields.length)
      for (const f of fields) expect(known.has(f.type), `${name}.${f.name}: ${f.type}`).toBe(true)
    }
    expect(protobufKinds()).toHaveLength(14)
    expect(() => protobufRoot().lookupType('Deployment')).not.toThrow()
  })
})

describe('decodeProtobufObject', () => {
  it('drops the zero values gogo-protobuf writes for omitempty fields, keeps pointers and structs', () => {
    // What kubectl 1.32 sends for `create deployment web --image=nginx --replicas=0`: every
    // non-pointer field present, zero or not.
    const meta = {
      name: 'web',
      generateName: '',
      namespace: 'ns',
      selfLink: '',
      uid: '',
      resourceVersion: '',
      generation: 0,
      creationTimestamp: {},
    }
    const body = envelope('apps/v1', 'Deployment', 'Deployment', {
      metadata: { ...meta, labels: { app: 'web' } },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { name: '', labels: { app: 'web' }, creationTimestamp: {} },
          spec: {
            containers: [
              { name: 'nginx', image: 'nginx', workingDir: '', resources: {}, stdin: false, tty: false },
            ],
            restartPolicy: '',
            hostNetwork: false,
          },
        },
        strategy: { type: '' },
        minReadySeconds: 0,
        paused: false,
      },
      status: { observedGeneration: 0, replicas: 0, updatedReplicas: 0 },
    })
    expect(decodeProtobufObject(body)).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'ns', labels: { app: 'web' } },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'nginx', image: 'nginx', resources: {} }] },
        },
        strategy: {},
      },
      status: {},
    })
  })

  it('decodes Time, MicroTime, IntOrString, Quantity, bytes, FieldsV1 and embedded structs', () => {
    const pod = decodeProtobufObject(
      envelope('v1', 'Pod', 'Pod', {
        metadata: {
          name: 'p',
          creationTimestamp: { seconds: 1700000000, nanos: 999 },
          deletionGracePeriodSeconds: 0,
          managedFields: [
            { manager: 'kubectl', time: { seconds: 1 }, fieldsV1: { Raw: Buffer.from('{"f:spec":{}}') } },
          ],
        },
        spec: {
          containers: [
            {
              name: 'c',
              ports: [{ containerPort: 80, protocol: 'TCP' }],
              resources: { limits: { cpu: { string: '500m' }, memory: { string: '1Gi' } } },
              readinessProbe: {
                handler: { httpGet: { path: '/', port: { type: 1, strVal: 'http' } } },
                periodSeconds: 5,
              },
              securityContext: { runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
            },
          ],
          volumes: [
            {
              name: 'v',
              volumeSource: { configMap: { localObjectReference: { name: 'cm' }, defaultMode: 420 } },
            },
          ],
          terminationGracePeriodSeconds: 0,
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [{ matchExpressions: [{ key: 'k', operator: 'In', values: ['a'] }] }],
              },
            },
          },
        },
      }),
    )
    expect(pod).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'p',
        creationTimestamp: '2023-11-14T22:13:20Z',
        deletionGracePeriodSeconds: 0,
        managedFields: [{ manager: 'kubectl', time: '1970-01-01T00:00:01Z', fieldsV1: { 'f:spec': {} } }],
      },
      spec: {
        containers: [
          {
            name: 'c',
            ports: [{ containerPort: 80, protocol: 'TCP' }],
            resources: { limits: { cpu: '500m', memory: '1Gi' } },
            readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 5 },
            securityContext: { runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
          },
        ],
        volumes: [{ name: 'v', configMap: { name: 'cm', defaultMode: 420 } }],
        terminationGracePeriodSeconds: 0,
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: 'k', operator: 'In', values: ['a'] }] }],
            },
          },
        },
      },
    })
    const svc = decodeProtobufObject(
      envelope('v1', 'Service', 'Service', {
        spec: { ports: [{ port: 80, targetPort: { type: 0, intVal: 8080 } }] },
      }),
    )
    expect(svc['spec']).toEqual({ ports: [{ port: 80, targetPort: 8080 }] })
    const secret = decodeProtobufObject(
      envelope('v1', 'Secret', 'Secret', { data: { k: Buffer.from([0, 255, 118]) }, type: 'Opaque' }),
    )
    expect(secret).toEqual({ apiVersion: 'v1', kind: 'Secret', data: { k: 'AP92' }, type: 'Opaque' })
    const lease = decodeProtobufObject(
      envelope('coordination.k8s.io/v1', 'Lease', 'Lease', {
        spec: {
          holderIdentity: 'a',
          renewTime: { seconds: 1700000000, nanos: 123456789 },
          leaseDurationSeconds: 15,
        },
      }),
    )
    expect(lease['spec']).toEqual({
      holderIdentity: 'a',
      renewTime: '2023-11-14T22:13:20.123456Z',
      leaseDurationSeconds: 15,
    })
    const scale = decodeProtobufObject(
      envelope('autoscaling/v1', 'Scale', 'Scale', { metadata: { name: 'web' }, spec: { replicas: 0 } }),
    )
    expect(scale).toEqual({
      apiVersion: 'autoscaling/v1',
      kind: 'Scale',
      metadata: { name: 'web' },
      spec: {},
    })
  })

  it('skips fields it has no entry for', () => {
    const root = protobufRoot()
    const cm = root.lookupType('ConfigMap')
    const known = Buffer.from(cm.encode(cm.fromObject({ metadata: { name: 'x' } })).finish())
    // Field 99 (a string) and field 98 (a varint) are unknown to ConfigMap.
    const raw = Buffer.concat([known, Buffer.from([0x9a, 0x06, 0x02, 0x68, 0x69, 0x90, 0x06, 0x07])])
    const u = root.lookupType('Unknown')
    const body = Buffer.concat([
      PROTOBUF_MAGIC,
      u.encode(u.fromObject({ typeMeta: { apiVersion: 'v1', kind: 'ConfigMap' }, raw })).finish(),
    ])
    expect(decodeProtobufObject(body)).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x' },
    })
  })

  it('answers 400 BadRequest for malformed bodies and unknown kinds', () => {
    expect(statusOf(() => decodeProtobufObject(Buffer.alloc(0)))).toEqual(
      expect.objectContaining({
        code: 400,
        reason: 'BadRequest',
        message: 'the object provided is unrecognized (<empty>: empty data)',
      }),
    )
    expect(statusOf(() => decodeProtobufObject(Buffer.from('{"kind":"Namespace"}'))).message).toBe(
      'the object provided is unrecognized (7b226b696e64223a224e616d657370616365227d: provided data does not appear to be a protobuf message, expected prefix [107 56 115 0])',
    )
    // A length-delimited field running past the end of the data.
    const truncated = Buffer.concat([PROTOBUF_MAGIC, Buffer.from([0x0a, 0x20, 0x0a])])
    const t = statusOf(() => decodeProtobufObject(truncated))
    expect(t.code).toBe(400)
    expect(t.message).toMatch(/^the object provided is unrecognized \(6b3873000a200a: .+\)$/)
    expect(statusOf(() => decodeProtobufObject(envelope('v1', 'Widget', 'ConfigMap', {}))).message).toBe(
      'Widget in version "v1" cannot be handled as a Widget: no kind "Widget" is registered for version "v1" in scheme "pkg/api/legacyscheme/scheme.go:30"',
    )
    // Valid envelope, garbage object bytes: metadata (field 1) claims 100 bytes.
    const u = protobufRoot().lookupType('Unknown')
    const bad = Buffer.concat([
      PROTOBUF_MAGIC,
      u
        .encode(
          u.fromObject({
            typeMeta: { apiVersion: 'v1', kind: 'Namespace' },
            raw: Buffer.from([0x0a, 0x64, 0x01]),
          }),
        )
        .finish(),
    ])
    const b = statusOf(() => decodeProtobufObject(bad))
    expect(b.code).toBe(400)
    expect(b.message).toMatch(/^Namespace in version "v1" cannot be handled as a Namespace: .+/)
    // Invalid JSON inside FieldsV1.
    const badFields = envelope('v1', 'ConfigMap', 'ConfigMap', {
      metadata: { name: 'x', managedFields: [{ fieldsV1: { Raw: Buffer.from('{nope') } }] },
    })
    expect(statusOf(() => decodeProtobufObject(badFields)).code).toBe(400)
    // Random bytes after the magic never crash.
    for (let seed = 1; seed <= 200; seed++) {
      const junk = Buffer.alloc(40)
      for (let i = 0; i < junk.length; i++) junk[i] = (seed * 7919 + i * 104729) % 251
      try {
        decodeProtobufObject(Buffer.concat([PROTOBUF_MAGIC, junk]))
      } catch (err) {
        expect((err as { status?: { code: number } }).status?.code).toBe(400)
      }
    }
  })
})

/** POSTs raw protobuf bytes. */
async function post(url: string, body: Buffer): Promise<{ status: number; body: Json }> {
  const r = await request(url, { method: 'POST', body, headers: { 'content-type': PROTOBUF_MEDIA_TYPE } })
  return { status: r.statusCode, body: (await r.body.json()) as Json }
}

describe('protobuf bodies over HTTP', () => {
  it('creates from a protobuf POST and answers 400 for a bad one', async () => {
    const t = await startTestServer()
    const body = envelope('v1', 'Namespace', 'Namespace', { metadata: { name: 'pb', labels: { a: 'b' } } })
    const created = await post(`${t.base}/api/v1/namespaces`, body)
    expect(created.status).toBe(201)
    expect(created.body['metadata']).toMatchObject({ name: 'pb', labels: { a: 'b' } })
    expect(created.body['spec']).toEqual({ finalizers: ['kubernetes'] })
    const bad = await post(`${t.base}/api/v1/namespaces`, Buffer.from([0x6b, 0x38, 0x73, 0, 0x0a, 0xff]))
    expect(bad.status).toBe(400)
    expect(bad.body).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 })
  })
})

describe('kubectl create with protobuf bodies', () => {
  for (const version of KUBECTL_VERSIONS) {
    it(`kubectl ${version} creates every generator kind`, async () => {
      const t = await startTestServer({ discovery: true })
      const k = new Kubectl(t.base, version)
      const get = async (path: string) => {
        const r = await call('GET', `${t.base}${path}`)
        expect(r.status, path).toBe(200)
        return r.body
      }
      expect(await k.ok(['create', 'namespace', 'demo'])).toBe('namespace/demo created\n')
      const ns = await get('/api/v1/namespaces/demo')
      expect(ns['metadata']['name']).toBe('demo')
      expect(ns['spec']).toEqual({ finalizers: ['kubernetes'] })
      expect(ns['status']).toEqual({ phase: 'Active' })

      expect(await k.ok(['-n', 'demo', 'create', 'configmap', 'cm', '--from-literal=a=b'])).toBe(
        'configmap/cm created\n',
      )
      expect((await get('/api/v1/namespaces/demo/configmaps/cm'))['data']).toEqual({ a: 'b' })

      expect(await k.ok(['-n', 'demo', 'create', 'secret', 'generic', 's', '--from-literal=k=v'])).toBe(
        'secret/s created\n',
      )
      const secret = await get('/api/v1/namespaces/demo/secrets/s')
      expect(secret['data']).toEqual({ k: 'dg==' })
      expect(secret['type']).toBe('Opaque')

      expect(await k.ok(['-n', 'demo', 'create', 'deployment', 'web', '--image=nginx', '--replicas=2'])).toBe(
        'deployment.apps/web created\n',
      )
      const deploy = await get('/apis/apps/v1/namespaces/demo/deployments/web')
      expect(deploy['metadata']['labels']).toEqual({ app: 'web' })
      expect(deploy['spec']).toMatchObject({
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
        revisionHistoryLimit: 10,
        progressDeadlineSeconds: 600,
      })
      expect(deploy['spec']['template']['metadata']['labels']).toEqual({ app: 'web' })
      expect(deploy['spec']['template']['spec']).toMatchObject({
        containers: [
          {
            name: 'nginx',
            image: 'nginx',
            resources: {},
            terminationMessagePath: '/dev/termination-log',
            terminationMessagePolicy: 'File',
            imagePullPolicy: 'Always',
          },
        ],
        restartPolicy: 'Always',
        terminationGracePeriodSeconds: 30,
        dnsPolicy: 'ClusterFirst',
        schedulerName: 'default-scheduler',
      })

      expect(await k.ok(['-n', 'demo', 'create', 'serviceaccount', 'sa'])).toBe('serviceaccount/sa created\n')
      expect((await get('/api/v1/namespaces/demo/serviceaccounts/sa'))['metadata']['name']).toBe('sa')

      expect(
        await k.ok(['-n', 'demo', 'create', 'service', 'externalname', 'ext', '--external-name=example.com']),
      ).toBe('service/ext created\n')
      const ext = await get('/api/v1/namespaces/demo/services/ext')
      expect(ext['metadata']['labels']).toEqual({ app: 'ext' })
      expect(ext['spec']).toMatchObject({
        type: 'ExternalName',
        externalName: 'example.com',
        selector: { app: 'ext' },
      })
    }, 120_000)

    // kubectl names the port `80-8080`: a DNS-1123 label, which kube-apiserver's validateServicePort
    // accepts (the IANA_SVC_NAME "at least one letter" rule is for container ports only).
    it(`kubectl ${version} creates a ClusterIP service`, async () => {
      const t = await startTestServer({ discovery: true, namespaces: ['demo'] })
      const k = new Kubectl(t.base, version)
      const get = async (path: string) => {
        const r = await call('GET', `${t.base}${path}`)
        expect(r.status, path).toBe(200)
        return r.body
      }
      expect(await k.ok(['-n', 'demo', 'create', 'service', 'clusterip', 'svc', '--tcp=80:8080'])).toBe(
        'service/svc created\n',
      )
      const svc = await get('/api/v1/namespaces/demo/services/svc')
      expect(svc['spec']).toMatchObject({
        type: 'ClusterIP',
        selector: { app: 'svc' },
        ports: [{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 }],
      })
    }, 60_000)
  }
})
