import { KUBECTL_VERSIONS, removeKubectlHomes } from '@hakube/api-server/testing'
import { afterAll, beforeAll, describe } from 'vitest'
import { ApiServerProcess } from '../apiserver.js'
import { tooManyRequestsSuite } from './limits.js'
import { kubectlSuite } from './suite.js'

// Goal: the real kubectl 1.27, 1.32 and 1.33 drive hakube-apiserver (memory backend) as they drive a
// real api-server. Method: the hakube-apiserver binary on 127.0.1.100; the suite (suite.ts) runs once
// per kubectl version, each in its own namespace.

describe('kubectl against hakube-apiserver (memory backend)', () => {
  let api: ApiServerProcess
  beforeAll(async () => {
    api = new ApiServerProcess('127.0.1.100', ['--storage-backend=memory'])
    await api.ready()
  })
  afterAll(() => {
    api?.stop()
    removeKubectlHomes()
  })

  for (const version of KUBECTL_VERSIONS)
    describe(`kubectl ${version}`, () =>
      kubectlSuite(version, () => ({ base: api.base, logs: () => api.logs() })))
})

describe('kubectl against an api-server at its in-flight limit (memory backend)', () => {
  let api: ApiServerProcess
  beforeAll(async () => {
    api = new ApiServerProcess('127.0.1.105', [
      '--storage-backend=memory',
      '--max-mutating-requests-inflight=1',
    ])
    await api.ready()
  })
  afterAll(() => api?.stop())

  for (const version of KUBECTL_VERSIONS)
    describe(`kubectl ${version}`, () =>
      tooManyRequestsSuite(version, () => ({ host: api.host, port: api.port })))
})
