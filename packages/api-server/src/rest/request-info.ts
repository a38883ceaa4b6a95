/**
 * Which resource a URL names, as k8s.io/apiserver pkg/endpoints/request/requestinfo.go reads it:
 *
 *   /api/v1[/watch]/namespaces/{ns}/{plural}[/{name}[/{subresource}]]
 *   /api/v1[/watch]/{plural}[/{name}[/{subresource}]]          (cluster-scoped, or all namespaces)
 *   /apis/{group}/{version}/...                                   (the same below the group-version)
 *
 * `namespaces/{ns}/status` and `namespaces/{ns}/finalize` are the namespace's own subresources, not a
 * resource `status` inside the namespace (requestinfo.go's namespaceSubresources).
 */

export interface RequestInfo {
  group: string
  version: string
  plural: string
  /** The namespace from the URL ('' when the URL has none). */
  namespace: string
  /** '' for collection requests. */
  name: string
  /** '' for the main resource. */
  subresource: string
  /** A legacy `/watch/` path. */
  watchPath: boolean
}

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize'])

/** Parses a request path (no query); undefined when it names no resource at all. */
export function parseRequestPath(path: string): RequestInfo | undefined {
  let parts: string[]
  try {
    parts = path
      .split('/')
      .filter((p) => p !== '')
      .map(decodeURIComponent)
  } catch {
    return undefined
  }
  let group: string
  let version: string
  if (parts[0] === 'api') {
    if (parts.length < 3) return undefined
    group = ''
    version = parts[1] ?? ''
    parts = parts.slice(2)
  } else if (parts[0] === 'apis') {
    if (parts.length < 4) return undefined
    group = parts[1] ?? ''
    version = parts[2] ?? ''
    parts = parts.slice(3)
  } else return undefined
  let watchPath = false
  if (parts[0] === 'watch') {
    watchPath = true
    parts = parts.slice(1)
  }
  let namespace = ''
  if (parts[0] === 'namespaces' && parts.length > 1) {
    namespace = parts[1] ?? ''
    if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2] ?? '')) parts = parts.slice(2)
  }
  if (parts.length === 0 || parts.length > 3) return undefined
  const plural = parts[0] ?? ''
  const name = parts[1] ?? ''
  const subresource = parts[2] ?? ''
  // `/namespaces/{name}` is the namespace itself, not a namespace of that name for a later resource.
  if (plural === 'namespaces') namespace = ''
  return { group, version, plural, namespace, name, subresource, watchPath }
}
