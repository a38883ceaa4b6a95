/**
 * Contract cases for object lifecycles (issue 4 section 3): server-owned metadata (uid,
 * creationTimestamp, generateName), defaulting as Kubernetes does it, the main resource ignoring
 * status and `/status` ignoring spec, finalizers blocking deletion, ownerReferences kept,
 * propagationPolicy, delete preconditions, the watch events of pod deletion (kube's store writes
 * the deletion fields before it removes a pod, so watchers see MODIFIED then DELETED), creates in a
 * Terminating namespace, and an Informer feeding a WorkQueue the way controllers use them.
 */
import { Informer, WorkQueue } from '@hakube/api'
import { expect, it } from 'vitest'
import {
  binding,
  type ContractFixture,
  caught,
  collectEvents,
  configMap,
  deployment,
  describeEvents,
  type Json,
  MERGE,
  names,
  type Obj,
  pod,
  STRATEGIC,
  TYPES,
  until,
} from './contract-fixture.js'

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/

export function lifecycleCases(fx: ContractFixture): void {
  it('metadata: generateName, uid, creationTimestamp; ownerReferences kept; uid stays on updates', async () => {
    await fx.ns('l-meta')
    const p = '/api/v1/namespaces/l-meta/configmaps'
    const a = await fx.call('POST', p, { metadata: { generateName: 'gen-' }, data: {} })
    const b = await fx.call('POST', p, { metadata: { generateName: 'gen-' }, data: {} })
    expect(a.status).toBe(201)
    expect(a.body['metadata'].name).toMatch(/^gen-[a-z0-9]{5}$/)
    expect(a.body['metadata'].generateName).toBe('gen-')
    expect(b.body['metadata'].name).not.toBe(a.body['metadata'].name)
    expect(a.body['metadata'].uid).not.toBe(b.body['metadata'].uid)
    expect(a.body['metadata'].creationTimestamp).toMatch(RFC3339)
    expect(Math.abs(Date.parse(a.body['metadata'].creationTimestamp) - Date.now())).toBeLessThan(60_000)
    // Client-sent uid and creationTimestamp are replaced on create and kept on update.
    const cms = fx.resource(TYPES.configmaps).namespace('l-meta')
    const made = await cms.create({
      metadata: { name: 'c', uid: 'mine', creationTimestamp: '2001-01-01T00:00:00Z' },
    } as Obj)
    expect(made.metadata['uid']).not.toBe('mine')
    expect(made.metadata['creationTimestamp']).not.toBe('2001-01-01T00:00:00Z')
    const upd = await cms.update({
      ...made,
      metadata: { ...made.metadata, creationTimestamp: '2001-01-01T00:00:00Z' },
      data: { x: 'y' },
    })
    expect(upd.metadata['uid']).toBe(made.metadata['uid'])
    expect(upd.metadata['creationTimestamp']).toBe(made.metadata['creationTimestamp'])
    const byGen = await cms.create({ metadata: { name: '', generateName: 'client-' } } as Obj)
    expect(byGen.metadata.name).toMatch(/^client-[a-z0-9]{5}$/)
    // ownerReferences are kept as given (for the garbage collector).
    const rs = await fx.call('POST', '/apis/apps/v1/namespaces/l-meta/replicasets', {
      metadata: { name: 'owner' },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x:1' }] } },
      },
    })
    const ref = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      name: 'owner',
      uid: rs.body['metadata'].uid,
      controller: true,
      blockOwnerDeletion: true,
    }
    const owned = await fx.call('POST', '/api/v1/namespaces/l-meta/pods', {
      ...pod('owned'),
      metadata: { name: 'owned', ownerReferences: [ref] },
    })
    expect(owned.body['metadata'].ownerReferences).toEqual([ref])
    const patched = await fx.call(
      'PATCH',
      '/api/v1/namespaces/l-meta/pods/owned',
      { metadata: { labels: { l: '1' } } },
      STRATEGIC,
    )
    expect(patched.body['metadata'].ownerReferences).toEqual([ref])
    const pods = fx.resource(TYPES.pods).namespace('l-meta')
    expect((await pods.get('owned')).metadata['ownerReferences']).toEqual([ref])
  })

  it('defaulting: pod restartPolicy, dnsPolicy, grace, scheduler, tolerations, imagePullPolicy; deployment', async () => {
    await fx.ns('l-def')
    const c = await fx.call(
      'POST',
      '/api/v1/namespaces/l-def/pods',
      pod(
        'p',
        {},
        {
          containers: [
            { name: 'tagged', image: 'nginx:1.27' },
            { name: 'latest', image: 'nginx:latest' },
            { name: 'bare', image: 'nginx' },
            { name: 'mine', image: 'nginx:1', imagePullPolicy: 'Never' },
          ],
        },
      ),
    )
    expect(c.status).toBe(201)
    const spec = c.body['spec'] as Json
    expect(spec).toMatchObject({
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      terminationGracePeriodSeconds: 30,
      schedulerName: 'default-scheduler',
    })
    expect(spec['containers'].map((x: Json) => x['imagePullPolicy'])).toEqual([
      'IfNotPresent',
      'Always',
      'Always',
      'Never',
    ])
    expect(spec['tolerations']).toEqual(
      expect.arrayContaining([
        {
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
        {
          key: 'node.kubernetes.io/unreachable',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
      ]),
    )
    expect(c.body['status']).toMatchObject({ phase: 'Pending' })
    // Given values are kept.
    const pods = fx.resource(TYPES.pods).namespace('l-def')
    const own = await pods.create(
      pod(
        'own',
        {},
        {
          restartPolicy: 'Never',
          dnsPolicy: 'Default',
          terminationGracePeriodSeconds: 5,
          schedulerName: 'mine',
        },
      ) as Obj,
    )
    expect(own.spec).toMatchObject({
      restartPolicy: 'Never',
      dnsPolicy: 'Default',
      terminationGracePeriodSeconds: 5,
      schedulerName: 'mine',
    })
    // Deployments.
    const d = deployment('d')
    delete d['spec'].replicas
    const dep = await fx.call('POST', '/apis/apps/v1/namespaces/l-def/deployments', d)
    expect(dep.body['spec']).toMatchObject({
      replicas: 1,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    })
    expect(dep.body['spec'].template.spec).toMatchObject({
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
    })
    const viaClient = await fx.resource(TYPES.deployments).namespace('l-def').get('d')
    expect(viaClient.spec?.['strategy'].rollingUpdate).toEqual({ maxUnavailable: '25%', maxSurge: '25%' })
  })

  it('pods: the main resource ignores status, /status ignores spec (HTTP and client)', async () => {
    await fx.ns('l-split')
    const p = '/api/v1/namespaces/l-split/pods'
    const c = await fx.call('POST', p, { ...pod('p'), status: { phase: 'Running' } })
    expect(c.body['status'].phase).toBe('Pending')
    const u = await fx.call('PUT', `${p}/p`, {
      ...c.body,
      metadata: { ...c.body['metadata'], labels: { a: '1' } },
      status: { phase: 'Failed' },
    })
    expect(u.body['metadata'].labels).toEqual({ a: '1' })
    expect(u.body['status'].phase).toBe('Pending')
    const m = await fx.call('PATCH', `${p}/p`, { status: { phase: 'Succeeded' } }, MERGE)
    expect(m.body['status'].phase).toBe('Pending')
    const s = await fx.call(
      'PATCH',
      `${p}/p/status`,
      { spec: { activeDeadlineSeconds: 5 }, status: { phase: 'Running', podIP: '10.0.0.7' } },
      MERGE,
    )
    expect(s.status).toBe(200)
    expect(s.body['status']).toMatchObject({ phase: 'Running', podIP: '10.0.0.7' })
    expect(s.body['spec'].activeDeadlineSeconds).toBeUndefined()
    const pods = fx.resource(TYPES.pods).namespace('l-split')
    const cur = await pods.get('p')
    const viaClient = await pods.updateStatus({
      ...cur,
      spec: { ...cur.spec, containers: [{ name: 'c', image: 'changed:1' }] },
      status: { ...cur.status, phase: 'Succeeded' },
    })
    expect(viaClient.status?.['phase']).toBe('Succeeded')
    expect(viaClient.spec?.['containers'][0].image).toBe('nginx:1.27')
    const patched = await pods.patch('p', { status: { podIP: '10.0.0.8' } }, 'merge', {
      subresource: 'status',
    })
    expect(patched.status?.['podIP']).toBe('10.0.0.8')
    expect((await pods.get('p')).status?.['phase']).toBe('Succeeded')
  })

  it('finalizers block deletion until removed by an update; watchers then see DELETED', async () => {
    await fx.ns('l-fin')
    const p = '/api/v1/namespaces/l-fin/configmaps'
    const c = await fx.call('POST', p, configMap('held', {}, { finalizers: ['example.com/hold'] }))
    const rv = c.body['metadata'].resourceVersion as string
    const w = await fx.openWatch(`${p}?watch=true&resourceVersion=${rv}`)
    const del = await fx.call('DELETE', `${p}/held`)
    expect(del.status).toBe(200)
    expect(del.body['metadata'].deletionTimestamp).toMatch(RFC3339)
    expect(del.body['metadata'].deletionGracePeriodSeconds).toBe(0)
    expect(del.body['metadata'].finalizers).toEqual(['example.com/hold'])
    const still = await fx.call('GET', `${p}/held`)
    expect(still.status).toBe(200)
    expect(still.body['metadata'].deletionTimestamp).toBe(del.body['metadata'].deletionTimestamp)
    // A second delete changes nothing.
    const again = await fx.call('DELETE', `${p}/held`)
    expect(again.status).toBe(200)
    expect(again.body['metadata'].resourceVersion).toBe(del.body['metadata'].resourceVersion)
    // Updates other than removing the finalizer keep it alive; the deletion fields cannot be undone.
    const upd = await fx.call('PUT', `${p}/held`, {
      ...still.body,
      metadata: { ...still.body['metadata'], deletionTimestamp: undefined, labels: { a: 'b' } },
    })
    expect(upd.status).toBe(200)
    expect(upd.body['metadata'].deletionTimestamp).toBe(del.body['metadata'].deletionTimestamp)
    const rm = await fx.call('PATCH', `${p}/held`, { metadata: { finalizers: null } }, MERGE)
    expect(rm.status).toBe(200)
    expect((await fx.call('GET', `${p}/held`)).status).toBe(404)
    await w.waitFor((f) => f.some((e) => e['type'] === 'DELETED'))
    w.close()
    expect(describeEvents(w.events())).toEqual(['MODIFIED held', 'MODIFIED held', 'DELETED held'])
    expect(w.events()[0]?.['object'].metadata.deletionTimestamp).toMatch(RFC3339)

    // Through the client, with an informer watching.
    const cms = fx.resource(TYPES.configmaps).namespace('l-fin')
    await cms.create(configMap('held2', {}, { finalizers: ['example.com/a', 'example.com/b'] }) as Obj)
    const informer = new Informer<Obj>(fx.resource(TYPES.configmaps).namespace('l-fin'))
    const deleted: string[] = []
    informer.addEventHandler({
      onDelete: (o) => deleted.push('metadata' in o ? o.metadata.name : o.key),
    })
    informer.start()
    try {
      expect(await informer.waitForSync({ timeoutMs: 20_000 })).toBe(true)
      const marked = (await cms.delete('held2')) as Obj
      expect(marked.metadata['deletionTimestamp']).toMatch(RFC3339)
      await until(() => informer.get('l-fin/held2')?.metadata['deletionTimestamp'] !== undefined)
      expect(informer.get('l-fin/held2')?.metadata['deletionTimestamp']).toBeDefined()
      const cur = await cms.get('held2')
      await cms.update({ ...cur, metadata: { ...cur.metadata, finalizers: ['example.com/b'] } })
      expect((await cms.get('held2')).metadata['finalizers']).toEqual(['example.com/b'])
      await cms.patch('held2', [{ op: 'remove', path: '/metadata/finalizers' }], 'json')
      expect(await caught(cms.get('held2'))).toMatchObject({ code: 404 })
      await until(() => deleted.length > 0)
      expect(deleted).toEqual(['held2'])
    } finally {
      await informer.stop()
    }
  })

  it('propagationPolicy Orphan/Background/Foreground is accepted; Foreground waits on its finalizer', async () => {
    await fx.ns('l-prop')
    const p = '/api/v1/namespaces/l-prop/configmaps'
    for (const n of ['orphan', 'background', 'foreground', 'query']) await fx.call('POST', p, configMap(n))
    // Orphan: the `orphan` finalizer holds the object for the garbage collector (none runs here).
    const orphan = await fx.call('DELETE', `${p}/orphan`, { propagationPolicy: 'Orphan' })
    expect(orphan.status).toBe(200)
    expect(orphan.body['metadata'].finalizers).toEqual(['orphan'])
    expect((await fx.call('GET', `${p}/orphan`)).status).toBe(200)
    await fx.call('PATCH', `${p}/orphan`, { metadata: { finalizers: null } }, MERGE)
    expect((await fx.call('GET', `${p}/orphan`)).status).toBe(404)
    const background = await fx.call('DELETE', `${p}/background`, {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      propagationPolicy: 'Background',
    })
    expect(background.status).toBe(200)
    expect((await fx.call('GET', `${p}/background`)).status).toBe(404)
    const q = await fx.call('DELETE', `${p}/query?propagationPolicy=Background`)
    expect(q.status).toBe(200)
    expect((await fx.call('GET', `${p}/query`)).status).toBe(404)
    const fg = await fx.call('DELETE', `${p}/foreground`, { propagationPolicy: 'Foreground' })
    expect(fg.status).toBe(200)
    expect(fg.body['metadata'].finalizers).toEqual(['foregroundDeletion'])
    expect(fg.body['metadata'].deletionTimestamp).toMatch(RFC3339)
    expect((await fx.call('GET', `${p}/foreground`)).status).toBe(200)
    // The garbage collector's part: removing the finalizer lets it go.
    await fx.call('PATCH', `${p}/foreground`, { metadata: { finalizers: null } }, MERGE)
    expect((await fx.call('GET', `${p}/foreground`)).status).toBe(404)
    const bogus = await fx.call('DELETE', `${p}/x`, { propagationPolicy: 'Sometimes' })
    expect(bogus).toMatchObject({ status: 422, body: { reason: 'Invalid' } })
    // Through the client: a Foreground delete of a deployment and a Background one of a pod.
    const deps = fx.resource(TYPES.deployments).namespace('l-prop')
    await deps.create(deployment('d') as Obj)
    const fgd = (await deps.delete('d', { propagationPolicy: 'Foreground' })) as Obj
    expect(fgd.metadata['finalizers']).toEqual(['foregroundDeletion'])
    await deps.patch('d', { metadata: { finalizers: null } }, 'merge')
    expect(await caught(deps.get('d'))).toMatchObject({ code: 404 })
    const pods = fx.resource(TYPES.pods).namespace('l-prop')
    await pods.create(pod('p') as Obj)
    await pods.delete('p', { propagationPolicy: 'Background' })
    expect(await caught(pods.get('p'))).toMatchObject({ code: 404 })
  })

  it('delete preconditions: a wrong uid or resourceVersion is 409, matching ones delete', async () => {
    await fx.ns('l-pre')
    const p = '/api/v1/namespaces/l-pre/configmaps'
    const c = await fx.call('POST', p, configMap('x'))
    const { uid, resourceVersion } = c.body['metadata'] as { uid: string; resourceVersion: string }
    const wrongUid = await fx.call('DELETE', `${p}/x`, { preconditions: { uid: 'not-it' } })
    expect(wrongUid).toMatchObject({ status: 409, body: { reason: 'Conflict', code: 409 } })
    expect(wrongUid.body['message']).toMatch(/the UID in the precondition \(not-it\) does not match/)
    await fx.call('PATCH', `${p}/x`, { data: { a: 'b' } }, MERGE)
    const staleRv = await fx.call('DELETE', `${p}/x`, { preconditions: { resourceVersion } })
    expect(staleRv).toMatchObject({ status: 409, body: { reason: 'Conflict' } })
    expect(staleRv.body['message']).toMatch(/the ResourceVersion in the precondition/)
    expect((await fx.call('GET', `${p}/x`)).status).toBe(200)
    const ok = await fx.call('DELETE', `${p}/x`, { preconditions: { uid } })
    expect(ok.status).toBe(200)
    expect((await fx.call('GET', `${p}/x`)).status).toBe(404)
    // Through the client.
    const cms = fx.resource(TYPES.configmaps).namespace('l-pre')
    const y = await cms.create(configMap('y') as Obj)
    expect(await caught(cms.delete('y', { preconditions: { uid: 'nope' } }))).toMatchObject({ code: 409 })
    expect(
      await caught(
        cms.delete('y', {
          preconditions: { resourceVersion: String(Number(y.metadata.resourceVersion) - 1) },
        }),
      ),
    ).toMatchObject({ code: 409, reason: 'Conflict' })
    await cms.delete('y', {
      preconditions: { uid: String(y.metadata['uid']), resourceVersion: y.metadata.resourceVersion },
    })
    expect(await caught(cms.get('y'))).toMatchObject({ code: 404 })
    // Recreated under the same name: the old uid no longer matches.
    await cms.create(configMap('y') as Obj)
    expect(
      await caught(cms.delete('y', { preconditions: { uid: String(y.metadata['uid']) } })),
    ).toMatchObject({ code: 409 })
  })

  it('pod deletion events: MODIFIED (deletionTimestamp) then DELETED; unbound pods go at once', async () => {
    await fx.ns('l-poddel')
    const p = '/api/v1/namespaces/l-poddel/pods'
    await fx.call('POST', p, pod('unbound'))
    await fx.call('POST', p, pod('bound', {}, { terminationGracePeriodSeconds: 30 }))
    await fx.call('POST', `${p}/bound/binding`, binding('bound', 'l-node'))
    const rv = (await fx.call('GET', p)).body['metadata'].resourceVersion as string
    const w = await fx.openWatch(`${p}?watch=true&resourceVersion=${rv}`)
    // An unbound pod: removed by the DELETE itself.
    const gone = await fx.call('DELETE', `${p}/unbound`)
    expect(gone.status).toBe(200)
    expect(gone.body['metadata'].deletionGracePeriodSeconds).toBe(0)
    expect((await fx.call('GET', `${p}/unbound`)).status).toBe(404)
    // A bound pod: graceful first, then the node's DELETE with grace 0.
    const graceful = await fx.call('DELETE', `${p}/bound`)
    expect(graceful.body['metadata'].deletionGracePeriodSeconds).toBe(30)
    expect((await fx.call('GET', `${p}/bound`)).status).toBe(200)
    const shorter = await fx.call('DELETE', `${p}/bound`, { gracePeriodSeconds: 10 })
    expect(shorter.body['metadata'].deletionGracePeriodSeconds).toBe(10)
    expect(Date.parse(shorter.body['metadata'].deletionTimestamp)).toBeLessThan(
      Date.parse(graceful.body['metadata'].deletionTimestamp),
    )
    const longer = await fx.call('DELETE', `${p}/bound`, { gracePeriodSeconds: 60 })
    expect(longer.body['metadata'].deletionGracePeriodSeconds).toBe(10)
    const fin = await fx.call('DELETE', `${p}/bound?gracePeriodSeconds=0`)
    expect(fin.status).toBe(200)
    expect((await fx.call('GET', `${p}/bound`)).status).toBe(404)
    await w.waitFor((f) => f.filter((e) => e['type'] === 'DELETED').length >= 2)
    w.close()
    expect(describeEvents(w.events())).toEqual([
      'MODIFIED unbound',
      'DELETED unbound',
      'MODIFIED bound',
      'MODIFIED bound',
      'MODIFIED bound',
      'DELETED bound',
    ])
    const evs = w.events()
    expect(evs[0]?.['object'].metadata).toMatchObject({ deletionGracePeriodSeconds: 0 })
    expect(evs[1]?.['object'].metadata).toMatchObject({ deletionGracePeriodSeconds: 0 })
    expect(evs[4]?.['object'].metadata).toMatchObject({ deletionGracePeriodSeconds: 0 })
    expect(evs[5]?.['object'].metadata.deletionTimestamp).toMatch(RFC3339)
    // Through the client: delete with grace 0 via DeleteOptions.
    const pods = fx.resource(TYPES.pods).namespace('l-poddel')
    await pods.create(pod('c') as Obj)
    await pods.postSubresource('c', 'binding', binding('c', 'l-node'))
    const stream = await pods.watch({
      resourceVersion: (await pods.get('c')).metadata.resourceVersion,
      timeoutSeconds: 30,
    })
    const { seen, settled } = collectEvents(stream, 2)
    await pods.delete('c', { gracePeriodSeconds: 0 })
    await settled()
    expect(seen).toEqual(['MODIFIED c', 'DELETED c'])
  })

  it('a Terminating namespace refuses new content with 403 Forbidden (HTTP and client)', async () => {
    await fx.ns('l-term')
    await fx.call('POST', '/api/v1/namespaces/l-term/configmaps', configMap('before'))
    const del = await fx.call('DELETE', '/api/v1/namespaces/l-term')
    expect(del.body).toMatchObject({ status: { phase: 'Terminating' } })
    expect(del.body['metadata'].deletionTimestamp).toMatch(RFC3339)
    const msg = 'unable to create new content in namespace l-term because it is being terminated'
    const refused = await fx.call('POST', '/api/v1/namespaces/l-term/configmaps', configMap('after'))
    expect(refused).toMatchObject({
      status: 403,
      body: { kind: 'Status', reason: 'Forbidden', code: 403 },
    })
    expect(refused.body['message']).toContain(msg)
    const cms = fx.resource(TYPES.configmaps).namespace('l-term')
    const viaClient = await caught(cms.create(configMap('after2') as Obj))
    expect(viaClient).toMatchObject({ code: 403, reason: 'Forbidden' })
    expect(viaClient?.message).toContain(msg)
    // Existing content can still be read, updated and deleted (the namespace controller does so).
    const before = await cms.get('before')
    await cms.update({ ...before, data: { k: 'v' } })
    await cms.delete('before')
    expect(names((await fx.call('GET', '/api/v1/namespaces/l-term/configmaps')).body)).toEqual([])
    // The namespace itself stays, Terminating, until the controller finalizes it.
    const ns = await fx.resource(TYPES.namespaces).get('l-term')
    expect(ns.status?.['phase']).toBe('Terminating')
  })

  it('an informer feeding a WorkQueue: keys are deduplicated while waiting', async () => {
    await fx.ns('l-queue')
    const cms = fx.resource(TYPES.configmaps).namespace('l-queue')
    const queue = new WorkQueue<string>()
    const informer = new Informer<Obj>(fx.resource(TYPES.configmaps).namespace('l-queue'))
    const key = (o: Obj | { key: string }) =>
      'metadata' in o ? `${o.metadata.namespace}/${o.metadata.name}` : o.key
    let events = 0
    informer.addEventHandler({
      onAdd: (o) => {
        events++
        queue.add(key(o))
      },
      onUpdate: (_o, n) => {
        events++
        queue.add(key(n))
      },
      onDelete: (o) => {
        events++
        queue.add(key(o))
      },
    })
    informer.start()
    try {
      expect(await informer.waitForSync({ timeoutMs: 20_000 })).toBe(true)
      await cms.create(configMap('a') as Obj)
      for (let i = 0; i < 4; i++) await cms.patch('a', { data: { i: String(i) } }, 'merge')
      await cms.create(configMap('b') as Obj)
      await until(() => events >= 6)
      expect(events).toBe(6)
      expect(queue.len()).toBe(2)
      const first = await queue.get()
      expect(first).toBe('l-queue/a')
      // The reconcile reads the informer's cache: the last state.
      expect(informer.get('l-queue/a')?.['data']).toEqual({ i: '3' })
      // Added again while processing: comes back once after done().
      await cms.patch('a', { data: { i: 'x' } }, 'merge')
      await until(() => events >= 7)
      expect(queue.len()).toBe(1)
      queue.done('l-queue/a')
      expect(queue.len()).toBe(2)
      expect(await queue.get()).toBe('l-queue/b')
      expect(await queue.get()).toBe('l-queue/a')
    } finally {
      queue.shutDown()
      await informer.stop()
    }
  })
}
