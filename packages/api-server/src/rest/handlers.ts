/**
 * The object verbs get, create, update and patch as k8s.io/apiserver's
 * generic registry store runs them (pkg/registry/generic/registry/store.go with rest.BeforeCreate /
 * BeforeUpdate and each kind's strategy):
 *
 * - create: namespace from the URL (400 if the body names another), generateName with a random
 *   suffix (retried on AlreadyExists), defaults and create admission, uid / creationTimestamp /
 *   generation, 422 on validation errors, then the NamespaceLifecycle check (404 when the namespace is
 *   missing, 403 while it terminates).
 * - update: a given resourceVersion must match (409 with the optimistic-lock text); without one the
 *   update is unconditional and retried on a concurrent write. uid and creationTimestamp are kept,
 *   generation is bumped on spec changes only, the main resource keeps the stored status and the
 *   `/status` subresource changes nothing but status. A no-op update writes nothing.
 * - delete and deletecollection: see delete.ts; an update that removes the last finalizer of an
 *   object being deleted (with no grace period left) deletes it.
 */
import {
  admitCreate,
  apiVersionOf,
  applyDefaults,
  decodeObject,
  fieldErrors,
  GoValue,
  type GroupResource,
  parseFieldValidation,
  type ResourceInfo,
  StatusError,
  statusErrors,
  validateCreate,
  validateUpdate,
} from '@hakube/api'
import { isStorageError, objectKey, type Storage, type StoredObject } from '@hakube/storage'
import { applyPatch, isObject, jsonEqual, type Patch } from './body.js'
import { storageCall, toStatus } from './errors.js'
import { tooLargeResourceVersion } from './list.js'
import { managerOf, recordUpdate, type UpdateOwnership } from './managed-fields.js'
import {
  forStorage,
  generateName,
  invalidResourceVersion,
  metaOf,
  newUid,
  nowRfc3339,
  type Obj,
  parseResourceVersion,
  toWire,
  tracksGeneration,
} from './objects.js'
import { type Query, queryParam } from './query.js'
import { keepAllocated, type ServiceIpAllocator } from './service-ips.js'
import { schemaInfoFor } from './strategic-merge.js'

/** How often a generateName collision or an unconditional update racing another write is retried. */
export const RETRIES_MAX = 16
/** Namespaces NamespaceLifecycle admission refuses to delete. */

export const NAMESPACES: GroupResource = { group: '', resource: 'namespaces' }

export interface RestContext {
  storage: Storage
  resource: ResourceInfo
  gr: GroupResource
  /** The namespace from the URL ('' for cluster-scoped resources and all-namespace requests). */
  namespace: string
  /** The request's User-Agent: the writer of managed fields when no fieldManager is given. */
  userAgent?: string
  /** Gives Services their clusterIP (service-ips.ts); without it Services get none. */
  serviceIps?: ServiceIpAllocator
}

export function contextFor(storage: Storage, resource: ResourceInfo, namespace: string): RestContext {
  return { storage, resource, gr: { group: resource.group, resource: resource.plural }, namespace }
}

export const keyOf = (ctx: RestContext, name: string) =>
  objectKey(ctx.resource.plural, ctx.resource.namespaced ? ctx.namespace : undefined, name)

/** Who a write's managed fields belong to (managed-fields.ts). */
function ownership(ctx: RestContext, query: Query, subresource: string): UpdateOwnership {
  const { resource } = ctx
  return {
    manager: managerOf(queryParam(query, 'fieldManager'), ctx.userAgent),
    apiVersion: resource.group === '' ? resource.version : `${resource.group}/${resource.version}`,
    subresource,
    schema: schemaInfoFor(resource.schema),
  }
}

const hasStatus = (r: ResourceInfo) => r.subresources.some((s) => s.name === 'status')

/**
 * `resourceVersion` on GET: unset is a quorum read, `0` any state, `N` not older than N (504 Too
 * large resource version while the store has not reached N, as the etcd3 store's
 * validateMinimumResourceVersion answers).
 */
