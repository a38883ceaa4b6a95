/**
 * Strategic merge patch (`application/strategic-merge-patch+json`) as the server applies it:
 * k8s.io/apimachinery/pkg/util/strategicpatch `StrategicMergeMapPatch` with the server's options
 * (MergeParallelList and IgnoreUnmatchedNulls).
 *
 * - Maps merge recursively; `null` removes a key (a null for a missing key is dropped).
 * - A list whose field has `patchStrategy: merge` and a `patchMergeKey` merges by that key: a patch
 *   item merges into the live item with the same key value, new items are added; the result keeps
 *   the patch's relative order with the live-only items interleaved by their live order.
 * - A list of primitives with `patchStrategy: merge` (finalizers) is merged as a set.
 * - Any other list is replaced whole, as are values whose types differ.
 * - Directives: `$patch: replace` / `$patch: delete` on a map, `{"$patch": "replace"}` and
 *   `{<key>: v, "$patch": "delete"}` items in a merging list, `$setElementOrder/<list>`,
 *   `$deleteFromPrimitiveList/<list>` and `$retainKeys`.
 *
 * Field metadata comes from a `SchemaInfo`: a function from a field path (field names from the root;
 * list items are transparent, map values take the map's name) to the field's patch strategy and
 * merge key. `schemaInfoFromJsonSchema` derives one from the JSON Schema `z.toJSONSchema` makes of a
 * kind's zod schema (the `x-kubernetes-patch-*` extensions carried by `.meta()`); paths it does not
 * describe merge maps as JSON merge patch and replace lists.
 *
 * Errors are `StrategicMergeError`s carrying the HTTP code kube-apiserver answers with
 * (handlers/patch.go `interpretStrategicMergePatchError`: 400 for malformed directives, 422 for lists
 * of lists, and 500 for the rest, e.g. a missing merge key) and the text of k8s.io/apimachinery's
 * mergepatch errors.
 */
import type { ResourceInfo } from '@hakube/api'

/** A kind's zod schema. */
type KindSchema = ResourceInfo['schema']

/** The `patchStrategy` / `patchMergeKey` struct tags of one field. */
export interface FieldPatchInfo {
  /** Comma separated as in the Go tag: `merge`, `replace`, `retainKeys`, `merge,retainKeys`. */
  readonly patchStrategy?: string
  readonly patchMergeKey?: string
}

export type SchemaInfo = (path: readonly string[]) => FieldPatchInfo | undefined

/** No metadata anywhere: maps merge, lists are replaced. */
export const noSchemaInfo: SchemaInfo = () => undefined

/** A SchemaInfo from a table keyed by dotted field paths (`spec.containers`). */
export function schemaInfoFromTable(table: Readonly<Record<string, FieldPatchInfo>>): SchemaInfo {
  return (path) => table[path.join('.')]
}

export class StrategicMergeError extends Error {
  constructor(
    readonly code: 400 | 422 | 500,
    message: string,
  ) {
    super(message)
  }
}

const DIRECTIVE = '$patch'
const RETAIN_KEYS = '$retainKeys'
const SET_ORDER = '$setElementOrder/'
const DELETE_PRIMITIVE = '$deleteFromPrimitiveList/'

const errBadSetOrder = () => new StrategicMergeError(400, 'invalid patch format of setElementOrder list')
const errBadPrimitiveList = () => new StrategicMergeError(400, 'invalid patch format of primitive list')
const errBadRetainKeys = () => new StrategicMergeError(400, 'invalid patch format of retainKeys')
const errListOfLists = () => new StrategicMergeError(422, 'lists of lists are not supported')
const errNoMergeKey = (m: unknown, key: string) =>
  new StrategicMergeError(500, `map: ${goFormat(m)} does not contain declared merge key: ${key}`)
const errBadPatchType = (t: unknown, m: unknown) =>
  new StrategicMergeError(500, `unknown patch type: ${goFormat(t)} in map: ${goFormat(m)}`)
const errBadArgType = (expected: string, actual: unknown) =>
  new StrategicMergeError(500, `expected a ${expected}, but received a ${goTypeOf(actual)}`)

type JsonMap = Record<string, unknown>

