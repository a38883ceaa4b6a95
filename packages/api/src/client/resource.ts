/**
 * Typed handles for one resource type: the verbs of the Kubernetes REST API (get, list, watch,
 * create, update, patch, delete, deletecollection, subresources), client-go's dynamic client shape.
 *
 * Guarantees: URLs are built as the api-server routes them (`/api/v1` for the core group,
 * `/apis/<group>/<version>` otherwise, `/namespaces/<ns>/` for namespaced types, every segment
 * percent-encoded); bodies are sent as given, with the content type of the chosen patch type; every
 * call takes `CallOptions` (timeout, signal). `list` with `paging: 'all'` (the default) follows
 * `continue` tokens, and when a token expires (410) lists again in one page, as client-go's pager.
 * Non-guarantees: no client-side validation of objects or selectors; the patch body is not
 * checked against its type.
 */

import { isGone } from './errors.js'
import type { CallOptions, QueryValue, Requester } from './request.js'
import type { KubeList, KubeObject, StatusBody } from './types.js'
import { type WatchStream, WatchStreamImpl } from './watch.js'

/** Group, version and plural (`GroupVersionResource`) plus scope. */
export interface ResourceType {
  /** `''` for the core group. */
  group: string
  version: string
  plural: string
  namespaced: boolean
}

export interface GetOptions extends CallOptions {
  /** `''`/unset = most recent (quorum read), `'0'` = any cached version. */
  resourceVersion?: string
}

export type ResourceVersionMatch = 'NotOlderThan' | 'Exact'

export interface ListOptions extends CallOptions {
  labelSelector?: string
  fieldSelector?: string
  /** Page size. With `paging: 'all'` and no limit, one request gets everything. */
  limit?: number
  continue?: string
  resourceVersion?: string
  resourceVersionMatch?: ResourceVersionMatch
  /** `'all'` (default) follows `continue` to the end; `'single'` returns one page as answered. */
  paging?: 'all' | 'single'
}

export interface WatchOptions extends CallOptions {
  labelSelector?: string
  fieldSelector?: string
  /** Start after this version; unset or `'0'` makes the server send the current state as ADDED. */
  resourceVersion?: string
  resourceVersionMatch?: ResourceVersionMatch
  /** Ask for BOOKMARK events. Default true. */
  allowWatchBookmarks?: boolean
  /** The server ends the stream after this long; the client gives up `watchGraceMs` later. */
  timeoutSeconds?: number
  /** Client-side grace past `timeoutSeconds`. Default 10 000 ms. */
  watchGraceMs?: number
}

export interface WriteOptions extends CallOptions {
  dryRun?: boolean
  fieldManager?: string
  fieldValidation?: 'Ignore' | 'Warn' | 'Strict'
}

/** Patch types and the content type each is sent with. */
export const patchContentTypes = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const
export type PatchType = keyof typeof patchContentTypes

export interface PatchOptions extends WriteOptions {
  /** Patch a subresource (`status`, `scale`) instead of the object. */
  subresource?: string
  /** Server-side apply only: take over conflicting fields. */
  force?: boolean
}

export interface DeleteOptions extends CallOptions {
  gracePeriodSeconds?: number
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground'
  preconditions?: { uid?: string; resourceVersion?: string }
  dryRun?: boolean
}

export interface ResourceClient<T extends KubeObject> {
  readonly type: ResourceType
  /** The namespace this handle is scoped to; undefined = all namespaces / cluster-scoped. */
  readonly namespaceName: string | undefined
  /** A handle scoped to `namespace` (namespaced types only). */
  namespace(namespace: string): ResourceClient<T>
  get(name: string, options?: GetOptions): Promise<T>
  list(options?: ListOptions): Promise<KubeList<T>>
  watch(options?: WatchOptions): Promise<WatchStream<T>>
  /** POST; the namespace comes from the handle, else from `obj.metadata.namespace`. */
  create(obj: T, options?: WriteOptions): Promise<T>
  /** PUT of `obj` to its `metadata.name`; a stale `metadata.resourceVersion` gets 409 Conflict. */
  update(obj: T, options?: WriteOptions): Promise<T>
  /** PATCH with the content type of `type`; `patch` is sent as is (a string) or JSON-encoded. */
  patch(name: string, patch: unknown, type: PatchType, options?: PatchOptions): Promise<T>
  /** DELETE; the server answers the object (graceful or finalizers pending) or a Status. */
  delete(name: string, options?: DeleteOptions): Promise<T | StatusBody>
  deleteCollection(
    options?: DeleteOptions & Omit<ListOptions, 'paging' | keyof CallOptions>,
  ): Promise<KubeList<T> | StatusBody>
  getSubresource<R = T>(name: string, subresource: string, options?: GetOptions): Promise<R>
  putSubresource<R = T>(name: string, subresource: string, body: unknown, options?: WriteOptions): Promise<R>
  postSubresource<R = unknown>(
    name: string,
    subresource: string,
    body: unknown,
    options?: WriteOptions,
  ): Promise<R>
  /** PUT `/status` with `obj` (only its status is taken by the server). */
  updateStatus(obj: T, options?: WriteOptions): Promise<T>
}

