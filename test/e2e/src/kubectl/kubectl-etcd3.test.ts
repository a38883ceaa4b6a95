import { KUBECTL_VERSIONS, Kubectl, removeKubectlHomes } from '@hakube/api-server/testing'
import { memberLogs, StoreProcessCluster } from '@hakube/store/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiServerProcess } from '../apiserver.js'
import { kubectlSuite } from './suite.js'

// Goal: the real kubectl 1.27, 1.32 and 1.33 drive hakube-apiserver on the etcd3 backend over a
// 3-member hakube-store cluster, as they drive a real api-server; and when the store has lost its
// quorum, kubectl prints the Timeout a real api-server gives then (the store cannot answer within
// --request-timeout, 504). Method: hakube-store members on
// 127.0.1.101-103, the hakube-apiserver binary on 127.0.1.104; the suite (suite.ts) runs once per
// kubectl version, each in its own namespace.

const TIMING = { heartbeatMs: 100, electionMs: 1000 }

describe('kubectl against hakube-apiserver (etcd3 backend on a 3-member hakube-store)', () => {
  let store: StoreProcessCluster
  let api: ApiServerProcess
  const logs = () => `${api?.logs() ?? ''}\n${store === undefined ? '' : memberLogs(store)}`

  beforeAll(async () => {
    store = new StoreProcessCluster(3, 101, TIMING)
    store.startAll()
    api = new ApiServerProcess('127.0.1.104', [
      `--etcd-servers=${store.clientUrls.join(',')}`,
      '--request-timeout=5s',
    ])
    await api.ready(30_000, logs)
  })
  afterAll(() => {
    api?.stop()
    store?.destroy()
    removeKubectlHomes()
  })

  for (const version of KUBECTL_VERSIONS)
    describe(`kubectl ${version}`, () => kubectlSuite(version, () => ({ base: api.base, logs })))

  describe('with two of the three store members down', () => {
    beforeAll(() => {
      for (const m of store.members.slice(1)) store.kill(m)
    })
    for (const version of KUBECTL_VERSIONS)
      it(`kubectl ${version} prints the server's Timeout error`, async () => {
        const r = await new Kubectl(api.base, version).run([
          'get',
          'configmaps',
          '-n',
          'default',
          '-o',
          'name',
        ])
        expect(r.code).toBe(1)
        expect(r.stderr).toBe(
          'Error from server (Timeout): Timeout: request did not complete within requested timeout - context deadline exceeded\n',
        )
      }, 60_000)
  })
})
