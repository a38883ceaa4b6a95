/**
 * Goal: the real kubectl lists exactly the resources the api-server serves with `api-resources`, over
 * aggregated v2 (kubectl 1.30+), aggregated v2beta1 (1.27) and legacy discovery, and fetches no more
 * documents than each needs.
 * Method: the real ApiServer on 127.0.0.1 (port 0, memory storage) with registerDiscovery; `kubectl`
 * on PATH (a version dispatcher, which picks its built-in 1.32) and its sibling kubectl.1.27, each run
 * with its own --cache-dir and an empty kubeconfig.
 */
import { apiVersionOf } from '@hakube/api'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { SERVED_RESOURCES } from './discovery.js'
import {
  ACCEPT_KUBECTL_127,
  ACCEPT_KUBECTL_132,
  type SeenRequest,
  startDiscoveryServer,
  stopDiscoveryServers,
} from './testing/discovery-server.js'
import { Kubectl, type KubectlResult, type KubectlVersion, removeKubectlHomes } from './testing/kubectl.js'

afterEach(stopDiscoveryServers)
afterAll(removeKubectlHomes)

/** Runs kubectl `version` against the server with a fresh --cache-dir and an empty kubeconfig; a failing command fails the test with its stderr. */
async function kubectl(version: KubectlVersion, port: number, args: string[]): Promise<KubectlResult> {
  const r = await new Kubectl(`http://127.0.0.1:${port}`, version).run(args)
  if (r.code !== 0) throw new Error(`kubectl ${version} ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return r
}

/** Splits kubectl's tabwriter table by the header's column starts (empty cells stay empty). */
function parseTable(out: string): Array<Record<string, string>> {
  const lines = out.split('\n').filter((l) => l.trim() !== '')
  const header = lines[0] ?? ''
  const cols = [...header.matchAll(/\S+/g)].map((m) => ({ name: m[0], start: m.index ?? 0 }))
  return lines.slice(1).map((line) => {
    const row: Record<string, string> = {}
    cols.forEach((c, i) => {
      row[c.name] = line.slice(c.start, cols[i + 1]?.start ?? line.length).trim()
    })
    return row
  })
}

/** The api-resources rows a real cluster with exactly the resources served here would print. */
const expectedApiResourceRows = () =>
  SERVED_RESOURCES.map((r) => ({
    NAME: r.plural,
    SHORTNAMES: r.shortNames.join(','),
    APIVERSION: apiVersionOf(r),
    NAMESPACED: String(r.namespaced),
    KIND: r.kind,
  })).sort((a, b) => (a.NAME < b.NAME ? -1 : 1))

function checkApiResources({ stdout: out, stderr }: { stdout: string; stderr: string }): void {
  // A complete discovery leaves nothing on stderr (no `couldn't get resource list`, no skew warning).
  expect(stderr).toBe('')
  expect(out.split('\n')[0]).toMatch(/^NAME\s+SHORTNAMES\s+APIVERSION\s+NAMESPACED\s+KIND\s*$/)
  const rows = parseTable(out)
  const row = (name: string) => rows.find((r) => r['NAME'] === name)
  expect(row('pods')).toEqual({
    NAME: 'pods',
    SHORTNAMES: 'po',
    APIVERSION: 'v1',
    NAMESPACED: 'true',
    KIND: 'Pod',
  })
  expect(row('deployments')).toEqual({
    NAME: 'deployments',
    SHORTNAMES: 'deploy',
    APIVERSION: 'apps/v1',
    NAMESPACED: 'true',
    KIND: 'Deployment',
  })
  expect(row('leases')).toEqual({
    NAME: 'leases',
    SHORTNAMES: '',
    APIVERSION: 'coordination.k8s.io/v1',
    NAMESPACED: 'true',
    KIND: 'Lease',
  })
  expect(row('nodes')).toMatchObject({
    SHORTNAMES: 'no',
    APIVERSION: 'v1',
    NAMESPACED: 'false',
    KIND: 'Node',
  })
  // Everything served, nothing else (subresources are not listed by api-resources).
  expect([...rows].sort((a, b) => ((a['NAME'] ?? '') < (b['NAME'] ?? '') ? -1 : 1))).toEqual(
    expectedApiResourceRows(),
  )
}

const discoveryPaths = (seen: SeenRequest[]) =>
  seen.map((s) => s.url.split('?')[0] ?? '').filter((p) => p.startsWith('/api'))

describe('the real kubectl', () => {
  it('kubectl (dispatcher → built-in 1.32) api-resources over aggregated v2 discovery', async () => {
    const { port, seen } = await startDiscoveryServer()
    const out = await kubectl('dispatcher', port, ['api-resources'])
    checkApiResources(out)
    // The dispatcher asked /version; kubectl then took the aggregated answers and fetched nothing else.
    expect(seen.map((s) => s.url)).toContain('/version?timeout=5s')
    expect(discoveryPaths(seen).sort()).toEqual(['/api', '/apis'])
    expect(seen.find((s) => s.url.startsWith('/apis?'))?.accept).toBe(ACCEPT_KUBECTL_132)
  })

  it('kubectl.1.27 api-resources over aggregated v2beta1 discovery', async () => {
    const { port, seen } = await startDiscoveryServer()
    const out = await kubectl('1.27', port, ['api-resources'])
    checkApiResources(out)
    expect(discoveryPaths(seen).sort()).toEqual(['/api', '/apis'])
    expect(seen.find((s) => s.url.startsWith('/apis?'))?.accept).toBe(ACCEPT_KUBECTL_127)
  })

  it('kubectl api-resources over legacy discovery when the client cannot take aggregated documents', async () => {
    // Stand in for a client without aggregated discovery: drop those Accept clauses before routing.
    const { port, seen } = await startDiscoveryServer({
      onRequest: (req) => {
        const accept = req.headers.accept
        if (accept !== undefined)
          req.headers.accept = accept
            .split(',')
            .filter((c) => !c.includes('as=APIGroupDiscoveryList'))
            .join(',')
      },
    })
    const out = await kubectl('dispatcher', port, ['api-resources'])
    checkApiResources(out)
    expect(discoveryPaths(seen).sort()).toEqual([
      '/api',
      '/api/v1',
      '/apis',
      '/apis/apps/v1',
      '/apis/authentication.k8s.io/v1',
      '/apis/coordination.k8s.io/v1',
    ])
  })
})
