/**
 * Goal: every active namespace gets a `default` ServiceAccount, a deleted one comes back, a
 * Terminating namespace gets none; the write names the acting instance (field manager).
 * Method: the sync against maps and a fake Actions; then the controller over a real in-process
 * api-server.
 */
import { isNotFound, type Namespace, type ServiceAccount } from '@hakube/api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startTestCluster, type TestCluster } from '../testing/cluster.js'
import { FakeActions } from '../testing/fake-actions.js'
import { syncServiceAccounts } from './serviceaccount.js'

function view(namespaces: Namespace[], sas: string[]) {
  return {
    namespace: (name: string) => namespaces.find((n) => n.metadata?.name === name),
    serviceAccount: (ns: string, name: string) =>
      sas.includes(`${ns}/${name}`) ? ({ metadata: { name, namespace: ns } } as ServiceAccount) : undefined,
  }
}

describe('syncServiceAccounts', () => {
  it('creates default only where it is missing and the namespace is active', async () => {
    const a = new FakeActions()
    const v = view(
      [
        { metadata: { name: 'a' }, status: { phase: 'Active' } },
        { metadata: { name: 'b' }, status: { phase: 'Active' } },
        {
          metadata: { name: 'c', deletionTimestamp: '2026-01-01T00:00:00Z' },
          status: { phase: 'Terminating' },
        },
      ],
      ['b/default'],
    )
    for (const key of ['a', 'b', 'c', 'gone']) await syncServiceAccounts(key, v, a)
    expect(a.calls).toEqual(['create serviceaccounts a/default'])
  })

  it('takes AlreadyExists (a lagging cache) as done, and a conflict as a retry', async () => {
    const a = new FakeActions()
    const v = view([{ metadata: { name: 'a' } }], [])
    a.outcomes.set('create serviceaccounts a/default', 'AlreadyExists')
    await expect(syncServiceAccounts('a', v, a)).resolves.toBeUndefined()
    a.outcomes.set('create serviceaccounts a/default', 'Conflict')
    await expect(syncServiceAccounts('a', v, a)).rejects.toThrow(/conflict/)
  })
})

describe('serviceaccount controller on a real api-server', () => {
  let c: TestCluster
  beforeAll(async () => {
    c = await startTestCluster(['serviceaccount'], { namespaces: ['default', 'kube-system', 'early'] })
  })
  afterAll(async () => {
    await c?.stop()
  })

  const sas = () =>
    c.client.resource<ServiceAccount>({
      group: '',
      version: 'v1',
      plural: 'serviceaccounts',
      namespaced: true,
    })
  const getDefault = async (ns: string) => {
    try {
      return await sas().namespace(ns).get('default')
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw err
    }
  }

  it('gives namespaces that existed and new ones their default ServiceAccount, and recreates it', async () => {
    await eventually('early/default', () => getDefault('early'))
    await eventually('default/default', () => getDefault('default'))
    await c.client
      .resource<Namespace>({ group: '', version: 'v1', plural: 'namespaces', namespaced: false })
      .create({ metadata: { name: 'late' } })
    const sa = await eventually('late/default', () => getDefault('late'))
    // An object with nothing but a name has no managedFields entry (as in kube); the instance's own
    // count of its writes attributes the creates.
    const counted = (await c.metrics.actions.get()).values.find(
      (v) => v.labels['controller'] === 'serviceaccount' && v.labels['verb'] === 'create',
    )
    expect(counted?.value).toBeGreaterThanOrEqual(3)
    await sas().namespace('late').delete('default')
    const again = await eventually('late/default again', async () => {
      const s = await getDefault('late')
      return s !== undefined && s.metadata?.uid !== sa.metadata?.uid ? s : undefined
    })
    expect(again.metadata?.name).toBe('default')
  })
})
