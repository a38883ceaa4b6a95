/**
 * DELETE as k8s.io/apiserver runs it (handlers/delete.go, registry/rest/delete.go BeforeDelete,
 * registry/generic/registry/store.go Delete, pkg/registry/core/pod/strategy.go CheckGracefulDelete):
 *
 * - DeleteOptions come from the body, or from the query when the body is empty
 *   (`gracePeriodSeconds`, `propagationPolicy`, `orphanDependents`, `preconditions`). They are
 *   validated before the object is read: an unknown propagationPolicy, or one given together with
 *   orphanDependents, is 422 Invalid (`DeleteOptions.meta.k8s.io "" is invalid: ...`).
 * - Preconditions that do not match are 409 with BeforeDelete's text (the resource named by kind).
 * - Pods are deleted gracefully: the grace period is `gracePeriodSeconds`, else
 *   `spec.terminationGracePeriodSeconds`, else 0; a pod bound to no node or already Succeeded/Failed
 *   gets 0, a negative value becomes 1. A positive grace period only sets `deletionTimestamp` (now +
 *   grace) and `deletionGracePeriodSeconds`, and the node finishes the job with a DELETE of grace 0.
 *   A later DELETE may only shorten the period (the timestamp moves back by the difference); one
 *   that does not is a no-op answered with the pod. A DELETE that sets or shortens the grace period
 *   to 0 first writes the deletion fields, then removes the pod (store.Delete's
 *   updateForGracefulDeletionAndFinalizers, then Storage.Delete), so watchers see a MODIFIED with
 *   `deletionTimestamp` and `deletionGracePeriodSeconds: 0` before the DELETED, as with kube; this
 *   holds for a pod bound to no node too. A pod already marked with grace 0 is removed in one write.
 * - Objects with finalizers only get `deletionTimestamp` (grace 0) and stay until the last finalizer
 *   is removed (handlers.ts). `propagationPolicy: Foreground` adds the `foregroundDeletion`
 *   finalizer, `Orphan` (or `orphanDependents: true`) the `orphan` one, and Background drops both,
 *   as registry.deletionFinalizersForGarbageCollection does; the controller-manager's garbage
 *   collector does the work and removes them (without one running, such an object stays, as in kube).
 * - Namespaces are only marked (`deletionTimestamp`, `status.phase: Terminating`); the namespace
 *   controller empties and removes them.
 * - The answer is the object (200), or 202 when it still exists and `orphanDependents: false` was
 *   asked for, as the delete handler does.
 */
import { fieldErrors, StatusError, statusErrors } from '@hakube/api'
import { isStorageError, type StoredObject } from '@hakube/storage'
import { isObject, jsonEqual } from './body.js'
import { storageCall, toStatus } from './errors.js'
import { keyOf, RETRIES_MAX, type RestContext } from './handlers.js'
import { type ListOutcome, listBody, parseSelectors, readList } from './list.js'
import { forStorage, metaOf, nowRfc3339, type Obj, toWire } from './objects.js'
import { boolParam, parseInt64, type Query, queryParam, queryValues } from './query.js'
import { validateDryRun } from './request-options.js'

/** Namespaces NamespaceLifecycle admission refuses to delete. */
const IMMORTAL_NAMESPACES = new Set(['default', 'kube-system', 'kube-public'])
const PROPAGATION_POLICIES = ['Foreground', 'Background', 'Orphan'] as const
type PropagationPolicy = (typeof PROPAGATION_POLICIES)[number]
/** metav1.FinalizerDeleteDependents / FinalizerOrphanDependents. */
const FOREGROUND_FINALIZER = 'foregroundDeletion'
const ORPHAN_FINALIZER = 'orphan'

export interface DeleteOptions {
  gracePeriodSeconds?: number
  propagationPolicy?: PropagationPolicy
  orphanDependents?: boolean
  preconditions?: { uid?: string; resourceVersion?: string }
}

export interface DeleteOutcome {
  object: Obj
  /** False when the object is still stored (grace period running, finalizers, namespace). */
  deleted: boolean
}

