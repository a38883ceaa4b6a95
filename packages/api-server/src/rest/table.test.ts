/**
 * Goal: server-side tables as kube-apiserver serves them: Accept negotiation with includeObject,
 * PartialObjectMetadata, 406s, one-row Tables for GET and watch events (columnDefinitions only in the
 * first). The cells of each kind are table-printers.test.ts's; the text kubectl prints from these
 * Tables is table-kubectl.test.ts's.
 * Method: the table functions called with a fixed `now`; a real ApiServer on 127.0.0.1 driven with
 * undici.
 */
import { request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { call, type Json, startTestServer, stopTestServers } from '../testing/harness.js'
import { buildTable, negotiateOutput, parseIncludeObject, watchEncoder } from './table.js'

afterEach(stopTestServers)

const NOW = Date.parse('2025-06-01T12:00:00Z')
const M = 60 * 1000
/** RFC 3339 of `NOW - ms`. */
const ago = (ms: number) => new Date(NOW - ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
const meta = (name: string, extra: Json = {}) => ({ name, creationTimestamp: ago(5 * M), ...extra })
const KUBECTL_ACCEPT =
  'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'

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