/** The URL path of a collection, an object, or an object's subresource. */
export function resourcePath(
  type: ResourceType,
  namespace: string | undefined,
  name?: string,
  subresource?: string,
): string {
  const enc = encodeURIComponent
  let path = type.group === '' ? `/api/${enc(type.version)}` : `/apis/${enc(type.group)}/${enc(type.version)}`
  if (type.namespaced && namespace !== undefined) path += `/namespaces/${enc(namespace)}`
  path += `/${enc(type.plural)}`
  if (name !== undefined) {
    if (name === '') throw new Error(`${type.plural}: an empty name`)
    path += `/${enc(name)}`
  }
  if (subresource !== undefined) path += `/${subresource.split('/').map(enc).join('/')}`
  return path
}

function callOptions(options: CallOptions | undefined): CallOptions {
  const out: CallOptions = {}
  if (options?.timeoutMs !== undefined) out.timeoutMs = options.timeoutMs
  if (options?.signal !== undefined) out.signal = options.signal
  return out
}

function writeQuery(options: WriteOptions | undefined): Record<string, QueryValue> {
  return {
    dryRun: options?.dryRun === true ? 'All' : undefined,
    fieldManager: options?.fieldManager,
    fieldValidation: options?.fieldValidation,
  }
}

function deleteBody(options: DeleteOptions | undefined): Record<string, unknown> {
  const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' }
  if (options?.gracePeriodSeconds !== undefined) body['gracePeriodSeconds'] = options.gracePeriodSeconds
  if (options?.propagationPolicy !== undefined) body['propagationPolicy'] = options.propagationPolicy
  if (options?.preconditions !== undefined) body['preconditions'] = options.preconditions
  if (options?.dryRun === true) body['dryRun'] = ['All']
  return body
}

export class ResourceClientImpl<T extends KubeObject> implements ResourceClient<T> {
  constructor(
    private readonly client: Requester,
    readonly type: ResourceType,
    readonly namespaceName: string | undefined,
  ) {}

  namespace(namespace: string): ResourceClient<T> {
    if (!this.type.namespaced) throw new Error(`${this.type.plural} is not namespaced`)
    return new ResourceClientImpl<T>(this.client, this.type, namespace)
  }

  get(name: string, options?: GetOptions): Promise<T> {
    return this.client.requestJson<T>({
      ...callOptions(options),
      method: 'GET',
      path: this.objectPath(name, this.namespaceName),
      query: { resourceVersion: options?.resourceVersion },
    })
  }

  async list(options?: ListOptions): Promise<KubeList<T>> {
    const first = await this.listPage(options, options?.continue)
    if (options?.paging === 'single') return first
    const items = [...first.items]
    let token = first.metadata.continue
    while (token !== undefined && token !== '') {
      let page: KubeList<T>
      try {
        page = await this.listPage(options, token)
      } catch (err) {
        // client-go's pager (FullListIfExpired): an expired token means list again in one go.
        if (isGone(err)) return this.listPage({ ...options, limit: undefined }, undefined)
        throw err
      }
      items.push(...page.items)
      token = page.metadata.continue
    }
    return { ...first, metadata: { ...first.metadata, continue: undefined }, items }
  }

  async watch(options?: WatchOptions): Promise<WatchStream<T>> {
    const stream = await this.client.openStream({
      ...callOptions(options),
      method: 'GET',
      path: resourcePath(this.type, this.namespaceName),
      query: {
        watch: 1,
        resourceVersion: options?.resourceVersion,
        resourceVersionMatch: options?.resourceVersionMatch,
        allowWatchBookmarks: options?.allowWatchBookmarks ?? true,
        labelSelector: options?.labelSelector,
        fieldSelector: options?.fieldSelector,
        timeoutSeconds: options?.timeoutSeconds,
      },
    })
    const capMs =
      options?.timeoutSeconds === undefined
        ? undefined
        : options.timeoutSeconds * 1000 + (options.watchGraceMs ?? 10_000)
    return new WatchStreamImpl<T>(stream, options?.resourceVersion, capMs)
  }

  create(obj: T, options?: WriteOptions): Promise<T> {
    return this.client.requestJson<T>({
      ...callOptions(options),
      method: 'POST',
      path: resourcePath(this.type, this.namespaceFor(obj)),
      query: writeQuery(options),
      body: obj,
    })
  }

