/**
 * Field ownership of ordinary writes (create, update, merge/JSON/strategic patches, `/status` and
 * `/scale`), as the fieldmanager of k8s.io/apiserver records them with structured-merge-diff's Update:
 *
 * - the writer is `fieldManager` from the query, or else the User-Agent up to its first `/`
 *   (`kubectl/v1.32.5 ...` → `kubectl`), as kube's prefixFromUserAgent; one `operation: Update` entry per
 *   manager and subresource;
 * - a create makes the manager own every field of the object as stored (defaults included, status
 *   excluded); an update makes it own the fields whose values it changed or added;
 * - the fields it changed are taken from every other manager, fields removed from the object leave
 *   every set, and an entry left with no fields is dropped;
 * - a write that changes nothing changes no entry.
 *
 * Server-side apply (apply.ts) reads these entries: applying a different value to a field an Update
 * manager owns is a conflict, printed `conflict with "kubectl-edit" using v1` as kube prints it.
 */

import { jsonEqual } from './body.js'
import {
  type FieldPath,
  fieldSetOf,
  fromFieldsV1,
  type ManagedFieldsEntry,
  NOT_FOUND,
  pathId,
  resolve,
  toFieldsV1,
} from './field-set.js'
import { metaOf, nowRfc3339, type Obj } from './objects.js'
import type { SchemaInfo } from './strategic-merge.js'

/** The longest manager name kube accepts (ValidateManagedFields). */
const MANAGER_MAX = 128

/** The manager of a write: `fieldManager`, else the User-Agent's product (kube: prefixFromUserAgent). */
export function managerOf(fieldManager: string | undefined, userAgent: string | undefined): string {
  if (fieldManager !== undefined && fieldManager !== '') return fieldManager
  return (userAgent ?? '').split('/')[0]?.slice(0, MANAGER_MAX) ?? ''
}

export interface UpdateOwnership {
  manager: string
  /** `v1`, `apps/v1`: the version the manager wrote. */
  apiVersion: string
  /** '' for the main resource, or `status` / `scale`. */
  subresource: string
  schema: SchemaInfo
}

/**
 * Sets `after.metadata.managedFields` for a write of `after` over `before` (undefined for a create).
 * Managed fields the client sent that differ from the stored ones replace them first, as kube lets a
 * client reset them (an empty list clears them).
 */
export function recordUpdate(before: Obj | undefined, after: Obj, o: UpdateOwnership): void {
  const part = o.subresource === 'status' ? 'status' : 'main'
  const stored = (before === undefined ? undefined : metaOf(before)['managedFields']) as
    | ManagedFieldsEntry[]
    | undefined
  const sent = metaOf(after)['managedFields'] as ManagedFieldsEntry[] | undefined
  const entries: ManagedFieldsEntry[] =
    sent !== undefined && !jsonEqual(sent, stored) ? [...sent] : [...(stored ?? [])]

  const afterSet = fieldSetOf(after as Record<string, unknown>, o.schema, part)
  const afterIds = new Set(afterSet.map(pathId))
  const prefixes = new Set(afterSet.flatMap((p) => p.slice(1).map((_, i) => pathId(p.slice(0, i + 1)))))
  const changed = new Set<string>()
  for (const p of afterSet) {
    const old = before === undefined ? NOT_FOUND : resolve(before, p)
    // A member with children (a keyed list item) changes only by appearing; its fields speak for it.
    if (old === NOT_FOUND || (!prefixes.has(pathId(p)) && !jsonEqual(old, resolve(after, p))))
      changed.add(pathId(p))
  }
  const removed = new Set(
    (before === undefined ? [] : fieldSetOf(before as Record<string, unknown>, o.schema, part))
      .map(pathId)
      .filter((id) => !afterIds.has(id)),
  )

  const isMine = (e: ManagedFieldsEntry) =>
    e.manager === o.manager && e.operation === 'Update' && (e.subresource ?? '') === o.subresource
  const next: ManagedFieldsEntry[] = []
  let mine: ManagedFieldsEntry | undefined
  for (const e of entries) {
    if (isMine(e)) {
      mine = e
      continue
    }
    const fields = fromFieldsV1(e.fieldsV1)
    const kept = fields.filter((p) => !changed.has(pathId(p)) && !removed.has(pathId(p)))
    if (kept.length === fields.length) next.push(e)
    else if (kept.length > 0) next.push({ ...e, fieldsV1: toFieldsV1(kept) })
  }
  const ownedBefore = fromFieldsV1(mine?.fieldsV1)
  const owned: FieldPath[] = ownedBefore.filter((p) => afterIds.has(pathId(p)))
  const ownedIds = new Set(owned.map(pathId))
  for (const p of afterSet) if (changed.has(pathId(p)) && !ownedIds.has(pathId(p))) owned.push(p)
  const same = mine !== undefined && owned.length === ownedBefore.length && changed.size === 0
  if (same && mine !== undefined) next.push(mine)
  else if (owned.length > 0)
    next.push({
      manager: o.manager,
      operation: 'Update',
      apiVersion: o.apiVersion,
      time: nowRfc3339(),
      fieldsType: 'FieldsV1',
      fieldsV1: toFieldsV1(owned),
      ...(o.subresource !== '' && { subresource: o.subresource }),
    })
  if (next.length > 0) metaOf(after)['managedFields'] = next
  else delete metaOf(after)['managedFields']
}