export async function getObject(ctx: RestContext, name: string, query: Query): Promise<Obj> {
  const rv = parseResourceVersion(queryParam(query, 'resourceVersion'))
  if (rv !== undefined && Number.isNaN(rv)) throw invalidResourceVersion(queryParam(query, 'resourceVersion'))
  if (rv !== undefined && rv > 0) {
    const current = await storageCall(ctx.gr, name, () => ctx.storage.currentRevision())
    if (rv > current) throw tooLargeResourceVersion(rv, current)
  }
  const stored = await storageCall(ctx.gr, name, () =>
    ctx.storage.get(keyOf(ctx, name), rv === 0 ? { consistent: false } : {}),
  )
  return toWire(ctx.resource, stored)
}

/** What a body is decoded as: a resource's kind, or a subresource kind (Binding, Scale). */
export type DecodeTarget = Pick<ResourceInfo, 'group' | 'version' | 'kind' | 'schema'>

/** Decodes a request object of the target's kind (400 on type errors, Strict unknown fields). */
export function decode(resource: DecodeTarget, body: unknown, query: Query): Obj {
  const fv = parseFieldValidation(queryParam(query, 'fieldValidation'))
  if (fv === undefined)
    throw statusErrors.badRequest(
      `fieldValidation must be one of "Ignore", "Warn" or "Strict", got ${JSON.stringify(queryParam(query, 'fieldValidation'))}`,
    )
  if (isObject(body)) {
    const want = apiVersionOf(resource)
    const av = body['apiVersion']
    if (typeof av === 'string' && av !== '' && av !== want)
      throw statusErrors.badRequest(
        `the API version in the data (${av}) does not match the expected API version (${want})`,
      )
    const kind = body['kind']
    if (typeof kind === 'string' && kind !== '' && kind !== resource.kind)
      throw statusErrors.badRequest(
        `the kind in the data (${kind}) does not match the expected kind (${resource.kind})`,
      )
  }
  const r = decodeObject<Obj>(resource, body, fv)
  if (!r.ok) throw r.error
  return r.object
}

/**
 * Whether managedFields from a request decode as the field manager's DecodeManagedFields requires
 * (operation Apply or Update, an apiVersion, fieldsType FieldsV1). When they do not, kube's
 * FieldManager.Update falls back to the live object's managed fields: the client's are ignored.
 */
function managedFieldsDecode(entries: unknown): boolean {
  if (entries === undefined) return true
  if (!Array.isArray(entries)) return false
  return entries.every(
    (e) =>
      isObject(e) &&
      (e['operation'] === 'Apply' || e['operation'] === 'Update') &&
      typeof e['apiVersion'] === 'string' &&
      e['apiVersion'] !== '' &&
      e['fieldsType'] === 'FieldsV1',
  )
}

export function checkNamespaceMatches(ctx: RestContext, obj: Obj): void {
  const m = metaOf(obj)
  if (!ctx.resource.namespaced) {
    delete m.namespace
    return
  }
  if (m.namespace !== undefined && m.namespace !== '' && m.namespace !== ctx.namespace)
    throw statusErrors.badRequest(
      'the namespace of the provided object does not match the namespace sent on the request',
    )
  m.namespace = ctx.namespace
}

/** NamespaceLifecycle admission for creates in a namespace. */
async function checkNamespaceUsable(ctx: RestContext, name: string): Promise<void> {
  if (!ctx.resource.namespaced) return
  let ns: StoredObject<Obj>
  try {
    ns = await ctx.storage.get<Obj>(objectKey('namespaces', undefined, ctx.namespace))
  } catch (err) {
    if (isStorageError(err, 'NotFound')) throw statusErrors.notFound(NAMESPACES, ctx.namespace)
    throw toStatus(err, NAMESPACES, ctx.namespace)
  }
  const status = ns.value.status as { phase?: string } | undefined
  if (status?.phase === 'Terminating' || ns.value.metadata?.deletionTimestamp !== undefined)
    throw statusErrors.namespaceTerminating(ctx.gr, name, ctx.namespace)
}

