/**
 * Request bodies: objects as JSON (a missing Content-Type is read as JSON, as `PUT .../scale` from
 * kubectl needs), YAML or Kubernetes protobuf (protobuf.ts; kubectl 1.32+ sends it from its typed
 * `create <kind>` commands), and the patch formats served so far: JSON merge patch (RFC 7386,
 * `application/merge-patch+json`), JSON patch (RFC 6902, `application/json-patch+json`) and
 * strategic merge patch (`application/strategic-merge-patch+json`, see strategic-merge.ts).
 * Server-side apply (`application/apply-patch+yaml`) is decoded and served by apply.ts; other media
 * types get 415 with the negotiation text kube-apiserver uses for patch types it does not accept.
 */
import { type ResourceInfo, StatusError, statusErrors } from '@hakube/api'
import { parse as parseYaml } from 'yaml'
import { decodeProtobufObject, PROTOBUF_MEDIA_TYPE } from './protobuf.js'
import { StrategicMergeError, schemaInfoFor, strategicMergePatch } from './strategic-merge.js'

const OBJECT_MEDIA_TYPES = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf']
export const PATCH_MEDIA_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
]
export const APPLY_PATCH_MEDIA_TYPE = 'application/apply-patch+yaml'

export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
}

function decodeText(raw: unknown): string {
  if (Buffer.isBuffer(raw)) return raw.toString('utf8')
  if (typeof raw === 'string') return raw
  return ''
}

function decodeJson(text: string): unknown {
  if (text.trim() === '') throw statusErrors.badRequest("Object 'Kind' is missing in ''")
  try {
    return JSON.parse(text)
  } catch (err) {
    throw statusErrors.badRequest(
      `the body of the request could not be decoded: ${err instanceof Error ? err.message : String(err)}`,
    )
  }
}

/** The object a POST or PUT carries. */
export function parseObjectBody(contentType: string | undefined, raw: unknown): unknown {
  const mt = mediaType(contentType)
  // kubectl 1.32+ typed commands (`kubectl create namespace ...`) send protobuf; see protobuf.ts.
  if (mt === PROTOBUF_MEDIA_TYPE) return decodeProtobufObject(raw)
  const text = decodeText(raw)
  if (mt === '' || mt === 'application/json') return decodeJson(text)
  if (mt === 'application/yaml' || mt === 'application/x-yaml' || mt === 'text/yaml') {
    if (text.trim() === '') throw statusErrors.badRequest("Object 'Kind' is missing in ''")
    try {
      return parseYaml(text)
    } catch (err) {
      throw statusErrors.badRequest(
        `the body of the request could not be decoded: ${err instanceof Error ? err.message : String(err)}`,
      )
    }
  }
  throw statusErrors.unsupportedMediaType(OBJECT_MEDIA_TYPES)
}

export type Patch =
  | { type: 'merge'; patch: unknown }
  | { type: 'json'; ops: JsonPatchOp[] }
  | { type: 'strategic'; patch: Record<string, unknown> }

export interface JsonPatchOp {
  op: string
  path: string
  from?: string
  value?: unknown
}

/** The patch a PATCH carries; 415 for anything else (apply is handled by apply.ts before this). */
export function parsePatchBody(contentType: string | undefined, raw: unknown): Patch {
  const mt = mediaType(contentType)
  if (mt === 'application/strategic-merge-patch+json') {
    const patch = decodeJson(decodeText(raw))
    // kube-apiserver decodes the body into a map[string]interface{} (handlers/patch.go).
    if (!isObject(patch))
      throw statusErrors.badRequest(
        `json: cannot unmarshal ${Array.isArray(patch) ? 'array' : patch === null ? 'null' : typeof patch} into Go value of type map[string]interface {}`,
      )
    return { type: 'strategic', patch }
  }
  if (mt === 'application/merge-patch+json') {
    const patch = decodeJson(decodeText(raw))
    if (!isObject(patch)) throw statusErrors.badRequest('the merge patch must be a JSON object')
    return { type: 'merge', patch }
  }
  if (mt === 'application/json-patch+json') {
    const ops = decodeJson(decodeText(raw))
    if (!Array.isArray(ops) || !ops.every((o) => isObject(o) && typeof o['op'] === 'string'))
      throw statusErrors.badRequest(
        'json: cannot unmarshal object into Go value of type jsonpatch.Patch: a JSON patch is an array of operations',
      )
    return { type: 'json', ops: ops as unknown as JsonPatchOp[] }
  }
  throw statusErrors.unsupportedMediaType(PATCH_MEDIA_TYPES)
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/** RFC 7386: objects merge recursively, `null` removes a member, anything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = applyMergePatch(out[k], v)
  }
  return out
}

/**
 * Applies any patch to `doc`; `schema` (the kind's zod schema) gives strategic merge patch its list
 * merge keys. `doc` is not modified.
 */
export function applyPatch(doc: unknown, patch: Patch, schema: ResourceInfo['schema']): unknown {
  switch (patch.type) {
    case 'merge':
      return applyMergePatch(doc, patch.patch)
    case 'json':
      return applyJsonPatch(doc, patch.ops)
    case 'strategic':
      try {
        return strategicMergePatch(doc, patch.patch, schemaInfoFor(schema))
      } catch (err) {
        if (err instanceof StrategicMergeError) throw strategicMergeStatus(err)
        throw err
      }
  }
}

/** handlers/patch.go interpretStrategicMergePatchError, and a plain error's 500 otherwise. */
function strategicMergeStatus(err: StrategicMergeError): StatusError {
  if (err.code === 400) return statusErrors.badRequest(err.message)
  if (err.code === 422)
    return new StatusError({
      code: 422,
      reason: 'Invalid',
      message: 'the server rejected our request due to an error in our request',
      details: { causes: [{ reason: 'UnexpectedServerResponse', message: err.message }] },
    })
  return new StatusError({ code: 500, message: err.message })
}

/** An RFC 6902 failure: 422 as kube-apiserver answers a patch that does not apply. */
function patchFailed(message: string): StatusError {
  return new StatusError({ code: 422, reason: 'Invalid', message })
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return []
  if (!pointer.startsWith('/')) throw patchFailed(`invalid JSON pointer: ${JSON.stringify(pointer)}`)
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
}

type Container = Record<string, unknown> | unknown[]

/** Walks to the parent of the pointer's last token. */
function parentOf(doc: unknown, tokens: string[], pointer: string): { parent: Container; key: string } {
  let cur: unknown = doc
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(t)]
    else if (isObject(cur)) cur = cur[t]
    else cur = undefined
    if (cur === undefined) throw patchFailed(`doc is missing path: ${JSON.stringify(pointer)}`)
  }
  if (!Array.isArray(cur) && !isObject(cur))
    throw patchFailed(`doc is missing path: ${JSON.stringify(pointer)}`)
  return { parent: cur, key: tokens[tokens.length - 1] ?? '' }
}