/** Go's `json: cannot unmarshal ...` for a DeleteOptions field of the wrong type. */
function wrongType(field: string, value: unknown, goType: string): StatusError {
  const jsonType = Array.isArray(value) ? 'array' : typeof value === 'boolean' ? 'bool' : typeof value
  return statusErrors.badRequest(
    `json: cannot unmarshal ${jsonType} into Go struct field DeleteOptions.${field} of type ${goType}`,
  )
}

/**
 * DeleteOptions from a decoded body, or (body undefined) from the query, then validated
 * (validation.ValidateDeleteOptions).
 */
export function parseDeleteOptions(body: unknown, query: Query): DeleteOptions {
  const opts: DeleteOptions = {}
  let policy: unknown
  let dryRun: string[] = []
  if (body !== undefined) {
    if (!isObject(body))
      throw statusErrors.badRequest(
        'json: cannot unmarshal non-object into Go value of type v1.DeleteOptions',
      )
    const grace = body['gracePeriodSeconds']
    if (grace !== undefined && grace !== null) {
      if (typeof grace !== 'number' || !Number.isInteger(grace))
        throw wrongType('gracePeriodSeconds', grace, 'int64')
      opts.gracePeriodSeconds = grace
    }
    const orphan = body['orphanDependents']
    if (orphan !== undefined && orphan !== null) {
      if (typeof orphan !== 'boolean') throw wrongType('orphanDependents', orphan, 'bool')
      opts.orphanDependents = orphan
    }
    policy = body['propagationPolicy'] ?? undefined
    if (policy !== undefined && typeof policy !== 'string')
      throw wrongType('propagationPolicy', policy, 'v1.DeletionPropagation')
    const dr = body['dryRun']
    if (dr !== undefined && dr !== null) {
      if (!Array.isArray(dr)) throw wrongType('dryRun', dr, '[]string')
      for (const v of dr) if (typeof v !== 'string') throw wrongType('dryRun', v, 'string')
      dryRun = dr as string[]
    }
    const pre = body['preconditions']
    if (isObject(pre))
      opts.preconditions = {
        ...(typeof pre['uid'] === 'string' && { uid: pre['uid'] }),
        ...(typeof pre['resourceVersion'] === 'string' && { resourceVersion: pre['resourceVersion'] }),
      }
  } else {
    const grace = queryParam(query, 'gracePeriodSeconds')
    if (grace !== undefined) opts.gracePeriodSeconds = parseInt64(grace)
    if (queryParam(query, 'orphanDependents') !== undefined)
      opts.orphanDependents = boolParam(query, 'orphanDependents')
    dryRun = queryValues(query, 'dryRun')
    policy = queryParam(query, 'propagationPolicy')
    if (policy === '') policy = undefined
  }
  const errs = []
  if (policy !== undefined && opts.orphanDependents !== undefined)
    errs.push(
      fieldErrors.invalid(
        'propagationPolicy',
        policy,
        'orphanDependents and deletionPropagation cannot be both set',
      ),
    )
  if (policy !== undefined && !(PROPAGATION_POLICIES as readonly unknown[]).includes(policy))
    errs.push(fieldErrors.notSupported('propagationPolicy', policy, [...PROPAGATION_POLICIES, 'nil']))
  errs.push(...validateDryRun(dryRun))
  if (errs.length > 0) throw statusErrors.invalid({ group: 'meta.k8s.io', kind: 'DeleteOptions' }, '', errs)
  if (policy !== undefined) opts.propagationPolicy = policy as PropagationPolicy
  return opts
}

/** rest.BeforeDelete's early precondition check; the conflict names the kind, not the resource. */
function checkPreconditions(ctx: RestContext, obj: Obj, opts: DeleteOptions): void {
  const m = metaOf(obj)
  const pre = opts.preconditions
  const gr = { group: ctx.resource.group, resource: ctx.resource.kind }
  const name = m.name ?? ''
  if (pre?.uid !== undefined && pre.uid !== m.uid)
    throw statusErrors.conflict(
      gr,
      name,
      `the UID in the precondition (${pre.uid}) does not match the UID in record (${m.uid ?? ''}). The object might have been deleted and then recreated`,
    )
  if (pre?.resourceVersion !== undefined && pre.resourceVersion !== m.resourceVersion)
    throw statusErrors.conflict(
      gr,
      name,
      `the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${m.resourceVersion ?? ''}). The object might have been modified`,
    )
}