function invalid(ctx: RestContext, name: string, errs: ReturnType<typeof validateCreate>): StatusError {
  return statusErrors.invalid({ group: ctx.resource.group, kind: ctx.resource.kind }, name, errs)
}

/** The strategies' PrepareForCreate status resets (pods start Pending, namespaces Active). */
function prepareStatusForCreate(kind: string, obj: Obj): void {
  switch (kind) {
    case 'Pod':
      obj.status = { phase: 'Pending' }
      break
    case 'Deployment':
    case 'ReplicaSet':
    case 'Service':
      obj.status = {}
      break
  }
}

/**
 * Creates the object; `recordOwnership` false leaves managedFields as the body has them (server-side
 * apply records its own).
 */
export async function createObject(
  ctx: RestContext,
  body: unknown,
  query: Query,
  recordOwnership = true,
): Promise<Obj> {
  const { resource } = ctx
  let obj = decode(resource, body, query)
  checkNamespaceMatches(ctx, obj)
  const m0 = metaOf(obj)
  if (recordOwnership && !managedFieldsDecode(m0['managedFields'])) delete m0['managedFields']
  if (m0.resourceVersion !== undefined && m0.resourceVersion !== '')
    throw statusErrors.internalError('resourceVersion should not be set on objects to be created')
  prepareStatusForCreate(resource.kind, obj)
  const prefix = m0.generateName
  const usesGenerateName =
    (m0.name === undefined || m0.name === '') && typeof prefix === 'string' && prefix !== ''
  for (let attempt = 0; ; attempt++) {
    const candidate = structuredClone(obj)
    const m = metaOf(candidate)
    if (usesGenerateName) m.name = generateName(prefix)
    delete m.deletionTimestamp
    delete m['deletionGracePeriodSeconds']
    m.uid = newUid()
    m.creationTimestamp = nowRfc3339()
    if (tracksGeneration(resource.kind)) m.generation = 1
    else delete m.generation
    let prepared = admitCreate(resource.kind, applyDefaults(resource.kind, candidate))
    const name = metaOf(prepared).name ?? ''
    const errs = validateCreate(resource.kind, prepared)
    if (errs.length > 0) throw invalid(ctx, name, errs)
    await checkNamespaceUsable(ctx, name)
    if (recordOwnership) recordUpdate(undefined, prepared, ownership(ctx, query, ''))
    const dryRun = queryParam(query, 'dryRun') === 'All'
    const release = (await ctx.serviceIps?.allocate(resource, prepared, dryRun)) ?? (async () => {})
    if (dryRun) return prepared
    try {
      prepared = forStorage(prepared)
      const stored = await ctx.storage.create(keyOf(ctx, name), prepared)
      return toWire(resource, stored)
    } catch (err) {
      await release().catch(() => {})
      if (usesGenerateName && isStorageError(err, 'AlreadyExists') && attempt < RETRIES_MAX) {
        obj = structuredClone(obj)
        continue
      }
      throw toStatus(err, ctx.gr, name)
    }
  }
}

/**
 * GuaranteedUpdate: reads the object, lets `change` compute the new one from it, writes it with a
 * compare-and-swap on the read revision, and retries when another write came between (unless the
 * caller pinned a resourceVersion, which then gets 409). The writer's managed fields are recorded
 * under `ownedAs` (the subresource written: '', `status`, `scale`), or not at all when it is null
 * (server-side apply records its own).
 */
