import { describe, expect, it } from 'vitest'
import type { ManagedFieldsEntry } from './field-set.js'
import { managerOf, recordUpdate, type UpdateOwnership } from './managed-fields.js'
import type { Obj } from './objects.js'
import { schemaInfoFromTable } from './strategic-merge.js'

const schema = schemaInfoFromTable({ 'spec.containers': { patchStrategy: 'merge', patchMergeKey: 'name' } })
const by = (manager: string, subresource = ''): UpdateOwnership => ({
  manager,
  apiVersion: 'v1',
  subresource,
  schema,
})

const pod = (image: string, labels: Record<string, string> = { app: 'a' }): Obj => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'default', uid: 'u', resourceVersion: '5', labels },
  spec: { containers: [{ name: 'c', image }], restartPolicy: 'Always' },
  status: { phase: 'Pending' },
})

const entries = (o: Obj) => (o.metadata as { managedFields?: ManagedFieldsEntry[] }).managedFields
const fieldsOf = (o: Obj, manager: string) => entries(o)?.find((e) => e.manager === manager)?.fieldsV1

describe('managerOf', () => {
  it('is fieldManager, else the User-Agent up to its first slash', () => {
    expect(managerOf('kubectl-create', 'kubectl/v1.32.5 (linux/amd64)')).toBe('kubectl-create')
    expect(managerOf(undefined, 'kubectl/v1.32.5 (linux/amd64) kubernetes/abc')).toBe('kubectl')
    expect(managerOf('', 'curl/8.5.0')).toBe('curl')
    expect(managerOf(undefined, undefined)).toBe('')
  })
})

describe('recordUpdate', () => {
  it('a create owns every field but status and the server-set metadata', () => {
    const created = pod('nginx')
    recordUpdate(undefined, created, by('kubectl-create'))
    expect(entries(created)).toEqual([
      {
        manager: 'kubectl-create',
        operation: 'Update',
        apiVersion: 'v1',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': {
            'f:containers': { 'k:{"name":"c"}': { '.': {}, 'f:name': {}, 'f:image': {} } },
            'f:restartPolicy': {},
          },
        },
      },
    ])
  })

  it('an update takes the fields it changes from their owners and adds what it adds', () => {
    const before = pod('nginx')
    recordUpdate(undefined, before, by('creator'))
    const after = structuredClone(before)
    ;(after.spec as { containers: Array<{ image: string }> }).containers[0]!.image = 'nginx:2'
    ;(after.metadata as { labels: Record<string, string> }).labels['tier'] = 'web'
    recordUpdate(before, after, by('kubectl-set'))
    expect(fieldsOf(after, 'kubectl-set')).toEqual({
      'f:metadata': { 'f:labels': { 'f:tier': {} } },
      'f:spec': { 'f:containers': { 'k:{"name":"c"}': { 'f:image': {} } } },
    })
    expect(fieldsOf(after, 'creator')).toEqual({
      'f:metadata': { 'f:labels': { 'f:app': {} } },
      'f:spec': { 'f:containers': { 'k:{"name":"c"}': { '.': {}, 'f:name': {} } }, 'f:restartPolicy': {} },
    })
  })

  it('removed fields leave every set; an emptied entry is dropped; a no-op changes nothing', () => {
    const before = pod('nginx', { app: 'a', tier: 'x' })
    recordUpdate(undefined, before, by('creator'))
    const labelled = structuredClone(before)
    ;(labelled.metadata as { labels: Record<string, string> }).labels['tier'] = 'y'
    recordUpdate(before, labelled, by('labeller'))
    expect(fieldsOf(labelled, 'labeller')).toEqual({ 'f:metadata': { 'f:labels': { 'f:tier': {} } } })
    const unlabelled = structuredClone(labelled)
    delete (unlabelled.metadata as { labels: Record<string, string> }).labels['tier']
    recordUpdate(labelled, unlabelled, by('remover'))
    expect(entries(unlabelled)?.map((e) => e.manager)).toEqual(['creator'])
    const again = structuredClone(unlabelled)
    recordUpdate(unlabelled, again, by('noop'))
    expect(entries(again)).toEqual(entries(unlabelled))
  })

  it('a /status write owns status fields under the status subresource', () => {
    const before = pod('nginx')
    recordUpdate(undefined, before, by('creator'))
    const after = structuredClone(before)
    after.status = { phase: 'Running', podIP: '10.0.0.1' }
    recordUpdate(before, after, by('kubelet', 'status'))
    expect(entries(after)?.find((e) => e.manager === 'kubelet')).toMatchObject({
      operation: 'Update',
      subresource: 'status',
      fieldsV1: { 'f:status': { 'f:phase': {}, 'f:podIP': {} } },
    })
    expect(fieldsOf(after, 'creator')).toEqual(fieldsOf(before, 'creator'))
  })

  it('managed fields the client sends replace the stored ones; an empty list clears them', () => {
    const before = pod('nginx')
    recordUpdate(undefined, before, by('creator'))
    const reset = structuredClone(before)
    ;(reset.metadata as { managedFields: unknown[] }).managedFields = []
    recordUpdate(before, reset, by('resetter'))
    expect(entries(reset)).toBeUndefined()
  })
})
