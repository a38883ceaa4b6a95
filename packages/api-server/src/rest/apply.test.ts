/**
 * Goal: server-side apply (PATCH `application/apply-patch+yaml`) creates a missing object, merges into
 * an existing one, records `metadata.managedFields`, answers conflicts between managers with kube's
 * 409 and lets `force=true` take fields over; the real `kubectl apply --server-side` works twice.
 * Method: a real ApiServer on 127.0.0.1 (port 0, memory storage) driven with undici, then kubectl from
 * PATH (when present) with its own --cache-dir.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { call, type Json, startTestServer, stopTestServers } from '../testing/harness.js'
import { Kubectl, removeKubectlHomes } from '../testing/kubectl.js'
import { LAST_APPLIED } from './apply.js'
import { fieldSetOf, fromFieldsV1, toFieldsV1 } from './field-set.js'
import { schemaInfoFromTable } from './strategic-merge.js'

const tempDirs: string[] = []
afterEach(async () => {
  await stopTestServers()
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
afterAll(removeKubectlHomes)

const APPLY = 'application/apply-patch+yaml'

const deployment = (replicas: number, containers: Json[] = [{ name: 'api', image: 'nginx:1' }]) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { app: 'web' } },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers } },
  },
})

async function start() {
  const { port, base } = await startTestServer({ discovery: true, namespaces: ['default'] })
  return { port, base, url: `${base}/apis/apps/v1/namespaces/default/deployments/web` }
}

describe('field sets', () => {
  it('encodes fields, keyed list items and primitive sets as FieldsV1 and back', () => {
    const info = schemaInfoFromTable({
      'spec.containers': { patchStrategy: 'merge', patchMergeKey: 'name' },
      'metadata.finalizers': { patchStrategy: 'merge' },
    })
    const set = fieldSetOf(
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'x', labels: { a: 'b' }, finalizers: ['f1'] },
        spec: { containers: [{ name: 'c', image: 'i', args: ['x'] }] },
      },
      info,
    )
    const fields = toFieldsV1(set)
    expect(fields).toEqual({
      'f:metadata': { 'f:labels': { 'f:a': {} }, 'f:finalizers': { 'v:"f1"': {} } },
      'f:spec': {
        'f:containers': { 'k:{"name":"c"}': { '.': {}, 'f:name': {}, 'f:image': {}, 'f:args': {} } },
      },
    })
    expect(new Set(fromFieldsV1(fields).map((p) => JSON.stringify(p)))).toEqual(
      new Set(set.map((p) => JSON.stringify(p))),
    )
  })
})

describe('server-side apply over HTTP', () => {
  it('requires fieldManager, and force only on apply', async () => {
    const { url } = await start()
    const r = await call('PATCH', url, deployment(1), APPLY)
    expect(r.status).toBe(422)
    expect(r.body).toMatchObject({
      reason: 'Invalid',
      message:
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      details: {
        group: 'meta.k8s.io',
        kind: 'PatchOptions',
        causes: [{ reason: 'FieldValueRequired', field: 'fieldManager' }],
      },
    })
    const f = await call('PATCH', `${url}?force=true`, {}, 'application/merge-patch+json')
    expect(f.status).toBe(422)
    expect(f.body['message']).toBe(
      'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
    )
  })

  it('creates with YAML, re-applies a change, removes what the manager stopped applying', async () => {
    const { url } = await start()
    const yaml = [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: web',
      '  labels: {app: web, tier: fe}',
      'spec:',
      '  replicas: 2',
      '  selector: {matchLabels: {app: web}}',
      '  template:',
      '    metadata: {labels: {app: web}}',
      '    spec:',
      '      containers:',
      '      - {name: api, image: "nginx:1"}',
      '',
    ].join('\n')
    const created = await call('PATCH', `${url}?fieldManager=alice`, yaml, APPLY)
    expect(created.status).toBe(201)
    expect(created.body['spec'].replicas).toBe(2)
    expect(created.body['metadata'].generation).toBe(1)
    expect(created.body['spec'].strategy).toBeDefined() // defaults applied
    const [entry] = created.body['metadata'].managedFields
    expect(entry).toMatchObject({
      manager: 'alice',
      operation: 'Apply',
      apiVersion: 'apps/v1',
      fieldsType: 'FieldsV1',
    })
    expect(typeof entry.time).toBe('string')
    expect(entry.fieldsV1['f:spec']['f:replicas']).toEqual({})
    expect(entry.fieldsV1['f:metadata']).toEqual({ 'f:labels': { 'f:app': {}, 'f:tier': {} } })
    expect(entry.fieldsV1['f:spec']['f:template']['f:spec']['f:containers']).toEqual({
      'k:{"name":"api"}': { '.': {}, 'f:name': {}, 'f:image': {} },
    })

    // The same configuration again writes nothing.
    const again = await call('PATCH', `${url}?fieldManager=alice`, yaml, APPLY)
    expect(again.status).toBe(200)
    expect(again.body['metadata'].resourceVersion).toBe(created.body['metadata'].resourceVersion)

    // JSON is YAML too: change replicas, drop the tier label, add a container.
    const changed = await call(
      'PATCH',
      `${url}?fieldManager=alice`,
      deployment(3, [
        { name: 'api', image: 'nginx:2' },
        { name: 'log', image: 'fluentd' },
      ]),
      APPLY,
    )
    expect(changed.status).toBe(200)
    expect(changed.body['spec'].replicas).toBe(3)
    expect(changed.body['metadata'].labels).toEqual({ app: 'web' })
    expect(changed.body['metadata'].generation).toBe(2)
    expect(changed.body['spec'].template.spec.containers.map((c: Json) => [c['name'], c['image']])).toEqual([
      ['api', 'nginx:2'],
      ['log', 'fluentd'],
    ])

    // Dropping a container from the configuration removes it.
    const dropped = await call('PATCH', `${url}?fieldManager=alice`, deployment(3), APPLY)
    expect(dropped.body['spec'].template.spec.containers.map((c: Json) => c['name'])).toEqual(['api'])
    expect(dropped.body['spec'].template.spec.containers[0].image).toBe('nginx:1')
  })

  it('a conflict between two managers is 409 until forced; equal values are shared', async () => {
    const { url } = await start()
    expect((await call('PATCH', `${url}?fieldManager=alice`, deployment(2), APPLY)).status).toBe(201)
    // bob applies the same replicas: shared, no conflict.
    const shared = await call(
      'PATCH',
      `${url}?fieldManager=bob`,
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 2 } },
      APPLY,
    )
    expect(shared.status).toBe(200)
    expect(shared.body['metadata'].managedFields.map((e: Json) => e['manager'])).toEqual(['alice', 'bob'])

    const bobScales = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: { replicas: 5 },
    }
    const conflict = await call('PATCH', `${url}?fieldManager=bob&force=false`, bobScales, APPLY)
    expect(conflict.status).toBe(409)
    expect(conflict.body).toMatchObject({
      kind: 'Status',
      reason: 'Conflict',
      code: 409,
      message: 'Apply failed with 1 conflict: conflict with "alice": .spec.replicas',
      details: {
        causes: [
          { reason: 'FieldManagerConflict', message: 'conflict with "alice"', field: '.spec.replicas' },
        ],
      },
    })
    expect((await call('GET', url)).body['spec'].replicas).toBe(2)

    const forced = await call('PATCH', `${url}?fieldManager=bob&force=true`, bobScales, APPLY)
    expect(forced.status).toBe(200)
    expect(forced.body['spec'].replicas).toBe(5)
    const byManager = Object.fromEntries(
      forced.body['metadata'].managedFields.map((e: Json) => [e['manager'], e['fieldsV1']]),
    )
    expect(byManager['bob']).toEqual({ 'f:spec': { 'f:replicas': {} } })
    expect(byManager['alice']['f:spec']['f:replicas']).toBeUndefined()
    expect(byManager['alice']['f:spec']['f:selector']).toBeDefined()

    // Now alice conflicts with bob.
    const back = await call('PATCH', `${url}?fieldManager=alice`, deployment(2), APPLY)
    expect(back.status).toBe(409)
    expect(back.body['message']).toBe('Apply failed with 1 conflict: conflict with "bob": .spec.replicas')
    // A merge patch keeps the apply managers and adds its writer as an Update manager of what it set.
    const labelled = await call(
      'PATCH',
      `${url}?fieldManager=carol`,
      { metadata: { labels: { x: 'y' } }, spec: { replicas: 6 } },
      'application/merge-patch+json',
    )
    const entries = labelled.body['metadata'].managedFields as Json[]
    expect(entries.map((e) => `${e['manager']}/${e['operation']}`)).toEqual(['alice/Apply', 'carol/Update'])
    expect(entries[1]).toMatchObject({
      apiVersion: 'apps/v1',
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:metadata': { 'f:labels': { 'f:x': {} } }, 'f:spec': { 'f:replicas': {} } },
    })
    // carol took .spec.replicas from bob, who owned nothing else; an Update manager conflicts too.
    const bobAgain = await call('PATCH', `${url}?fieldManager=bob`, bobScales, APPLY)
    expect(bobAgain.status).toBe(409)
    expect(bobAgain.body['message']).toBe(
      'Apply failed with 1 conflict: conflict with "carol" using apps/v1: .spec.replicas',
    )
  })

  it('kubectl takes over from client-side apply where the live values are the last-applied ones', async () => {
    const { base, url } = await start()
    const manifest = deployment(2)
    const last = `${JSON.stringify(manifest)}\n`
    const withLast = {
      ...manifest,
      metadata: { ...manifest.metadata, annotations: { [LAST_APPLIED]: last } },
    }
    const created = await call(
      'POST',
      `${base}/apis/apps/v1/namespaces/default/deployments?fieldManager=kubectl-client-side-apply`,
      withLast,
    )
    expect(created.status).toBe(201)
    // Another manager conflicts with the client-side apply manager (an Update manager).
    const alice = await call('PATCH', `${url}?fieldManager=alice`, deployment(3), APPLY)
    expect(alice.status).toBe(409)
    expect(alice.body['message']).toBe(
      'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas',
    )
    // kubectl does not: replicas is still what was last applied client-side.
    const upgraded = await call('PATCH', `${url}?fieldManager=kubectl`, deployment(3), APPLY)
    expect(upgraded.status).toBe(200)
    expect(upgraded.body['spec'].replicas).toBe(3)
    expect(JSON.parse(upgraded.body['metadata'].annotations[LAST_APPLIED])).toEqual(deployment(3))
    // Once the live value differs from the last-applied one, kubectl conflicts too.
    const scaled = await call('PATCH', url, { spec: { replicas: 5 } }, 'application/merge-patch+json')
    expect(scaled.status).toBe(200)
    const again = await call('PATCH', `${url}?fieldManager=kubectl`, deployment(4), APPLY)
    expect(again.status).toBe(409)
  })

  it('rejects a name that does not match the URL and apply on /status', async () => {
    const { url } = await start()
    const other = { ...deployment(1), metadata: { name: 'other' } }
    expect((await call('PATCH', `${url}?fieldManager=a`, other, APPLY)).status).toBe(400)
    expect((await call('PATCH', `${url}/status?fieldManager=a`, deployment(1), APPLY)).status).toBe(415)
  })
})

/** kubectl against the server with its own HOME, --cache-dir and an empty kubeconfig. */
function kubectl(port: number, args: string[]): Promise<string> {
  return new Kubectl(`http://127.0.0.1:${port}`).ok(args)
}

describe('the real kubectl apply --server-side', () => {
  it('creates, then applies a change', async () => {
    const { port, url } = await start()
    const dir = mkdtempSync(join(tmpdir(), 'hakube-ssa-'))
    tempDirs.push(dir)
    const file = join(dir, 'deploy.yaml')
    writeFileSync(file, JSON.stringify({ ...deployment(2), metadata: { name: 'web', namespace: 'default' } }))
    const args = ['apply', '--server-side', '--validate=false', '-f', file]
    expect((await kubectl(port, args)).trim()).toBe('deployment.apps/web serverside-applied')
    writeFileSync(file, JSON.stringify({ ...deployment(4), metadata: { name: 'web', namespace: 'default' } }))
    expect((await kubectl(port, args)).trim()).toBe('deployment.apps/web serverside-applied')
    const stored = (await call('GET', url)).body
    expect(stored['spec'].replicas).toBe(4)
    expect(stored['metadata'].managedFields).toMatchObject([{ manager: 'kubectl', operation: 'Apply' }])
  }, 60_000)
})