export async function guaranteedUpdate(
  ctx: RestContext,
  name: string,
  subresource: string,
  change: (current: Obj) => Obj,
  query: Query,
  ownedAs: string | null = subresource,
): Promise<Obj> {
  const { resource } = ctx
  const key = keyOf(ctx, name)
  for (let attempt = 0; ; attempt++) {
    const current = await storageCall(ctx.gr, name, () => ctx.storage.get<Obj>(key))
    const old = toWire(resource, current)
    let next = change(structuredClone(old))
    const nm = metaOf(next)
    const rv = parseResourceVersion(nm.resourceVersion)
    if (rv !== undefined && Number.isNaN(rv))
      throw statusErrors.badRequest(`invalid resource version: ${JSON.stringify(nm.resourceVersion)}`)
    if (rv !== undefined && rv !== current.modRevision) throw statusErrors.conflict(ctx.gr, name)
    if (nm.name !== undefined && nm.name !== name)
      throw statusErrors.badRequest(
        `the name of the object (${nm.name}) does not match the name on the URL (${name})`,
      )
    nm.name = name
    checkNamespaceMatches(ctx, next)
    const om = metaOf(old)
    if (subresource === 'status') {
      next = { ...old, status: next.status }
    } else {
      if (hasStatus(resource)) {
        if (old.status === undefined) delete next.status
        else next.status = old.status
      }
      next = applyDefaults(resource.kind, next)
      const m = metaOf(next)
      if (m.uid === undefined || m.uid === '') m.uid = om.uid
      // An update that does not mention managedFields keeps them (an empty list clears them), and
      // so does one whose managedFields do not decode.
      if (!managedFieldsDecode(m['managedFields'])) delete m['managedFields']
      if (m['managedFields'] === undefined && om['managedFields'] !== undefined)
        m['managedFields'] = om['managedFields']
      m.creationTimestamp = om.creationTimestamp
      // Only DELETE sets or changes the deletion fields (rest.BeforeUpdate keeps them).
      if (om.deletionTimestamp !== undefined) m.deletionTimestamp = om.deletionTimestamp
      else delete m.deletionTimestamp
      if (om['deletionGracePeriodSeconds'] !== undefined)
        m['deletionGracePeriodSeconds'] = om['deletionGracePeriodSeconds']
      else delete m['deletionGracePeriodSeconds']
      if (tracksGeneration(resource.kind)) {
        const gen = om.generation ?? 1
        m.generation = jsonEqual(next.spec, old.spec) ? gen : gen + 1
      } else if (om.generation !== undefined) m.generation = om.generation
      else delete m.generation
    }
    metaOf(next).resourceVersion = String(current.modRevision)
    keepAllocated(resource, old, next)
    if (ownedAs !== null) recordUpdate(old, next, ownership(ctx, query, ownedAs))
    const errs = validateUpdate(resource.kind, next, old)
    if (errs.length > 0) throw invalid(ctx, name, errs)
    if (jsonEqual(forStorage(next), forStorage(old))) return old
    if (queryParam(query, 'dryRun') === 'All') return next
    try {
      if (shouldDeleteDuringUpdate(next, old)) {
        // The last finalizer is gone from an object being deleted: it goes now.
        await ctx.storage.delete(key, { expectedModRevision: current.modRevision })
        await ctx.serviceIps?.releaseOf(resource, old)
        return next
      }
      const stored = await ctx.storage.update(key, forStorage(next), current.modRevision)
      return toWire(resource, stored)
    } catch (err) {
      // Another write came between the read and this one: try again on the fresh object. A
      // resourceVersion the request pinned (in a PUT's body or in a patch) is checked again above
      // against the fresh read and then gets its 409; a patch without one is applied to the fresh
      // object, as kube's patcher does (the patched object carries the read's resourceVersion, so
      // looking at it here cannot tell a pinned one from an inherited one).
      if (isStorageError(err, 'Conflict') && attempt < RETRIES_MAX) continue
      throw toStatus(err, ctx.gr, name)
    }
  }
}

/**
 * registry.ShouldDeleteDuringUpdate: an update that leaves no finalizers on an object being deleted
 * deletes it, unless a grace period is still running (a pod the node has not finished yet).
 */
