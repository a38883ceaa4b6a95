/**
 * Goal: discovery finds what the registry says the api-server serves (the resources the namespace
 * and garbage collectors cover), subresources and resources that cannot be listed, watched and
 * deleted left out. Method: discoverResources against an in-process api-server with discovery.
 */
import { ApiClient, RESOURCES } from '@hakube/api'
import { startTestServer, stopTestServers } from '@hakube/api-server/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { discoverResources, servedResources } from './resources.js'

afterAll(stopTestServers)

describe('discoverResources', () => {
  it('matches the registry', async () => {
    const t = await startTestServer({ discovery: true })
    const client = new ApiClient({ baseUrl: t.base })
    const found = await discoverResources(client)
    await client.close()
    const names = (rs: { apiVersion: string; type: { plural: string } }[]) =>
      rs.map((r) => `${r.apiVersion}/${r.type.plural}`).sort()
    expect(names(found)).toEqual(names(servedResources(RESOURCES)))
    expect(names(found)).toContain('apps/v1/replicasets')
    expect(names(found).some((n) => n.includes('tokenreviews') || n.includes('/status'))).toBe(false)
    expect(found.find((r) => r.kind === 'Namespace')).toMatchObject({
      type: { namespaced: false },
      deleteCollection: false,
    })
  })
})
