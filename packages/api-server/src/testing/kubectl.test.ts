import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { startTestServer, stopTestServers } from './harness.js'
import { KUBECTL_VERSIONS, Kubectl, removeKubectlHomes } from './kubectl.js'

afterEach(stopTestServers)
afterAll(removeKubectlHomes)

describe('the kubectl test helper', () => {
  for (const version of KUBECTL_VERSIONS) {
    it(`runs kubectl ${version} and reports its exit code and stderr`, async () => {
      const t = await startTestServer({ discovery: true })
      const k = new Kubectl(t.base, version)
      expect(await k.ok(['get', 'namespaces', '-o', 'name'])).toBe('')
      const missing = await k.run(['get', 'namespace', 'nope'])
      expect(missing.code).toBe(1)
      expect(missing.stderr).toContain('Error from server (NotFound): namespaces "nope" not found')
    }, 60_000)
  }
})
