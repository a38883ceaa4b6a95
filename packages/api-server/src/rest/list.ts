/**
 * LIST as k8s.io/apiserver's etcd3 store serves it (pkg/storage/etcd3/store.go GetList, 1.32):
 *
 * - `resourceVersion` unset: a linearizable read of the latest state; `0`: any recent state
 *   (serializable); `N` with `resourceVersionMatch=NotOlderThan` (or no match and no limit): the
 *   latest state, 504 `Too large resource version` if the store is behind N; `Exact` (or, legacy, `N`
 *   with a `limit`): the state at revision N, 410 Expired once compacted.
 * - `limit`/`continue`: pages are filled with items that pass the selectors; the continue token is
 *   kube's own (base64url of `{"v":"meta.k8s.io/v1","rv":R,"start":"<key after prefix>\u0000"}`), so
 *   every page is read at the first page's revision; a compacted revision gets 410 Expired.
 * - `labelSelector` / `fieldSelector` with the kind's selectable fields; 400 with kube's text when bad.
 * - Through the watch cache (--watch-cache, CachedStorage), as kube's cacher: `0` and unset are
 *   answered from the cache (unset once it has caught up with the store's revision); `N`
 *   (NotOlderThan) waits up to 3 s for the cache to reach N, then answers from it (else from the
 *   store); Exact and continues read the store at their revision.
 */
import {
  apiVersionOf,
  convertFieldSelector,
  type FieldSelector,
  FieldSelectorError,
  type LabelSelector,
  LabelSelectorError,
  objectFields,
  parseFieldSelector,
  parseLabelSelector,
  type ResourceInfo,
  StatusError,
  statusErrors,
} from '@hakube/api'
import { isStorageError, resourcePrefix, type Storage } from '@hakube/storage'
import { storageCall, toStatus } from './errors.js'
import { invalidResourceVersion, type Obj, parseResourceVersion, toWire } from './objects.js'
import { intParam, type Query, queryParam } from './query.js'

export interface Selectors {
  label: LabelSelector
  field: FieldSelector
}

export function parseSelectors(resource: ResourceInfo, query: Query, name = ''): Selectors {
  try {
    const label = parseLabelSelector(queryParam(query, 'labelSelector') ?? '')
    let fieldText = queryParam(query, 'fieldSelector') ?? ''
    // A watch on a named object (`/watch/.../pods/x`) is a watch with `metadata.name=x`.
    if (name !== '')
      fieldText = fieldText === '' ? `metadata.name=${name}` : `${fieldText},metadata.name=${name}`
    const field = convertFieldSelector(resource.kind, parseFieldSelector(fieldText))
    return { label, field }
  } catch (err) {
    if (err instanceof LabelSelectorError || err instanceof FieldSelectorError)
      throw statusErrors.badRequest(err.message)
    throw err
  }
}

export function selects(resource: ResourceInfo, sel: Selectors, obj: Obj): boolean {
  if (!sel.label.empty && !sel.label.matches(obj.metadata?.labels)) return false
  if (!sel.field.empty && !sel.field.matches(objectFields(resource.kind, obj))) return false
  return true
}

const CONTINUE_VERSION = 'meta.k8s.io/v1'

export function encodeContinue(lastKey: string, prefix: string, revision: number): string {
  const start = `${lastKey.slice(prefix.length)}\u0000`
  return Buffer.from(JSON.stringify({ v: CONTINUE_VERSION, rv: revision, start })).toString('base64url')
}

/**
 * kube's decodeContinue: the revision (undefined: the latest) and the key to continue strictly
 * after.
 */
export function decodeContinue(
  token: string,
  prefix: string,
): { revision: number | undefined; after: string } {
  const bad = (why: string) =>
    statusErrors.badRequest(`invalid continue token: continue key is not valid: ${why}`)
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'))
  } catch {
    throw bad('illegal base64 data or malformed JSON')
  }
  const t = parsed as { v?: unknown; rv?: unknown; start?: unknown }
  if (t.v !== CONTINUE_VERSION)
    throw bad(`server does not recognize this encoded key version ${JSON.stringify(t.v)}`)
  // A negative revision (handleCompactedErrorForPaging's -1) continues at the latest state.
  if (typeof t.rv !== 'number' || !Number.isInteger(t.rv) || t.rv === 0)
    throw bad('incorrect encoded start resourceVersion (version meta.k8s.io/v1)')
  if (typeof t.start !== 'string' || t.start === '')
    throw bad('encoded start key empty (version meta.k8s.io/v1)')
  if (t.start.split('/').includes('..')) throw bad('path traversal attempt detected')
  const start = t.start.endsWith('\u0000') ? t.start.slice(0, -1) : t.start
  return { revision: t.rv > 0 ? t.rv : undefined, after: `${prefix}${start}` }
}

