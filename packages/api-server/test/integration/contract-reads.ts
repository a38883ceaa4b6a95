/**
 * Contract cases for reads (issue 4 section 3): list and watch `resourceVersion` semantics as
 * kube-apiserver 1.32 serves them (unset = quorum read of the latest state, `0` = any state, exact
 * with `resourceVersionMatch=Exact`, `NotOlderThan`, 410 Expired once compacted, 504 for a revision
 * the store has not reached), a watch from unset or `0` replaying the current objects as ADDED,
 * `allowWatchBookmarks`, `timeoutSeconds`, set-based label selectors and the field selectors of
 * pods, events and every kind (`metadata.namespace`), on lists and on watches.
 */
import { expect, it } from 'vitest'
import {
  BOOKMARK_INTERVAL_MS,
  type ContractFixture,
  caught,
  collectEvents,
  configMap,
  describeEvents,
  type Json,
  MERGE,
  names,
  type Obj,
  pod,
  TYPES,
} from './contract-fixture.js'

export function readCases(fx: ContractFixture): void {
  it('list resourceVersion: unset, 0, Exact, NotOlderThan, too large, 410 after compaction', async () => {
    await fx.ns('q-rv')
    const p = '/api/v1/namespaces/q-rv/configmaps'
    const a = await fx.call('POST', p, configMap('a', { v: '1' }))
    const rv1 = a.body['metadata'].resourceVersion as string
    await fx.call('PATCH', `${p}/a`, { data: { v: '2' } }, MERGE)
    await fx.call('POST', p, configMap('b'))
    // Unset: the latest state, and a list revision at least the last write's.
    const latest = await fx.call('GET', p)
    expect(names(latest.body)).toEqual(['a', 'b'])
    const latestRv = Number(latest.body['metadata'].resourceVersion)
    expect(latestRv).toBeGreaterThan(Number(rv1))
    // 0: any state; on one api-server over a quorum store it is the latest too.
    const any = await fx.call('GET', `${p}?resourceVersion=0`)
    expect(any.status).toBe(200)
    expect(names(any.body)).toEqual(['a', 'b'])
    // Exact: the state at that revision (before the patch and before b).
    const exact = await fx.call('GET', `${p}?resourceVersion=${rv1}&resourceVersionMatch=Exact`)
    expect(exact.status).toBe(200)
    expect(exact.body['metadata'].resourceVersion).toBe(rv1)
    expect(exact.body['items']).toHaveLength(1)
    expect(exact.body['items'][0]).toMatchObject({ metadata: { name: 'a' }, data: { v: '1' } })
    // NotOlderThan an old revision: the latest state.
    const not = await fx.call('GET', `${p}?resourceVersion=${rv1}&resourceVersionMatch=NotOlderThan`)
    expect(names(not.body)).toEqual(['a', 'b'])
    expect(Number(not.body['metadata'].resourceVersion)).toBeGreaterThanOrEqual(latestRv)
    // A revision the store has not reached: 504 Too large resource version.
    const future = latestRv + 1_000_000
    for (const match of ['Exact', 'NotOlderThan']) {
      const tooLarge = await fx.call('GET', `${p}?resourceVersion=${future}&resourceVersionMatch=${match}`)
      expect(tooLarge).toMatchObject({ status: 504, body: { reason: 'Timeout', code: 504 } })
      expect(tooLarge.body['message']).toMatch(/Too large resource version/)
    }
    // resourceVersionMatch without resourceVersion, and Exact with 0, are invalid.
    expect((await fx.call('GET', `${p}?resourceVersionMatch=Exact`)).status).toBe(422)
    expect((await fx.call('GET', `${p}?resourceVersion=0&resourceVersionMatch=Exact`)).status).toBe(422)
    // The same through the client.
    const cms = fx.resource(TYPES.configmaps).namespace('q-rv')
    const viaClient = await cms.list({ resourceVersion: rv1, resourceVersionMatch: 'Exact' })
    expect(viaClient.items.map((i) => i['data'])).toEqual([{ v: '1' }])
    expect((await cms.list({ resourceVersion: '0' })).items).toHaveLength(2)
    // A single GET with resourceVersion=0 and a not-older-than one.
    expect((await cms.get('a', { resourceVersion: '0' }))['data']).toEqual({ v: '2' })
    expect((await cms.get('a', { resourceVersion: rv1 }))['data']).toEqual({ v: '2' })
    expect(await caught(cms.get('a', { resourceVersion: String(future) }))).toMatchObject({ code: 504 })
    // After compaction the exact old revision is gone: 410 Expired.
    await fx.storage.compact(await fx.storage.currentRevision())
    const expired = await fx.call('GET', `${p}?resourceVersion=${rv1}&resourceVersionMatch=Exact`)
    expect(expired).toMatchObject({ status: 410, body: { kind: 'Status', reason: 'Expired', code: 410 } })
    expect(await caught(cms.list({ resourceVersion: rv1, resourceVersionMatch: 'Exact' }))).toMatchObject({
      code: 410,
      reason: 'Expired',
    })
    // NotOlderThan the compacted revision still works: it reads the latest state.
    expect(
      (await cms.list({ resourceVersion: rv1, resourceVersionMatch: 'NotOlderThan' })).items,
    ).toHaveLength(2)
  })

  it('a continue token from before a compaction is 410 Expired (HTTP and client)', async () => {
    await fx.ns('q-cont')
    const p = '/api/v1/namespaces/q-cont/configmaps'
    for (let i = 0; i < 5; i++) await fx.call('POST', p, configMap(`c${i}`))
    const first = await fx.call('GET', `${p}?limit=2`)
    const token = first.body['metadata'].continue as string
    expect(token).toEqual(expect.any(String))
    await fx.call('POST', p, configMap('c5'))
    await fx.storage.compact(await fx.storage.currentRevision())
    const expired = await fx.call('GET', `${p}?limit=2&continue=${token}`)
    expect(expired).toMatchObject({ status: 410, body: { kind: 'Status', reason: 'Expired', code: 410 } })
    expect(expired.body['message']).toMatch(/continue parameter is too old/)
    // A token with a resourceVersion is a 400.
    const both = await fx.call('GET', `${p}?limit=2&continue=${token}&resourceVersion=5`)
    expect(both.status).toBe(400)
    // Through the client: one page, then its token expires.
    const cms = fx.resource(TYPES.configmaps).namespace('q-cont')
    const page = await cms.list({ limit: 2, paging: 'single' })
    await fx.call('POST', p, configMap('c6'))
    await fx.storage.compact(await fx.storage.currentRevision())
    expect(
      await caught(cms.list({ limit: 2, continue: String(page.metadata.continue), paging: 'single' })),
    ).toMatchObject({ code: 410, reason: 'Expired' })
    // A fresh paged list (the client follows the tokens) sees everything.
    const all = await cms.list({ limit: 2 })
    expect(all.items.map((i) => i.metadata.name)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6'])
  })

  it('a watch from unset or 0 replays the current objects as ADDED, then follows changes', async () => {
    await fx.ns('q-replay')
    const p = '/api/v1/namespaces/q-replay/pods'
    await fx.call('POST', p, pod('a'))
    await fx.call('POST', p, pod('b'))
    for (const rv of ['', '&resourceVersion=0']) {
      const w = await fx.openWatch(`${p}?watch=true${rv}`)
      await w.waitFor((f) => f.length >= 2)
      expect(describeEvents(w.events()).sort()).toEqual(['ADDED a', 'ADDED b'])
      await fx.call('PATCH', `${p}/a`, { metadata: { labels: { rv: rv === '' ? 'unset' : 'zero' } } }, MERGE)
      await w.waitFor((f) => f.length >= 3)
      w.close()
      expect(describeEvents(w.events())[2]).toBe('MODIFIED a')
    }
    // Through the client: no resourceVersion given.
    const pods = fx.resource(TYPES.pods).namespace('q-replay')
    const stream = await pods.watch({ timeoutSeconds: 30, allowWatchBookmarks: false })
    const seen: string[] = []
    for await (const e of stream) {
      seen.push(`${e.type} ${e.type === 'ERROR' ? e.object.code : e.object.metadata.name}`)
      if (seen.length === 2) break
    }
    stream.close()
    expect(seen.sort()).toEqual(['ADDED a', 'ADDED b'])
  })

  it('allowWatchBookmarks sends BOOKMARKs carrying a resourceVersion (HTTP and client)', async () => {
    await fx.ns('q-bm')
    const p = '/api/v1/namespaces/q-bm/configmaps'
    const rv = (await fx.call('GET', p)).body['metadata'].resourceVersion as string
    const w = await fx.openWatch(`${p}?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`)
    const created = await fx.call('POST', p, configMap('x'))
    const createdRv = Number(created.body['metadata'].resourceVersion)
    await w.waitFor(
      (f) =>
        f.some((e) => e['type'] === 'BOOKMARK' && Number(e['object'].metadata.resourceVersion) >= createdRv),
      BOOKMARK_INTERVAL_MS * 25,
    )
    w.close()
    expect(describeEvents(w.frames)).toEqual(['ADDED x'])
    const bookmarks = w.frames.filter((e) => e['type'] === 'BOOKMARK')
    expect(bookmarks.length).toBeGreaterThanOrEqual(1)
    expect(bookmarks.at(-1)?.['object']).toMatchObject({
      kind: 'ConfigMap',
      apiVersion: 'v1',
      metadata: { resourceVersion: expect.stringMatching(/^\d+$/) },
    })
    expect(Number(bookmarks.at(-1)?.['object'].metadata.resourceVersion)).toBeGreaterThanOrEqual(createdRv)
    // Without allowWatchBookmarks: none.
    const quiet = await fx.openWatch(
      `${p}?watch=true&resourceVersion=${created.body['metadata'].resourceVersion}`,
    )
    await quiet.waitFor(() => false, BOOKMARK_INTERVAL_MS * 3)
    quiet.close()
    expect(quiet.frames).toEqual([])
    // Through the client (bookmarks are asked for by default).
    const stream = await fx
      .resource(TYPES.configmaps)
      .namespace('q-bm')
      .watch({ resourceVersion: String(createdRv), timeoutSeconds: 30 })
    let bookmark: Json | undefined
    for await (const e of stream) {
      if (e.type === 'BOOKMARK') {
        bookmark = e.object as Json
        break
      }
    }
    stream.close()
    expect(Number(bookmark?.['metadata'].resourceVersion)).toBeGreaterThanOrEqual(createdRv)
    expect(Number(stream.resourceVersion)).toBeGreaterThanOrEqual(createdRv)
  })

  it('timeoutSeconds ends a watch (HTTP and client)', async () => {
    await fx.ns('q-timeout')
    const p = '/api/v1/namespaces/q-timeout/pods'
    const started = Date.now()
    const w = await fx.openWatch(`${p}?watch=true&timeoutSeconds=1`)
    await Promise.race([w.ended, new Promise((r) => setTimeout(r, 10_000))])
    const tookMs = Date.now() - started
    expect(tookMs).toBeGreaterThanOrEqual(900)
    expect(tookMs).toBeLessThan(8_000)
    const t0 = Date.now()
    const stream = await fx.resource(TYPES.pods).namespace('q-timeout').watch({ timeoutSeconds: 1 })
    const got: string[] = []
    for await (const e of stream) got.push(e.type)
    expect(got.filter((t) => t !== 'BOOKMARK')).toEqual([])
    expect(Date.now() - t0).toBeLessThan(8_000)
  })

  it('set-based label selectors: in, notin, exists, !exists, !=, on lists and watches', async () => {
    await fx.ns('q-labels')
    const p = '/api/v1/namespaces/q-labels/configmaps'
    const objs: Array<[string, Record<string, string>]> = [
      ['a', { env: 'prod', tier: 'web' }],
      ['b', { env: 'dev', tier: 'db' }],
      ['c', { env: 'qa' }],
      ['d', {}],
    ]
    for (const [n, labels] of objs) await fx.call('POST', p, configMap(n, {}, { labels }))
    const sel = async (s: string) =>
      names((await fx.call('GET', `${p}?labelSelector=${encodeURIComponent(s)}`)).body)
    expect(await sel('env in (prod,dev)')).toEqual(['a', 'b'])
    expect(await sel('env notin (prod,dev)')).toEqual(['c', 'd'])
    expect(await sel('tier')).toEqual(['a', 'b'])
    expect(await sel('!tier')).toEqual(['c', 'd'])
    expect(await sel('env!=prod')).toEqual(['b', 'c', 'd'])
    expect(await sel('env==dev,tier=db')).toEqual(['b'])
    expect(await sel('env in (prod,qa),!tier')).toEqual(['c'])
    const bad = await fx.call('GET', `${p}?labelSelector=${encodeURIComponent('env in prod')}`)
    expect(bad).toMatchObject({ status: 400, body: { reason: 'BadRequest' } })
    const cms = fx.resource(TYPES.configmaps).namespace('q-labels')
    expect(
      (await cms.list({ labelSelector: 'env notin (qa),tier' })).items.map((i) => i.metadata.name),
    ).toEqual(['a', 'b'])
    // A watch with a selector: an object entering the selection is ADDED, one leaving it DELETED.
    const rv = (await fx.call('GET', p)).body['metadata'].resourceVersion as string
    const events = await fx.watchHttp(
      `${p}?watch=true&resourceVersion=${rv}&labelSelector=${encodeURIComponent('env in (prod)')}`,
      3,
      async () => {
        await fx.call('PATCH', `${p}/c`, { metadata: { labels: { env: 'prod' } } }, MERGE)
        await fx.call('PATCH', `${p}/c`, { data: { k: 'v' } }, MERGE)
        await fx.call('PATCH', `${p}/a`, { metadata: { labels: { env: 'dev' } } }, MERGE)
      },
    )
    expect(describeEvents(events)).toEqual(['ADDED c', 'MODIFIED c', 'DELETED a'])
  })

  it('field selectors: spec.nodeName, status.phase, involvedObject.*, metadata.namespace', async () => {
    await fx.ns('q-fields')
    await fx.ns('q-fields-2')
    const p = '/api/v1/namespaces/q-fields/pods'
    await fx.call('POST', p, pod('on-n1', {}, { nodeName: 'q-n1' }))
    await fx.call('POST', p, pod('on-n2', {}, { nodeName: 'q-n2' }))
    await fx.call('POST', p, pod('pending'))
    const running = await fx.call('GET', `${p}/on-n1`)
    const st = await fx.call('PUT', `${p}/on-n1/status`, {
      ...running.body,
      status: { ...running.body['status'], phase: 'Running' },
    })
    expect(st.body['status'].phase).toBe('Running')
    const fs = async (path: string, s: string) =>
      names((await fx.call('GET', `${path}?fieldSelector=${encodeURIComponent(s)}`)).body)
    expect(await fs(p, 'spec.nodeName=q-n1')).toEqual(['on-n1'])
    expect(await fs(p, 'spec.nodeName!=q-n1')).toEqual(['on-n2', 'pending'])
    expect(await fs(p, 'spec.nodeName=')).toEqual(['pending'])
    expect(await fs(p, 'status.phase=Running')).toEqual(['on-n1'])
    expect(await fs(p, 'status.phase=Pending,spec.nodeName=q-n2')).toEqual(['on-n2'])
    expect(await fs('/api/v1/pods', 'spec.nodeName=q-n2')).toEqual(['on-n2'])
    // Events: involvedObject.*.
    const ev = '/api/v1/namespaces/q-fields/events'
    const event = (name: string, kind: string, obj: string, reason: string): Json => ({
      metadata: { name },
      involvedObject: { kind, name: obj, namespace: 'q-fields', uid: `uid-${obj}` },
      reason,
      type: 'Normal',
    })
    await fx.call('POST', ev, event('e1', 'Pod', 'on-n1', 'Scheduled'))
    await fx.call('POST', ev, event('e2', 'Pod', 'on-n2', 'Pulled'))
    await fx.call('POST', ev, event('e3', 'Node', 'q-n1', 'Ready'))
    expect(await fs(ev, 'involvedObject.kind=Pod')).toEqual(['e1', 'e2'])
    expect(await fs(ev, 'involvedObject.name=on-n2')).toEqual(['e2'])
    expect(await fs(ev, 'involvedObject.kind=Pod,involvedObject.name=on-n1')).toEqual(['e1'])
    expect(await fs(ev, 'involvedObject.uid=uid-q-n1')).toEqual(['e3'])
    expect(await fs(ev, 'involvedObject.namespace=q-fields,reason=Pulled')).toEqual(['e2'])
    // metadata.namespace, across namespaces, for any kind.
    await fx.call('POST', '/api/v1/namespaces/q-fields-2/configmaps', configMap('other'))
    await fx.call('POST', '/api/v1/namespaces/q-fields/configmaps', configMap('mine'))
    expect(await fs('/api/v1/configmaps', 'metadata.namespace=q-fields-2')).toEqual(['other'])
    expect(await fs('/api/v1/configmaps', 'metadata.namespace=q-fields')).toEqual(['mine'])
    expect(await fs('/api/v1/configmaps', 'metadata.namespace!=q-fields,metadata.name=other')).toEqual([
      'other',
    ])
    // Through the client.
    const events = fx.resource(TYPES.events).namespace('q-fields')
    const byObj = await events.list({ fieldSelector: 'involvedObject.kind=Node' })
    expect(byObj.items.map((i) => i.metadata.name)).toEqual(['e3'])
    const pods = fx.resource(TYPES.pods)
    const onNode = await pods.list({ fieldSelector: 'spec.nodeName=q-n1,status.phase=Running' })
    expect(onNode.items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`)).toEqual(['q-fields/on-n1'])
    // A field-selected watch (the kubelet's: its node's pods): binding a pod makes it appear.
    await fx.call('POST', p, pod('late'))
    const rv = (await fx.call('GET', p)).body['metadata'].resourceVersion as string
    const stream = await pods.namespace('q-fields').watch({
      resourceVersion: rv,
      fieldSelector: 'spec.nodeName=q-n3',
      timeoutSeconds: 30,
    })
    const { seen, settled } = collectEvents(stream, 2)
    await fx.call('POST', `${p}/late/binding`, {
      metadata: { name: 'late' },
      target: { kind: 'Node', name: 'q-n3' },
    })
    await fx.call('PATCH', `${p}/late`, { metadata: { labels: { x: '1' } } }, MERGE)
    await settled()
    expect(seen).toEqual(['ADDED late', 'MODIFIED late'])
    const bad = await fx.call('GET', `${ev}?fieldSelector=involvedObject.bogus%3Dx`)
    expect(bad.status).toBe(400)
    const obj = (await events.get('e1')) as Obj
    expect(obj['involvedObject']).toMatchObject({ kind: 'Pod', name: 'on-n1' })
  })
}