function arrayIndex(arr: unknown[], key: string, forAdd: boolean, pointer: string): number {
  if (forAdd && key === '-') return arr.length
  const i = /^(0|[1-9][0-9]*)$/.test(key) ? Number(key) : Number.NaN
  if (Number.isNaN(i) || i < 0 || i > arr.length || (!forAdd && i === arr.length))
    throw patchFailed(`Unable to access invalid index: ${key} (path ${JSON.stringify(pointer)})`)
  return i
}

function getAt(doc: unknown, pointer: string): unknown {
  const tokens = parsePointer(pointer)
  if (tokens.length === 0) return doc
  const { parent, key } = parentOf(doc, tokens, pointer)
  const v = Array.isArray(parent) ? parent[arrayIndex(parent, key, false, pointer)] : parent[key]
  if (v === undefined) throw patchFailed(`doc is missing path: ${JSON.stringify(pointer)}`)
  return v
}

function removeAt(doc: unknown, pointer: string): unknown {
  const tokens = parsePointer(pointer)
  if (tokens.length === 0) throw patchFailed('cannot remove the whole document')
  const { parent, key } = parentOf(doc, tokens, pointer)
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, key, false, pointer), 1)[0]
  if (!(key in parent)) throw patchFailed(`Unable to remove nonexistent key: ${key}: missing value`)
  const v = parent[key]
  delete parent[key]
  return v
}

function addAt(doc: unknown, pointer: string, value: unknown, replace: boolean): unknown {
  const tokens = parsePointer(pointer)
  if (tokens.length === 0) return value
  const { parent, key } = parentOf(doc, tokens, pointer)
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, key, !replace, pointer)
    parent.splice(i, replace ? 1 : 0, value)
  } else {
    if (replace && !(key in parent))
      throw patchFailed(`replace operation does not apply: doc is missing key: ${pointer}: missing value`)
    parent[key] = value
  }
  return doc
}

/** handlers/patch.go's maxJSONPatchOperations. */
export const MAX_JSON_PATCH_OPERATIONS = 10_000
/**
 * json-patch's AccumulatedCopySizeLimit as kube-apiserver sets it (JSONPatchMaxCopyBytes, 3 MiB):
 * without it a few dozen `copy` operations that copy a value into itself double the object each
 * time, until the process runs out of memory.
 */
export const JSON_PATCH_MAX_COPY_BYTES = 3 * 1024 * 1024

/**
 * RFC 6902 on a copy of `doc`; throws 413 for more than {@link MAX_JSON_PATCH_OPERATIONS}
 * operations and 422 when an operation does not apply or the copies grow past
 * {@link JSON_PATCH_MAX_COPY_BYTES}.
 */
export function applyJsonPatch(doc: unknown, ops: readonly JsonPatchOp[]): unknown {
  if (ops.length > MAX_JSON_PATCH_OPERATIONS)
    throw statusErrors.requestEntityTooLarge(
      `The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${ops.length}`,
    )
  let out: unknown = structuredClone(doc)
  let copied = 0
  for (const op of ops) {
    const path = typeof op.path === 'string' ? op.path : ''
    switch (op.op) {
      case 'add':
        out = addAt(out, path, structuredClone(op.value), false)
        break
      case 'replace':
        out = addAt(out, path, structuredClone(op.value), true)
        break
      case 'remove':
        removeAt(out, path)
        break
      case 'move': {
        const v = removeAt(out, op.from ?? '')
        out = addAt(out, path, v, false)
        break
      }
      case 'copy': {
        const value = getAt(out, op.from ?? '')
        copied += Buffer.byteLength(JSON.stringify(value) ?? '')
        if (copied > JSON_PATCH_MAX_COPY_BYTES)
          throw patchFailed(
            `Unable to complete the copy, the accumulated size increase of copy is ${copied}, exceeding the limit ${JSON_PATCH_MAX_COPY_BYTES}`,
          )
        out = addAt(out, path, structuredClone(value), false)
        break
      }
      case 'test':
        if (JSON.stringify(canonical(getAt(out, path))) !== JSON.stringify(canonical(op.value)))
          throw patchFailed(`testing value ${path} failed: test failed`)
        break
      default:
        throw statusErrors.badRequest(`Unexpected kind: ${op.op}`)
    }
  }
  return out
}

/** A JSON value with object keys sorted, for structural comparison. */
export function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical)
  if (isObject(v)) {
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(v).sort()) out[k] = canonical(v[k])
    return out
  }
  return v
}

/** Structural JSON equality (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b))
}