const CONTINUE_EXPIRED =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.'

/**
 * etcd3 store's handleCompactedErrorForPaging: 410 Expired carrying, in the Status's
 * `metadata.continue`, the same start key at revision -1, which continues the list at the latest
 * state (an inconsistent list, as the message says).
 */
function continueExpired(after: string, prefix: string): StatusError {
  const err = statusErrors.resourceExpired(CONTINUE_EXPIRED)
  err.status.metadata.continue = encodeContinue(after, prefix, -1)
  return err
}

/** storage.NewTooLargeResourceVersionError as the api-server answers it (504, retry after 1 s). */
export function tooLargeResourceVersion(requested: number, current: number): StatusError {
  return new StatusError({
    code: 504,
    reason: 'Timeout',
    message: `Timeout: Too large resource version: ${requested}, current: ${current}`,
    details: {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    },
  })
}

/** 422 on ListOptions, as ValidateListOptions reports it. */
export function listOptionsInvalid(field: string, type: string, detail: string): StatusError {
  return new StatusError({
    code: 422,
    reason: 'Invalid',
    message: `ListOptions.meta.k8s.io "" is invalid: ${field}: ${detail}`,
    details: {
      group: 'meta.k8s.io',
      kind: 'ListOptions',
      causes: [{ reason: type, message: detail, field }],
    },
  })
}

export interface ListRead {
  revision?: number
  consistency: 'quorum' | 'any'
  after?: string
  limit: number
  /** The revision the result must not be older than (NotOlderThan). */
  notOlderThan?: number
  fromContinue: boolean
}

/** Turns list query parameters into how to read the store; 400/422 as ValidateListOptions. */
export function planListRead(query: Query, prefix: string): ListRead {
  const rvText = queryParam(query, 'resourceVersion')
  const rv = parseResourceVersion(rvText)
  if (rv !== undefined && Number.isNaN(rv)) throw invalidResourceVersion(rvText)
  const match = queryParam(query, 'resourceVersionMatch') ?? ''
  const token = queryParam(query, 'continue') ?? ''
  // int64's top is more than any store holds; past 2^53 it is the same as "no limit" and the
  // storage takes only safe integers.
  const limit = Math.min(intParam(query, 'limit') ?? 0, Number.MAX_SAFE_INTEGER)
  if (match !== '' && match !== 'Exact' && match !== 'NotOlderThan')
    throw listOptionsInvalid(
      'resourceVersionMatch',
      'FieldValueNotSupported',
      `Unsupported value: ${JSON.stringify(match)}: supported values: "Exact", "NotOlderThan", ""`,
    )
  if (match !== '' && rv === undefined)
    throw listOptionsInvalid(
      'resourceVersionMatch',
      'FieldValueForbidden',
      'Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
    )
  if (match !== '' && token !== '')
    throw listOptionsInvalid(
      'resourceVersionMatch',
      'FieldValueForbidden',
      'Forbidden: resourceVersionMatch is forbidden when continue is provided',
    )
  if (match === 'Exact' && rv === 0)
    throw listOptionsInvalid(
      'resourceVersionMatch',
      'FieldValueForbidden',
      'Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
    )
  if (token !== '') {
    if (rv !== undefined && rv !== 0)
      throw statusErrors.badRequest('specifying resource version is not allowed when using continue')
    const { revision, after } = decodeContinue(token, prefix)
    return {
      ...(revision !== undefined && { revision }),
      after,
      consistency: 'quorum',
      limit,
      fromContinue: true,
    }
  }
  if (rv === undefined) return { consistency: 'quorum', limit, fromContinue: false }
  if (rv === 0) return { consistency: 'any', limit, fromContinue: false }
  if (match === 'Exact' || (match === '' && limit > 0))
    return { revision: rv, consistency: 'quorum', limit, fromContinue: false }
  return { consistency: 'quorum', limit, notOlderThan: rv, fromContinue: false }
}