function isMap(v: unknown): v is JsonMap {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** Go's `%v` of a decoded JSON value (maps print with sorted keys). */
function goFormat(v: unknown): string {
  if (v === null || v === undefined) return '<nil>'
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`
  if (isMap(v))
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${goFormat(v[k])}`)
      .join(' ')}]`
  return String(v)
}

function goTypeOf(v: unknown): string {
  if (v === null || v === undefined) return '%!s(<nil>)'
  if (Array.isArray(v)) return '[]interface {}'
  if (isMap(v)) return 'map[string]interface {}'
  if (typeof v === 'number') return 'float64'
  return typeof v
}

function strategiesOf(info: FieldPatchInfo | undefined): { retainKeys: boolean; strategy: string } {
  const parts = (info?.patchStrategy ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  return {
    retainKeys: parts.includes('retainKeys'),
    strategy: parts.find((s) => s !== 'retainKeys') ?? '',
  }
}

/** Scalars compare by value (JSON numbers, strings, booleans, null). */
function scalarKey(v: unknown): string {
  return JSON.stringify(v) ?? 'undefined'
}

/**
 * Applies `patch` to `original` and returns the result; neither argument is modified. A patch that
 * is not a JSON object is refused as kube-apiserver refuses it.
 */
export function strategicMergePatch(original: unknown, patch: unknown, schemaInfo: SchemaInfo): JsonMap {
  if (!isMap(patch))
    throw new StrategicMergeError(
      400,
      `json: cannot unmarshal ${Array.isArray(patch) ? 'array' : patch === null ? 'null' : typeof patch} into Go value of type map[string]interface {}`,
    )
  const orig = isMap(original) ? structuredClone(original) : {}
  return mergeMap(orig, structuredClone(patch), [], schemaInfo)
}

function mergeMap(original: JsonMap, patch: JsonMap, path: string[], info: SchemaInfo): JsonMap {
  if (DIRECTIVE in patch) {
    const directive = patch[DIRECTIVE]
    if (directive === 'replace') {
      delete patch[DIRECTIVE]
      // The replacement is taken as given, as apimachinery does; nested directives are resolved
      // against an empty original so none of them reaches storage.
      return mergeMap({}, patch, path, info)
    }
    if (directive === 'delete') return {}
    throw errBadPatchType(directive, patch)
  }
  applyRetainKeys(original, patch)
  mergeSetElementOrder(original, patch, path, info)

  // `$deleteFromPrimitiveList/<list>` first, then the fields, so a list can lose and gain values in
  // one patch (apimachinery iterates a Go map, i.e. in no defined order).
  const keys = Object.keys(patch).sort(
    (a, b) => Number(!a.startsWith(DELETE_PRIMITIVE)) - Number(!b.startsWith(DELETE_PRIMITIVE)),
  )
  for (const key of keys) {
    const patchV = patch[key]
    if (key.startsWith(DELETE_PRIMITIVE)) {
      const field = extractKey(key, DELETE_PRIMITIVE, errBadPrimitiveList)
      if (!Array.isArray(patchV)) throw errBadArgType('[]interface {}', patchV)
      const cur = original[field]
      if (cur === undefined) continue
      if (!Array.isArray(cur)) throw errBadArgType('[]interface {}', cur)
      const drop = new Set(patchV.map(scalarKey))
      original[field] = cur.filter((v) => !drop.has(scalarKey(v)))
      continue
    }
    if (key.startsWith('$')) continue
    if (patchV === null) {
      delete original[key]
      continue
    }
    const fieldPath = [...path, key]
    const origV = original[key]
    if (origV === undefined) {
      // Not in the original: the patch value, with its nulls and directives resolved.
      original[key] = resolveNew(patchV, fieldPath, info)
      continue
    }
    const bothMaps = isMap(origV) && isMap(patchV)
    const bothLists = Array.isArray(origV) && Array.isArray(patchV)
    if (!bothMaps && !bothLists) {
      original[key] = resolveNew(patchV, fieldPath, info)
      continue
    }
    const { strategy } = strategiesOf(info(fieldPath))
    if (bothMaps) {
      original[key] =
        strategy === 'replace'
          ? resolveNew(patchV, fieldPath, info)
          : mergeMap(origV, patchV, fieldPath, info)
    } else if (strategy === 'merge') {
      original[key] = mergeSlice(origV as unknown[], patchV as unknown[], fieldPath, info)
    } else {
      original[key] = resolveNew(patchV, fieldPath, info)
    }
  }
  return original
}

/** A patch value that has nothing to merge with. */
function resolveNew(patchV: unknown, path: string[], info: SchemaInfo): unknown {
  if (isMap(patchV)) {
    if (patchV[DIRECTIVE] === 'delete') return {}
    return mergeMap({}, patchV, path, info)
  }
  if (Array.isArray(patchV)) {
    const { strategy } = strategiesOf(info(path))
    if (strategy === 'merge') return mergeSlice([], patchV, path, info)
    return patchV
  }
  return patchV
}

function extractKey(key: string, prefix: string, err: () => StrategicMergeError): string {
  const field = key.slice(prefix.length)
  if (field === '') throw err()
  return field
}

function applyRetainKeys(original: JsonMap, patch: JsonMap): void {
  if (!(RETAIN_KEYS in patch)) return
  const retain = patch[RETAIN_KEYS]
  delete patch[RETAIN_KEYS]
  if (!Array.isArray(retain)) throw errBadRetainKeys()
  const keep = new Set(retain.map((k) => String(k)))
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_PRIMITIVE) || k.startsWith(SET_ORDER) || k === DIRECTIVE) continue
    if (!keep.has(k)) throw errBadRetainKeys()
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k]
}

/** `$setElementOrder/<list>`: merges the list now and orders it as the directive says. */
function mergeSetElementOrder(original: JsonMap, patch: JsonMap, path: string[], info: SchemaInfo): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ORDER)) continue
    const order = patch[key]
    delete patch[key]
    if (!Array.isArray(order)) throw errBadArgType('[]interface {}', order)
    const field = extractKey(key, SET_ORDER, errBadSetOrder)
    const fieldPath = [...path, field]
    const meta = info(fieldPath)
    const mergeKey = meta?.patchMergeKey ?? ''
    const { strategy } = strategiesOf(meta)
    const hasOriginal = field in original && original[field] !== null
    const hasPatch = field in patch && patch[field] !== null
    const origList = original[field]
    const patchList = patch[field]
    if (hasOriginal && !Array.isArray(origList)) throw errBadArgType('[]interface {}', origList)
    if (hasPatch && !Array.isArray(patchList)) throw errBadArgType('[]interface {}', patchList)
    const origArr = hasOriginal ? (origList as unknown[]) : []
    const patchArr = hasPatch ? (patchList as unknown[]) : []
    validatePatchWithSetOrderList(patchArr, order, mergeKey)
    let merged: unknown[]
    if (hasOriginal && hasPatch) {
      merged =
        strategy === 'merge'
          ? mergeSlice(origArr, patchArr, fieldPath, info)
          : (resolveNew(patchArr, fieldPath, info) as unknown[])
    } else if (hasPatch) merged = resolveNew(patchArr, fieldPath, info) as unknown[]
    else if (hasOriginal) merged = origArr
    else continue
    const inOrder = (v: unknown) => indexIn(order, v, mergeKey) >= 0
    const patchItems = merged.filter(inOrder)
    const serverOnly = merged.filter((v) => !inOrder(v))
    original[field] = normalizeElementOrder(patchItems, serverOnly, order, origArr, mergeKey)
    delete patch[field]
  }
}

function validatePatchWithSetOrderList(patchList: unknown[], order: unknown[], mergeKey: string): void {
  if (order.length === 0 || patchList.length === 0) return
  const items =
    mergeKey === '' ? patchList : patchList.filter((v) => !(isMap(v) && v[DIRECTIVE] === 'delete'))
  let p = 0
  let s = 0
  while (p < items.length && s < order.length) {
    const item = items[p]
    if (isMap(item) && DIRECTIVE in item) {
      p++
      continue
    }
    if (mergeKeyValueEqual(item, order[s], mergeKey)) p++
    s++
  }
  if (p < items.length && s >= order.length)
    throw new StrategicMergeError(
      500,
      `The order in patch list:\n${goFormat(patchList)}\n doesn't match $setElementOrder list:\n${goFormat(order)}\n`,
    )
}