/** podStrategy.CheckGracefulDelete: the grace period a first DELETE of this pod gets. */
function podGracePeriodSeconds(pod: Obj, opts: DeleteOptions): number {
  const spec = (isObject(pod.spec) ? pod.spec : {}) as {
    nodeName?: string
    terminationGracePeriodSeconds?: number
  }
  const phase = isObject(pod.status) ? pod.status['phase'] : undefined
  let period = opts.gracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 0
  if (spec.nodeName === undefined || spec.nodeName === '') period = 0
  if (phase === 'Failed' || phase === 'Succeeded') period = 0
  return period < 0 ? 1 : period
}

type GracefulPlan = { graceful: boolean; pending: boolean }

/**
 * BeforeDelete for kinds with a graceful-delete strategy (pods): sets the deletion fields on `obj`
 * (a copy) and says whether the deletion is graceful or already pending.
 */
function beforeGracefulDelete(obj: Obj, opts: DeleteOptions, nowMs: number): GracefulPlan {
  const m = metaOf(obj)
  // Negative values are treated as 1 s on the delete path.
  const asked =
    opts.gracePeriodSeconds !== undefined && opts.gracePeriodSeconds < 0 ? 1 : opts.gracePeriodSeconds
  if (m.deletionTimestamp !== undefined) {
    const current = m['deletionGracePeriodSeconds']
    // Without a grace period left (or after a failed delete), it is deleted now.
    if (typeof current !== 'number' || current === 0) return { graceful: false, pending: false }
    // Only a shorter grace period may be given.
    if (asked === undefined || asked >= current) return { graceful: false, pending: true }
    const startMs = Date.parse(m.deletionTimestamp) - current * 1000
    m.deletionTimestamp = nowRfc3339(startMs + asked * 1000)
    m['deletionGracePeriodSeconds'] = asked
    return { graceful: true, pending: false }
  }
  const period = podGracePeriodSeconds(obj, {
    ...opts,
    ...(asked !== undefined && { gracePeriodSeconds: asked }),
  })
  m.deletionTimestamp = nowRfc3339(nowMs + period * 1000)
  m['deletionGracePeriodSeconds'] = period
  return { graceful: true, pending: false }
}

/**
 * deletionFinalizersForGarbageCollection, without the `orphan` finalizer (no garbage collector
 * would remove it yet): the finalizers the object should carry, or undefined for no change.
 */
function gcFinalizers(obj: Obj, opts: DeleteOptions): string[] | undefined {
  const policy =
    opts.orphanDependents === false ? 'Background' : opts.orphanDependents ? 'Orphan' : opts.propagationPolicy
  if (policy === undefined) return undefined
  const old = metaOf(obj).finalizers ?? []
  const next = old.filter((f) => f !== FOREGROUND_FINALIZER && f !== ORPHAN_FINALIZER)
  if (policy === 'Orphan') next.push(ORPHAN_FINALIZER)
  if (policy === 'Foreground') next.push(FOREGROUND_FINALIZER)
  const same = next.length === old.length && next.every((f) => old.includes(f))
  return same ? undefined : next
}