/** A storage that can wait for its cache to reach a revision (CachedStorage, the watch cache). */
interface FreshnessWaiter {
  waitUntilFresh(prefix: string, revision: number): Promise<boolean>
}

function canWaitUntilFresh(storage: Storage): storage is Storage & FreshnessWaiter {
  return typeof (storage as Partial<FreshnessWaiter>).waitUntilFresh === 'function'
}

export interface ListOutcome {
  items: Obj[]
  revision: number
  continueToken?: string
  remainingItemCount?: number
}

/** Reads one list page (or everything without a limit) from the store. */
export async function readList(
  storage: Storage,
  resource: ResourceInfo,
  namespace: string,
  sel: Selectors,
  plan: ListRead,
): Promise<ListOutcome> {
  const gr = { group: resource.group, resource: resource.plural }
  const prefix = resourcePrefix(resource.plural, namespace)
  if (plan.revision !== undefined && !plan.fromContinue) {
    const current = await storageCall(gr, '', () => storage.currentRevision())
    if (plan.revision > current) throw tooLargeResourceVersion(plan.revision, current)
  }
  // NotOlderThan over the watch cache, as kube's cacher: wait (bounded, 3 s) until the cache has
  // reached N, then answer from it; a cache still behind leaves the read consistent (quorum).
  let consistency = plan.consistency
  if (plan.notOlderThan !== undefined && plan.revision === undefined && canWaitUntilFresh(storage)) {
    const notOlderThan = plan.notOlderThan
    if (await storageCall(gr, '', () => storage.waitUntilFresh(prefix, notOlderThan))) consistency = 'any'
  }
  const items: Obj[] = []
  let revision = plan.revision
  let after = plan.after
  let continueAfter: string | undefined
  let remainingItemCount: number | undefined
  const filtering = !sel.label.empty || !sel.field.empty
  for (;;) {
    let page: Awaited<ReturnType<Storage['list']>>
    try {
      page = await storage.list({
        prefix,
        ...(revision !== undefined ? { revision } : { consistency }),
        ...(plan.limit > 0 && { limit: plan.limit }),
        ...(after !== undefined && { continueAfter: after }),
      })
    } catch (err) {
      if (isStorageError(err, 'TooOld')) {
        if (plan.fromContinue) throw continueExpired(plan.after ?? prefix, prefix)
        throw statusErrors.resourceExpired('The resourceVersion for the provided list is too old.')
      }
      throw toStatus(err, gr, '')
    }
    revision = page.revision
    if (plan.notOlderThan !== undefined && page.revision < plan.notOlderThan)
      throw tooLargeResourceVersion(plan.notOlderThan, page.revision)
    let stoppedAt: number | undefined
    for (let i = 0; i < page.items.length; i++) {
      const stored = page.items[i]
      if (stored === undefined) continue
      const obj = toWire(resource, stored)
      if (!selects(resource, sel, obj)) continue
      items.push(obj)
      if (plan.limit > 0 && items.length >= plan.limit) {
        stoppedAt = i
        break
      }
    }
    if (plan.limit === 0) break
    if (stoppedAt !== undefined) {
      const last = page.items[stoppedAt]
      const moreInPage = stoppedAt < page.items.length - 1
      if (moreInPage || page.continueAfter !== undefined) {
        continueAfter = last?.key
        if (!filtering && !moreInPage) remainingItemCount = page.remainingItemCount
      }
      break
    }
    if (page.continueAfter === undefined) break
    after = page.continueAfter
  }
  return {
    items,
    revision: revision ?? 0,
    ...(continueAfter !== undefined && {
      continueToken: encodeContinue(continueAfter, prefix, revision ?? 0),
    }),
    ...(remainingItemCount !== undefined && { remainingItemCount }),
  }
}

/** The `<Kind>List` body. */
export function listBody(resource: ResourceInfo, out: ListOutcome): Obj {
  return {
    kind: resource.listKind,
    apiVersion: apiVersionOf(resource),
    metadata: {
      resourceVersion: String(out.revision),
      ...(out.continueToken !== undefined && { continue: out.continueToken }),
      ...(out.remainingItemCount !== undefined && { remainingItemCount: out.remainingItemCount }),
    },
    items: out.items,
  }
}
