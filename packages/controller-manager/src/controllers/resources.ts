/** The resource types the controllers address (group, version, plural, scope). */
import type { ResourceType } from '@hakube/api'

export const NAMESPACES: ResourceType = { group: '', version: 'v1', plural: 'namespaces', namespaced: false }
export const SERVICE_ACCOUNTS: ResourceType = {
  group: '',
  version: 'v1',
  plural: 'serviceaccounts',
  namespaced: true,
}

/** A served resource as the namespace and garbage collectors need it. */
export interface ServedResource {
  readonly type: ResourceType
  readonly apiVersion: string
  readonly kind: string
  readonly deleteCollection: boolean
}

/** What `@hakube/api`'s registry says a resource is (the fields used here). */
export interface RegistryEntry {
  readonly group: string
  readonly version: string
  readonly kind: string
  readonly plural: string
  readonly namespaced: boolean
  readonly verbs: readonly string[]
}

/** The registry's resources (what the api-server serves) that can be listed, watched and deleted. */
export function servedResources(registry: readonly RegistryEntry[]): ServedResource[] {
  return registry
    .filter((r) => ['list', 'watch', 'delete'].every((v) => r.verbs.includes(v)))
    .map((r) => ({
      type: { group: r.group, version: r.version, plural: r.plural, namespaced: r.namespaced },
      apiVersion: r.group === '' ? r.version : `${r.group}/${r.version}`,
      kind: r.kind,
      deleteCollection: r.verbs.includes('deletecollection'),
    }))
}

interface ApiResourceList {
  resources?: { name: string; namespaced: boolean; kind: string; verbs?: string[] }[]
}

/**
 * The resources the api-server serves, through discovery (`/api`, `/apis`, then each preferred
 * group version's APIResourceList), as kube's namespace and garbage collectors find them:
 * subresources left out, only those that can be listed, watched and deleted.
 */
export async function discoverResources(
  client: { requestJson<R>(o: { method: 'GET'; path: string; signal?: AbortSignal }): Promise<R> },
  signal?: AbortSignal,
): Promise<ServedResource[]> {
  const get = <R>(path: string) =>
    client.requestJson<R>({ method: 'GET', path, ...(signal !== undefined && { signal }) })
  const core = await get<{ versions?: string[] }>('/api')
  const groups = await get<{ groups?: { name: string; preferredVersion?: { version: string } }[] }>('/apis')
  const gvs: { group: string; version: string }[] = [
    ...(core.versions ?? []).map((version) => ({ group: '', version })),
    ...(groups.groups ?? []).flatMap((g) =>
      g.preferredVersion === undefined ? [] : [{ group: g.name, version: g.preferredVersion.version }],
    ),
  ]
  const entries: RegistryEntry[] = []
  for (const gv of gvs) {
    const path = gv.group === '' ? `/api/${gv.version}` : `/apis/${gv.group}/${gv.version}`
    const list = await get<ApiResourceList>(path)
    for (const r of list.resources ?? []) {
      if (r.name.includes('/')) continue
      entries.push({ ...gv, kind: r.kind, plural: r.name, namespaced: r.namespaced, verbs: r.verbs ?? [] })
    }
  }
  return servedResources(entries)
}

export const PODS: ResourceType = { group: '', version: 'v1', plural: 'pods', namespaced: true }
export const REPLICA_SETS: ResourceType = {
  group: 'apps',
  version: 'v1',
  plural: 'replicasets',
  namespaced: true,
}
export const SERVICES: ResourceType = { group: '', version: 'v1', plural: 'services', namespaced: true }
export const ENDPOINTS: ResourceType = { group: '', version: 'v1', plural: 'endpoints', namespaced: true }
export const DEPLOYMENTS: ResourceType = {
  group: 'apps',
  version: 'v1',
  plural: 'deployments',
  namespaced: true,
}
export const NODES: ResourceType = { group: '', version: 'v1', plural: 'nodes', namespaced: false }
export const LEASES: ResourceType = {
  group: 'coordination.k8s.io',
  version: 'v1',
  plural: 'leases',
  namespaced: true,
}
