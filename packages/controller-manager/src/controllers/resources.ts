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