function mergeKeyValueEqual(left: unknown, right: unknown, mergeKey: string): boolean {
  if (mergeKey === '') return scalarKey(left) === scalarKey(right)
  if (!isMap(left)) throw errBadArgType('map[string]interface {}', left)
  if (!isMap(right)) throw errBadArgType('map[string]interface {}', right)
  if (!(mergeKey in left)) throw errNoMergeKey(left, mergeKey)
  if (!(mergeKey in right)) throw errNoMergeKey(right, mergeKey)
  return scalarKey(left[mergeKey]) === scalarKey(right[mergeKey])
}

/** The index of `item` in `list`, by merge key value for maps, by value for scalars; -1 if absent. */
function indexIn(list: readonly unknown[], item: unknown, mergeKey: string): number {
  if (mergeKey === '') return list.findIndex((v) => scalarKey(v) === scalarKey(item))
  if (!isMap(item)) return -1
  const want = scalarKey(item[mergeKey])
  return list.findIndex((v) => isMap(v) && mergeKey in v && scalarKey(v[mergeKey]) === want)
}

/** Checks the element kinds of merging lists: all maps or all scalars, never lists. */
function elementKind(...lists: unknown[][]): 'map' | 'scalar' | undefined {
  let kind: 'map' | 'scalar' | undefined
  for (const list of lists)
    for (const v of list) {
      if (Array.isArray(v)) throw errListOfLists()
      const k = isMap(v) ? 'map' : 'scalar'
      if (kind !== undefined && kind !== k)
        throw new StrategicMergeError(500, `list element types are not identical: ${goFormat(lists)}`)
      kind = k
    }
  return kind
}

