/**
 * Server-side apply (PATCH with `application/apply-patch+yaml`), a first simplified version of
 * k8s.io/apiserver's fieldmanager:
 *
 * - `fieldManager` is required (422 on PatchOptions, as ValidatePatchOptions answers); `force` is only
 *   allowed on apply patches.
 * - A missing object is created from the applied configuration (defaults, validation, 201).
 * - An existing one gets the applied configuration merged in with strategic-merge semantics (lists
 *   with a merge key merge by it, other lists are replaced).
 * - Ownership is recorded in `metadata.managedFields` as one `operation: Apply` entry per manager with
 *   a FieldsV1 set of the fields its applied configuration names (`f:<field>` for fields, `k:{...}`
 *   for items of keyed lists, `v:<json>` for items of primitive sets; other lists and leaves are
 *   owned whole; the model is field-set.ts).
 * - Applying a value that differs from the live one on a field another manager owns is a conflict
 *   (409, kube's message and FieldManagerConflict causes) unless `force=true`, which takes the field
 *   away from that manager. Applying the same value makes the field shared.
 * - Fields the manager applied before, no longer applies, and nobody else owns are removed.
 *
 * - Update managers (managed-fields.ts: every other write records its writer's fields) conflict the
 *   same way; kube prints them `"kubectl-edit" using v1`.
 *
 * Not modelled: the type-aware
 * structured-merge-diff merge (the result is the strategic merge of the applied configuration),
 * conversion between versions, and apply to subresources.
 */
import { StatusError, statusErrors } from '@hakube/api'
import { isStorageError } from '@hakube/storage'
import { parse as parseYaml } from 'yaml'
import { isObject, jsonEqual, PATCH_MEDIA_TYPES } from './body.js'
import { toStatus } from './errors.js'
import {
  type FieldPath,
  fieldSetOf,
  fromFieldsV1,
  type ManagedFieldsEntry,
  NOT_FOUND,
  pathId,
  printPath,
  removePath,
  resolve,
  toFieldsV1,
} from './field-set.js'
import { createObject, decode, guaranteedUpdate, keyOf, type RestContext } from './handlers.js'
import { metaOf, nowRfc3339, type Obj } from './objects.js'
import { boolParam, type Query, queryParam } from './query.js'
import {
  type SchemaInfo,
  StrategicMergeError,
  schemaInfoFor,
  strategicMergePatch,
} from './strategic-merge.js'

type Json = Record<string, unknown>

/** Decodes an apply body: YAML (JSON is YAML) holding one object. */
export function parseApplyBody(raw: unknown): Json {
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : typeof raw === 'string' ? raw : ''
  if (text.trim() === '') throw statusErrors.badRequest("Object 'Kind' is missing in ''")
  let v: unknown
  try {
    v = parseYaml(text)
  } catch (err) {
    throw statusErrors.badRequest(`error decoding YAML: ${err instanceof Error ? err.message : String(err)}`)
  }
  if (!isObject(v)) throw statusErrors.badRequest('the body of an apply patch must be a YAML or JSON object')
  return v
}

/** ValidatePatchOptions: 422 on PatchOptions. */
export function patchOptionsInvalid(field: string, reason: string, detail: string): StatusError {
  const head = reason === 'FieldValueRequired' ? 'Required value' : 'Forbidden'
  return new StatusError({
    code: 422,
    reason: 'Invalid',
    message: `PatchOptions.meta.k8s.io "" is invalid: ${field}: ${head}: ${detail}`,
    details: {
      group: 'meta.k8s.io',
      kind: 'PatchOptions',
      causes: [{ reason, message: `${head}: ${detail}`, field }],
    },
  })
}

/** The 422 for `force` on a non-apply patch. */
export const forceNotAllowed = () =>
  patchOptionsInvalid('force', 'FieldValueForbidden', 'may not be specified for non-apply patch')

/**
 * A manager as kube's conflict messages print it: `"alice"`, `"kubectl-edit" using v1` for an Update
 * manager, with ` with subresource "status"` for a subresource's.
 */
export function printManager(e: ManagedFieldsEntry): string {
  let s = JSON.stringify(e.manager ?? '')
  if (e.subresource) s = `${s} with subresource ${JSON.stringify(e.subresource)}`
  if (e.operation === 'Update') s = `${s} using ${e.apiVersion ?? ''}`
  return s
}