  update(obj: T, options?: WriteOptions): Promise<T> {
    return this.client.requestJson<T>({
      ...callOptions(options),
      method: 'PUT',
      path: this.objectPath(nameOf(obj), this.namespaceFor(obj)),
      query: writeQuery(options),
      body: obj,
    })
  }

  patch(name: string, patch: unknown, type: PatchType, options?: PatchOptions): Promise<T> {
    return this.client.requestJson<T>({
      ...callOptions(options),
      method: 'PATCH',
      path: this.objectPath(name, this.namespaceName, options?.subresource),
      query: { ...writeQuery(options), force: options?.force },
      body: patch,
      contentType: patchContentTypes[type],
    })
  }

  delete(name: string, options?: DeleteOptions): Promise<T | StatusBody> {
    return this.client.requestJson<T | StatusBody>({
      ...callOptions(options),
      method: 'DELETE',
      path: this.objectPath(name, this.namespaceName),
      body: deleteBody(options),
    })
  }

  deleteCollection(
    options?: DeleteOptions & Omit<ListOptions, 'paging' | keyof CallOptions>,
  ): Promise<KubeList<T> | StatusBody> {
    return this.client.requestJson<KubeList<T> | StatusBody>({
      ...callOptions(options),
      method: 'DELETE',
      path: resourcePath(this.type, this.namespaceName),
      query: {
        labelSelector: options?.labelSelector,
        fieldSelector: options?.fieldSelector,
        limit: options?.limit,
        continue: options?.continue,
        resourceVersion: options?.resourceVersion,
        resourceVersionMatch: options?.resourceVersionMatch,
      },
      body: deleteBody(options),
    })
  }

  getSubresource<R = T>(name: string, subresource: string, options?: GetOptions): Promise<R> {
    return this.client.requestJson<R>({
      ...callOptions(options),
      method: 'GET',
      path: this.objectPath(name, this.namespaceName, subresource),
      query: { resourceVersion: options?.resourceVersion },
    })
  }

  putSubresource<R = T>(
    name: string,
    subresource: string,
    body: unknown,
    options?: WriteOptions,
  ): Promise<R> {
    return this.writeSubresource<R>('PUT', name, subresource, body, options)
  }

  postSubresource<R = unknown>(
    name: string,
    subresource: string,
    body: unknown,
    options?: WriteOptions,
  ): Promise<R> {
    return this.writeSubresource<R>('POST', name, subresource, body, options)
  }

  private writeSubresource<R>(
    method: 'PUT' | 'POST',
    name: string,
    subresource: string,
    body: unknown,
    options?: WriteOptions,
  ): Promise<R> {
    return this.client.requestJson<R>({
      ...callOptions(options),
      method,
      path: this.objectPath(name, this.namespaceName, subresource),
      query: writeQuery(options),
      body,
    })
  }

  updateStatus(obj: T, options?: WriteOptions): Promise<T> {
    return this.client.requestJson<T>({
      ...callOptions(options),
      method: 'PUT',
      path: this.objectPath(nameOf(obj), this.namespaceFor(obj), 'status'),
      query: writeQuery(options),
      body: obj,
    })
  }

  private listPage(options: ListOptions | undefined, token: string | undefined): Promise<KubeList<T>> {
    return this.client.requestJson<KubeList<T>>({
      ...callOptions(options),
      method: 'GET',
      path: resourcePath(this.type, this.namespaceName),
      query: {
        labelSelector: options?.labelSelector,
        fieldSelector: options?.fieldSelector,
        limit: options?.limit,
        continue: token,
        // With a continue token the server rejects resourceVersion: the token carries it.
        resourceVersion: token === undefined ? options?.resourceVersion : undefined,
        resourceVersionMatch: token === undefined ? options?.resourceVersionMatch : undefined,
      },
    })
  }

  private namespaceFor(obj: T): string | undefined {
    const ns = this.namespaceName ?? obj.metadata?.namespace
    if (this.type.namespaced && ns === undefined) {
      throw new Error(`${this.type.plural} is namespaced: scope the handle or set metadata.namespace`)
    }
    return ns
  }

  private objectPath(name: string, namespace: string | undefined, subresource?: string): string {
    if (this.type.namespaced && namespace === undefined) {
      throw new Error(`${this.type.plural} is namespaced: call .namespace(ns) first`)
    }
    return resourcePath(this.type, namespace, name, subresource)
  }
}

function nameOf(obj: KubeObject): string {
  const name = obj.metadata?.name
  if (name === undefined || name === '') throw new Error('the object has no metadata.name')
  return name
}