function mergeSlice(original: unknown[], patch: unknown[], path: string[], info: SchemaInfo): unknown[] {
  if (original.length === 0 && patch.length === 0) return original
  const kind = elementKind(original, patch)
  const mergeKey = info(path)?.patchMergeKey ?? ''
  let orig = original
  let rest = patch
  let merged: unknown[]
  if (kind !== 'map') {
    merged = []
    const seen = new Set<string>()
    for (const v of [...original, ...patch]) {
      const k = scalarKey(v)
      if (!seen.has(k)) {
        seen.add(k)
        merged.push(v)
      }
    }
  } else {
    if (mergeKey === '')
      throw new StrategicMergeError(500, 'cannot merge lists without merge key for type struct')
    ;({ original: orig, patch: rest } = mergeSliceWithSpecialElements(original, patch, mergeKey))
    merged = [...orig]
    for (const item of rest) {
      const p = item as JsonMap
      if (!(mergeKey in p)) throw errNoMergeKey(p, mergeKey)
      const i = indexIn(merged, p, mergeKey)
      if (i >= 0) merged[i] = mergeMap(merged[i] as JsonMap, p, path, info)
      else merged.push(resolveNew(p, path, info))
    }
  }
  const inPatch = (v: unknown) => indexIn(rest, v, kind === 'map' ? mergeKey : '') >= 0
  const patchItems = merged.filter(inPatch)
  const serverOnly = merged.filter((v) => !inPatch(v))
  return normalizeElementOrder(patchItems, serverOnly, rest, orig, kind === 'map' ? mergeKey : '')
}

/** `$patch` items of a merging list of maps: `delete` removes by key, `replace` drops the live list. */
function mergeSliceWithSpecialElements(
  original: unknown[],
  patch: unknown[],
  mergeKey: string,
): { original: unknown[]; patch: unknown[] } {
  const plain: unknown[] = []
  let replace = false
  let orig = original
  for (const v of patch) {
    const m = v as JsonMap
    if (!(DIRECTIVE in m)) {
      plain.push(v)
      continue
    }
    const directive = m[DIRECTIVE]
    if (directive === 'delete') {
      if (!(mergeKey in m)) throw errNoMergeKey(m, mergeKey)
      const want = scalarKey(m[mergeKey])
      orig = orig.filter((o) => !(isMap(o) && mergeKey in o && scalarKey(o[mergeKey]) === want))
    } else if (directive === 'replace') {
      replace = true
    } else if (directive === 'merge') {
      throw new StrategicMergeError(500, 'merging lists cannot yet be specified in the patch')
    } else throw errBadPatchType(directive, m)
  }
  if (replace) return { original: plain, patch: [] }
  return { original: orig, patch: plain }
}

/**
 * Orders `patchItems` as `patchOrder` and `serverOnly` as `serverOrder`, then interleaves them:
 * each live-only item goes before the first patch item that follows it in the live list.
 */