export async function deleteObject(
  ctx: RestContext,
  name: string,
  opts: DeleteOptions,
  query: Query,
): Promise<DeleteOutcome> {
  const { resource } = ctx
  const key = keyOf(ctx, name)
  const dryRun = queryParam(query, 'dryRun') === 'All'
  for (let attempt = 0; ; attempt++) {
    const current = await storageCall(ctx.gr, name, () => ctx.storage.get<Obj>(key))
    // NamespaceLifecycle admission, which kube runs once the object was read.
    if (resource.kind === 'Namespace' && IMMORTAL_NAMESPACES.has(name))
      throw statusErrors.forbidden(ctx.gr, name, 'this namespace may not be deleted')
    const stored = toWire(resource, current)
    checkPreconditions(ctx, stored, opts)
    const obj = structuredClone(stored)
    const m = metaOf(obj)
    let graceful = false
    if (resource.kind === 'Namespace') {
      if (m.deletionTimestamp !== undefined) return { object: stored, deleted: false }
      m.deletionTimestamp = nowRfc3339()
      m['deletionGracePeriodSeconds'] = 0
      obj.status = { ...(isObject(obj.status) ? obj.status : {}), phase: 'Terminating' }
    } else {
      if (resource.kind === 'Pod') {
        const plan = beforeGracefulDelete(obj, opts, Date.now())
        // The deletion already runs with a grace period no longer than asked: nothing to do.
        if (plan.pending) return { object: stored, deleted: false }
        graceful = plan.graceful
      }
      const finalizers = gcFinalizers(obj, opts)
      if (finalizers !== undefined) m.finalizers = finalizers
      if (finalizers !== undefined && finalizers.length === 0) delete m.finalizers
      if (!graceful && (m.finalizers ?? []).length > 0) {
        m['deletionGracePeriodSeconds'] = 0
        m.deletionTimestamp ??= nowRfc3339()
      }
    }
    const pendingFinalizers = (m.finalizers ?? []).length > 0
    const deleteNow =
      resource.kind !== 'Namespace' &&
      !pendingFinalizers &&
      (!graceful || m['deletionGracePeriodSeconds'] === 0)
    if (dryRun) return { object: obj, deleted: deleteNow }
    try {
      if (!deleteNow) {
        if (jsonEqual(forStorage(obj), forStorage(stored))) return { object: stored, deleted: false }
        const updated = await ctx.storage.update(key, forStorage(obj), current.modRevision)
        return { object: toWire(resource, updated), deleted: false }
      }
      // A graceful delete that ends at grace 0 writes the deletion fields first (kube's watchers
      // see MODIFIED, then DELETED). If another write comes between, the retry finds the pod
      // marked with grace 0 and removes it directly; if someone else removed it meanwhile, that
      // is tolerated as kube does (ignoreNotFound).
      let marked: StoredObject<Obj> | undefined
      if (graceful) marked = await ctx.storage.update(key, forStorage(obj), current.modRevision)
      const deleted = toWire(resource, await removeMarked(ctx, key, marked ?? current, marked !== undefined))
      await ctx.serviceIps?.releaseOf(resource, deleted)
      const dm = metaOf(deleted)
      if (m.deletionTimestamp !== undefined) dm.deletionTimestamp = m.deletionTimestamp
      if (m['deletionGracePeriodSeconds'] !== undefined)
        dm['deletionGracePeriodSeconds'] = m['deletionGracePeriodSeconds']
      return { object: deleted, deleted: true }
    } catch (err) {
      if (isStorageError(err, 'Conflict') && attempt < RETRIES_MAX) continue
      throw toStatus(err, ctx.gr, name)
    }
  }
}

/** Deletes the key at `at`'s revision; `tolerateGone`: a NotFound answers with `at`. */
async function removeMarked(
  ctx: RestContext,
  key: string,
  at: StoredObject<Obj>,
  tolerateGone: boolean,
): Promise<StoredObject<Obj>> {
  try {
    return await ctx.storage.delete<Obj>(key, { expectedModRevision: at.modRevision })
  } catch (err) {
    if (tolerateGone && isStorageError(err, 'NotFound')) return at
    throw err
  }
}

/** The status code of a DELETE answer (handlers/delete.go). */
export function deleteStatusCode(outcome: DeleteOutcome, opts: DeleteOptions): number {
  return !outcome.deleted && opts.orphanDependents === false ? 202 : 200
}

/** DELETE on a collection: every selected object is deleted; the answer lists them. */
export async function deleteCollection(ctx: RestContext, opts: DeleteOptions, query: Query): Promise<Obj> {
  const sel = parseSelectors(ctx.resource, query)
  const all = await readList(ctx.storage, ctx.resource, ctx.namespace, sel, {
    consistency: 'quorum',
    limit: 0,
    fromContinue: false,
  })
  const deleted: Obj[] = []
  for (const item of all.items) {
    const name = metaOf(item).name ?? ''
    const nsCtx = { ...ctx, namespace: metaOf(item).namespace ?? ctx.namespace }
    try {
      deleted.push((await deleteObject(nsCtx, name, opts, query)).object)
    } catch (err) {
      if (err instanceof StatusError && err.code === 404) continue
      throw err
    }
  }
  const out: ListOutcome = { items: deleted, revision: all.revision }
  return listBody(ctx.resource, out)
}