function conflictError(conflicts: Array<{ manager: string; path: FieldPath }>): StatusError {
  const causes = conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${c.manager}`,
    field: printPath(c.path),
  }))
  let message: string
  const [first] = conflicts
  if (conflicts.length === 1 && first !== undefined) {
    message = `Apply failed with 1 conflict: conflict with ${first.manager}: ${printPath(first.path)}`
  } else {
    const byManager = new Map<string, string[]>()
    for (const c of conflicts)
      byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), printPath(c.path)])
    const lines: string[] = []
    for (const m of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${m}:`)
      for (const p of byManager.get(m) ?? []) lines.push(`- ${p}`)
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`
  }
  return new StatusError({ code: 409, reason: 'Conflict', message, details: { causes } })
}

function mergeStatus(err: unknown): unknown {
  if (err instanceof StrategicMergeError)
    return err.code === 500
      ? new StatusError({ code: 500, message: err.message })
      : statusErrors.badRequest(err.message)
  return err
}

/**
 * The object after `manager` applies `applied` to `current`: the merge, the removal of fields the
 * manager dropped, and the new managedFields. Throws 409 on conflicts unless `force`.
 */
export function applyTo(
  current: Obj,
  applied: Json,
  manager: string,
  force: boolean,
  apiVersion: string,
  schema: SchemaInfo,
): Obj {
  const entries = (metaOf(current)['managedFields'] ?? []) as ManagedFieldsEntry[]
  const newSet = fieldSetOf(applied, schema)
  const newIds = new Set(newSet.map(pathId))
  const mine = entries.find((e) => e.manager === manager && e.operation === 'Apply' && !e.subresource)
  const others = entries.filter((e) => e !== mine)
  // Conflicts: a field another manager owns, applied with a value other than the live one.
  const conflicts: Array<{ manager: string; path: FieldPath }> = []
  const taken = new Map<ManagedFieldsEntry, Set<string>>()
  for (const e of others) {
    for (const p of fromFieldsV1(e.fieldsV1)) {
      const id = pathId(p)
      if (!newIds.has(id)) continue
      const last = p[p.length - 1] ?? ''
      if (!last.startsWith('f:')) continue
      const live = resolve(current, p)
      const want = resolve(applied, p)
      if (live !== NOT_FOUND && jsonEqual(live, want)) continue
      conflicts.push({ manager: printManager(e), path: p })
      taken.set(e, (taken.get(e) ?? new Set()).add(id))
    }
  }
  if (conflicts.length > 0 && !force && !upgradesClientSideApply(current, manager, conflicts, schema))
    throw conflictError(conflicts)

  const bare = structuredClone(applied)
  if (isObject(bare['metadata'])) delete bare['metadata']['managedFields']
  let merged: Obj
  try {
    merged = strategicMergePatch(current, bare, schema) as Obj
  } catch (err) {
    throw mergeStatus(err)
  }
  // Fields this manager applied before and no longer applies, that nobody else owns, go away.
  const othersIds = new Set(
    others
      .flatMap((e) => fromFieldsV1(e.fieldsV1).map(pathId))
      .filter((id) => {
        for (const ids of taken.values()) if (ids.has(id)) return false
        return true
      }),
  )
  const dropped = fromFieldsV1(mine?.fieldsV1)
    .filter((p) => !newIds.has(pathId(p)) && !othersIds.has(pathId(p)))
    .sort((a, b) => a.length - b.length)
  for (const p of dropped) removePath(merged, p)

  const fieldsV1 = toFieldsV1(newSet)
  const unchanged =
    mine !== undefined &&
    jsonEqual(mine.fieldsV1, fieldsV1) &&
    mine.apiVersion === apiVersion &&
    taken.size === 0 &&
    jsonEqual(withoutManagedFields(merged), withoutManagedFields(current))
  const entry: ManagedFieldsEntry = unchanged
    ? (mine as ManagedFieldsEntry)
    : { manager, operation: 'Apply', apiVersion, time: nowRfc3339(), fieldsType: 'FieldsV1', fieldsV1 }
  const next: ManagedFieldsEntry[] = []
  let placed = false
  for (const e of entries) {
    if (e === mine) {
      next.push(entry)
      placed = true
      continue
    }
    const lost = taken.get(e)
    if (lost === undefined) {
      next.push(e)
      continue
    }
    const rest = fromFieldsV1(e.fieldsV1).filter((p) => !lost.has(pathId(p)))
    if (rest.length > 0) next.push({ ...e, fieldsV1: toFieldsV1(rest) })
  }
  if (!placed) next.push(entry)
  metaOf(merged)['managedFields'] = next
  if (manager === KUBECTL_MANAGER && lastAppliedOf(current) !== undefined)
    setLastApplied(merged, buildLastApplied(applied))
  return merged
}

/** The field manager of `kubectl apply --server-side`, whose applies upgrade client-side apply. */
const KUBECTL_MANAGER = 'kubectl'
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration'

function lastAppliedOf(o: Obj): Json | undefined {
  const annotations = metaOf(o)['annotations']
  const text = isObject(annotations) ? annotations[LAST_APPLIED] : undefined
  if (typeof text !== 'string') return undefined
  try {
    const v = JSON.parse(text) as unknown
    return isObject(v) ? v : undefined
  } catch {
    return undefined
  }
}

function setLastApplied(o: Obj, text: string): void {
  const m = metaOf(o)
  m['annotations'] = { ...(isObject(m['annotations']) ? m['annotations'] : {}), [LAST_APPLIED]: text }
}

/** kube's buildLastApplied: the applied configuration without the annotation, as JSON and a newline. */
function buildLastApplied(applied: Json): string {
  const c = structuredClone(applied)
  const m = c['metadata']
  if (isObject(m) && isObject(m['annotations'])) {
    delete m['annotations'][LAST_APPLIED]
    if (Object.keys(m['annotations']).length === 0) delete m['annotations']
  }
  return `${JSON.stringify(c)}\n`
}

/**
 * kube's lastAppliedManager: `kubectl apply --server-side` on an object that was applied client-side
 * may take over, without conflicts, the fields whose live values are still those of the
 * last-applied-configuration annotation (the upgrade from client-side to server-side apply).
 */
function upgradesClientSideApply(
  current: Obj,
  manager: string,
  conflicts: ReadonlyArray<{ path: FieldPath }>,
  schema: SchemaInfo,
): boolean {
  if (manager !== KUBECTL_MANAGER) return false
  const last = lastAppliedOf(current)
  if (last === undefined) return false
  const allowed = new Set(
    fieldSetOf(last, schema)
      .filter((p) => {
        const live = resolve(current, p)
        return live !== NOT_FOUND && jsonEqual(live, resolve(last, p))
      })
      .map(pathId),
  )
  return conflicts.every((c) => allowed.has(pathId(c.path)))
}

function withoutManagedFields(o: Obj): Obj {
  const c = structuredClone(o)
  delete metaOf(c)['managedFields']
  return c
}

/** PATCH with an apply patch: creates the object when missing (`created`), otherwise merges into it. */
export async function applyObject(
  ctx: RestContext,
  name: string,
  subresource: string,
  applied: Json,
  query: Query,
): Promise<{ object: Obj; created: boolean }> {
  const manager = queryParam(query, 'fieldManager') ?? ''
  if (manager === '')
    throw patchOptionsInvalid('fieldManager', 'FieldValueRequired', 'is required for apply patch')
  if (subresource !== '') throw statusErrors.unsupportedMediaType(PATCH_MEDIA_TYPES)
  const force = boolParam(query, 'force')
  const { resource } = ctx
  const apiVersion = resource.group === '' ? resource.version : `${resource.group}/${resource.version}`
  const schema = schemaInfoFor(resource.schema)
  // Type errors and a wrong apiVersion/kind are reported before anything is read.
  decode(resource, applied, query)
  const appliedName = isObject(applied['metadata']) ? applied['metadata']['name'] : undefined
  if (appliedName !== undefined && appliedName !== name)
    throw statusErrors.badRequest(
      `the name of the object (${String(appliedName)}) does not match the name on the URL (${name})`,
    )
  for (let attempt = 0; ; attempt++) {
    let exists = true
    try {
      await ctx.storage.get(keyOf(ctx, name))
    } catch (err) {
      if (!isStorageError(err, 'NotFound')) throw toStatus(err, ctx.gr, name)
      exists = false
    }
    if (!exists) {
      const body = applyTo({}, applied, manager, force, apiVersion, schema)
      metaOf(body).name = name
      try {
        return { object: await createObject(ctx, body, query, false), created: true }
      } catch (err) {
        // Someone created it meanwhile: apply to theirs.
        if (err instanceof StatusError && err.code === 409 && attempt < 3) continue
        throw err
      }
    }
    try {
      const object = await guaranteedUpdate(
        ctx,
        name,
        subresource,
        (current) => decode(resource, applyTo(current, applied, manager, force, apiVersion, schema), query),
        query,
        null,
      )
      return { object, created: false }
    } catch (err) {
      // Deleted between the read and the update: create it.
      if (err instanceof StatusError && err.code === 404 && attempt < 3) continue
      throw err
    }
  }
}