function normalizeElementOrder(
  patchItems: unknown[],
  serverOnly: unknown[],
  patchOrder: readonly unknown[],
  serverOrder: readonly unknown[],
  mergeKey: string,
): unknown[] {
  const sortBy = (items: unknown[], order: readonly unknown[]) => {
    const kept = mergeKey === '' ? items : items.filter((v) => !(isMap(v) && v[DIRECTIVE] === 'delete'))
    const indexed = kept.map((v, i) => ({ v, i, o: indexIn(order, v, mergeKey) }))
    indexed.sort((a, b) => (a.o >= 0 && b.o >= 0 ? a.o - b.o : a.i - b.i))
    return indexed.map((x) => x.v)
  }
  const left = sortBy(serverOnly, serverOrder)
  const right = sortBy(patchItems, patchOrder)
  const out: unknown[] = []
  let i = 0
  let j = 0
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++])
    else if (j >= right.length) out.push(left[i++])
    else {
      const li = indexIn(serverOrder, left[i], mergeKey)
      const ri = indexIn(serverOrder, right[j], mergeKey)
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++])
      else out.push(right[j++])
    }
  }
  return out
}

// Field metadata from JSON Schema (the zod schemas' `.meta()` as `z.toJSONSchema` emits it).

type JsonSchema = {
  properties?: Record<string, JsonSchema>
  additionalProperties?: JsonSchema | boolean
  items?: JsonSchema
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
  allOf?: JsonSchema[]
  $ref?: string
  $defs?: Record<string, JsonSchema>
  'x-kubernetes-patch-strategy'?: string
  'x-kubernetes-patch-merge-key'?: string
}

/** A SchemaInfo reading `x-kubernetes-patch-strategy` and `x-kubernetes-patch-merge-key`. */
export function schemaInfoFromJsonSchema(root: unknown): SchemaInfo {
  const rootSchema = (isMap(root) ? root : {}) as JsonSchema
  const deref = (s: JsonSchema): JsonSchema => {
    if (typeof s.$ref !== 'string') return s
    if (s.$ref === '#') return rootSchema
    const m = /^#\/\$defs\/(.+)$/.exec(s.$ref)
    return (m && rootSchema.$defs?.[m[1] ?? '']) || {}
  }
  const alternatives = (s: JsonSchema): JsonSchema[] => {
    const d = deref(s)
    const subs = [...(d.anyOf ?? []), ...(d.oneOf ?? []), ...(d.allOf ?? [])]
    return [d, ...subs.flatMap(alternatives)]
  }
  const child = (s: JsonSchema, name: string): JsonSchema | undefined => {
    for (const alt of alternatives(s)) {
      // List items are transparent: a field of a list's items is a field of the list.
      const obj = alt.items ? alternatives(alt.items) : [alt]
      for (const o of obj) {
        const p = o.properties?.[name]
        if (p) return p
        if (isMap(o.additionalProperties) && Object.keys(o.additionalProperties).length > 0)
          return o.additionalProperties as JsonSchema
      }
    }
    return undefined
  }
  const cache = new Map<string, FieldPatchInfo | undefined>()
  return (path) => {
    const key = path.join('\u0000')
    if (cache.has(key)) return cache.get(key)
    let cur: JsonSchema | undefined = rootSchema
    for (const name of path) {
      cur = cur && child(cur, name)
      if (!cur) break
    }
    let out: FieldPatchInfo | undefined
    if (cur) {
      for (const alt of alternatives(cur)) {
        const strategy = alt['x-kubernetes-patch-strategy']
        const mergeKey = alt['x-kubernetes-patch-merge-key']
        if (strategy !== undefined || mergeKey !== undefined) {
          out = {
            ...(strategy !== undefined && { patchStrategy: strategy }),
            ...(mergeKey !== undefined && { patchMergeKey: mergeKey }),
          }
          break
        }
      }
    }
    cache.set(key, out)
    return out
  }
}

const byZodSchema = new WeakMap<KindSchema, SchemaInfo>()

/** The SchemaInfo of a kind's zod schema (computed once per schema). */
export function schemaInfoFor(schema: KindSchema): SchemaInfo {
  let info = byZodSchema.get(schema)
  if (!info) {
    info = schemaInfoFromJsonSchema(schema.toJSONSchema({ unrepresentable: 'any' }))
    byZodSchema.set(schema, info)
  }
  return info
}
