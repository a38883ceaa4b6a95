/**
 * The field-set model of managedFields, shared by server-side apply (apply.ts) and the ownership of
 * ordinary writes (managed-fields.ts), as structured-merge-diff's fieldpath package models it:
 *
 * - a field set is a list of membership paths, each a list of FieldsV1 keys: `f:<field>` for a field,
 *   `k:{...}` for an item of a list with a merge key, `v:<json>` for an item of a primitive set;
 * - FieldsV1 is the same set as a tree, where `.` marks a member that also has children;
 * - a path resolves against an object to the value it names, or to `NOT_FOUND`.
 *
 * Kept apart from apply.ts so that the write path (handlers.ts → managed-fields.ts) does not import
 * server-side apply, which itself calls into the write path.
 */
import { isObject, jsonEqual } from './body.js'
import type { SchemaInfo } from './strategic-merge.js'

type Json = Record<string, unknown>

export interface ManagedFieldsEntry {
  manager?: string
  operation?: string
  apiVersion?: string
  time?: string
  fieldsType?: string
  fieldsV1?: Json
  subresource?: string
}

/** A field path as FieldsV1 keys (`f:spec`, `k:{"name":"a"}`, `v:"x"`). */
export type FieldPath = readonly string[]

export const pathId = (p: FieldPath) => JSON.stringify(p)

/** Metadata fields no manager owns. */
const UNOWNED_META = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
])

/**
 * The set of fields an object (or applied configuration) names, as membership paths: everything but
 * status (`part: 'main'`, the main resource's fields) or status alone (`part: 'status'`, the fields of
 * the `/status` subresource).
 */
export function fieldSetOf(applied: Json, schema: SchemaInfo, part: 'main' | 'status' = 'main'): FieldPath[] {
  const out: FieldPath[] = []
  const walkMap = (m: Json, path: FieldPath, schemaPath: string[]) => {
    for (const [k, v] of Object.entries(m)) {
      if (path.length === 0 && (k === 'apiVersion' || k === 'kind')) continue
      if (path.length === 0 && (k === 'status') !== (part === 'status')) continue
      if (path.length === 1 && path[0] === 'f:metadata' && UNOWNED_META.has(k)) continue
      walkValue(v, [...path, `f:${k}`], [...schemaPath, k])
    }
  }
  const walkValue = (v: unknown, path: FieldPath, schemaPath: string[]) => {
    if (isObject(v)) {
      if (Object.keys(v).length === 0) out.push(path)
      else walkMap(v, path, schemaPath)
      return
    }
    if (Array.isArray(v)) {
      const info = schema(schemaPath)
      const merging = (info?.patchStrategy ?? '').split(',').includes('merge')
      const key = info?.patchMergeKey
      if (merging && key !== undefined && v.every((i) => isObject(i) && i[key] !== undefined)) {
        for (const item of v as Json[]) {
          const itemPath = [...path, `k:${JSON.stringify({ [key]: item[key] })}`]
          out.push(itemPath)
          walkMap(item, itemPath, schemaPath)
        }
        return
      }
      if (merging && key === undefined && v.every((i) => !isObject(i) && !Array.isArray(i))) {
        for (const item of v) out.push([...path, `v:${JSON.stringify(item)}`])
        return
      }
    }
    out.push(path)
  }
  walkMap(applied, [], [])
  return out
}

/** Membership paths to FieldsV1 (`.` marks a member that also has children). */
export function toFieldsV1(paths: readonly FieldPath[]): Json {
  const root: Json = {}
  const members = new Set(paths.map(pathId))
  for (const p of paths) {
    let node = root
    for (const seg of p) {
      if (!isObject(node[seg])) node[seg] = {}
      node = node[seg] as Json
    }
  }
  const mark = (node: Json, path: string[]) => {
    for (const [k, child] of Object.entries(node)) {
      if (k === '.' || !isObject(child)) continue
      const p = [...path, k]
      mark(child, p)
      if (members.has(pathId(p)) && Object.keys(child).length > 0) child['.'] = {}
    }
  }
  mark(root, [])
  return root
}

/** FieldsV1 to membership paths. */
export function fromFieldsV1(fields: unknown): FieldPath[] {
  const out: FieldPath[] = []
  const walk = (node: Json, path: string[]) => {
    for (const [k, child] of Object.entries(node)) {
      if (k === '.') continue
      const p = [...path, k]
      const children = isObject(child) ? Object.keys(child).filter((c) => c !== '.') : []
      if (children.length === 0 || (isObject(child) && '.' in child)) out.push(p)
      if (isObject(child)) walk(child, p)
    }
  }
  if (isObject(fields)) walk(fields, [])
  return out
}

export const NOT_FOUND = Symbol('not found')

/** The parent container of a path's last element and how to address that element. */
export function resolve(doc: unknown, path: FieldPath): unknown {
  let cur: unknown = doc
  for (const seg of path) {
    cur = step(cur, seg)
    if (cur === NOT_FOUND) return NOT_FOUND
  }
  return cur
}

function step(cur: unknown, seg: string): unknown {
  if (seg.startsWith('f:')) {
    if (!isObject(cur) || !(seg.slice(2) in cur)) return NOT_FOUND
    return cur[seg.slice(2)]
  }
  if (!Array.isArray(cur)) return NOT_FOUND
  const i = indexIn(cur, seg)
  return i < 0 ? NOT_FOUND : cur[i]
}

function indexIn(list: unknown[], seg: string): number {
  if (seg.startsWith('k:')) {
    const key = JSON.parse(seg.slice(2)) as Json
    return list.findIndex((i) => isObject(i) && Object.entries(key).every(([k, v]) => jsonEqual(i[k], v)))
  }
  if (seg.startsWith('v:')) {
    const value = JSON.parse(seg.slice(2)) as unknown
    return list.findIndex((i) => jsonEqual(i, value))
  }
  return -1
}

/** Removes the element a path names from `doc` (in place); a missing one is ignored. */
export function removePath(doc: Json, path: FieldPath): void {
  const parent = resolve(doc, path.slice(0, -1))
  const last = path[path.length - 1] ?? ''
  if (last.startsWith('f:')) {
    if (isObject(parent)) delete parent[last.slice(2)]
  } else if (Array.isArray(parent)) {
    const i = indexIn(parent, last)
    if (i >= 0) parent.splice(i, 1)
  }
}

/** `.spec.replicas`, `.spec.template.spec.containers[name="api"].image` as fieldpath prints them. */
export function printPath(path: FieldPath): string {
  return path
    .map((seg) => {
      if (seg.startsWith('f:')) return `.${seg.slice(2)}`
      if (seg.startsWith('k:')) {
        const key = JSON.parse(seg.slice(2)) as Json
        return `[${Object.entries(key)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(',')}]`
      }
      if (seg.startsWith('v:')) return `[=${seg.slice(2)}]`
      return seg
    })
    .join('')
}