function shouldDeleteDuringUpdate(next: Obj, old: Obj): boolean {
  const om = metaOf(old)
  if ((metaOf(next).finalizers ?? []).length > 0 || om.deletionTimestamp === undefined) return false
  const grace = om['deletionGracePeriodSeconds']
  return grace === undefined || grace === 0
}

/**
 * Kinds whose strategies allow a PUT to create a missing object (AllowCreateOnUpdate true in
 * pkg/registry/core/{endpoint,event,service}/strategy.go and coordination/lease/strategy.go; false
 * for every other kind served here). Leader election with Endpoints or Lease locks relies on it.
 */
const CREATE_ON_UPDATE_KINDS = new Set(['Endpoints', 'Event', 'Lease', 'Service'])

/**
 * Kinds whose strategy refuses an update without a resourceVersion (AllowUnconditionalUpdate false:
 * coordination/lease/strategy.go), so two lease holders never overwrite each other blindly.
 */
const CONDITIONAL_UPDATE_KINDS = new Set(['Lease'])

/**
 * PUT: updates the object, or for CREATE_ON_UPDATE_KINDS creates it when missing (store.Update
 * runs rest.BeforeCreate then; `created` makes the answer a 201, as the update handler does).
 */
export async function updateObject(
  ctx: RestContext,
  name: string,
  subresource: string,
  body: unknown,
  query: Query,
): Promise<{ object: Obj; created: boolean }> {
  const obj = decode(ctx.resource, body, query)
  // The update handler checks this on the decoded object, before storage is asked for it.
  checkNamespaceMatches(ctx, obj)
  const bodyName = metaOf(obj).name
  if (bodyName !== undefined && bodyName !== name)
    throw statusErrors.badRequest(
      `the name of the object (${bodyName}) does not match the name on the URL (${name})`,
    )
  const mayCreate = subresource === '' && CREATE_ON_UPDATE_KINDS.has(ctx.resource.kind)
  for (let attempt = 0; ; attempt++) {
    try {
      const object = await guaranteedUpdate(
        ctx,
        name,
        subresource,
        () => {
          const rv = metaOf(obj).resourceVersion
          if (CONDITIONAL_UPDATE_KINDS.has(ctx.resource.kind) && (rv === undefined || rv === ''))
            // kube reports the uint64 0 as %#v prints it.
            throw invalid(ctx, name, [
              fieldErrors.invalid(
                'metadata.resourceVersion',
                new GoValue('0x0'),
                'must be specified for an update',
              ),
            ])
          return structuredClone(obj)
        },
        query,
      )
      return { object, created: false }
    } catch (err) {
      if (!mayCreate || !isNotFoundOf(err, ctx.gr, name)) throw err
    }
    const fresh = structuredClone(obj)
    const m = metaOf(fresh)
    m.name = name
    // The stored object is gone: a resourceVersion from the body has nothing to guard.
    delete m.resourceVersion
    try {
      return { object: await createObject(ctx, fresh, query), created: true }
    } catch (err) {
      // Created by someone else meanwhile: update theirs.
      if (err instanceof StatusError && err.reason === 'AlreadyExists' && attempt < RETRIES_MAX) continue
      throw err
    }
  }
}

function isNotFoundOf(err: unknown, gr: GroupResource, name: string): boolean {
  if (!(err instanceof StatusError) || err.reason !== 'NotFound') return false
  const details = err.toJSON().details
  return details?.name === name && details.kind === gr.resource
}

export async function patchObject(
  ctx: RestContext,
  name: string,
  subresource: string,
  patch: Patch,
  query: Query,
): Promise<Obj> {
  return guaranteedUpdate(
    ctx,
    name,
    subresource,
    (current) => {
      return decode(ctx.resource, applyPatch(current, patch, ctx.resource.schema), query)
    },
    query,
  )
}
