/**
 * ObjectMeta, labels, annotations, owner references, finalizers and label-selector validation
 * (apimachinery pkg/api/validation/objectmeta.go, pkg/apis/meta/v1/validation/validation.go).
 */
import {
  child,
  type FieldError,
  forbidden,
  GoValue,
  goQuote,
  index,
  invalid,
  required,
  tooLong,
} from '../validation/field-errors.js'
import {
  FIELD_IMMUTABLE,
  IS_NEGATIVE_ERROR,
  isQualifiedName,
  isValidLabelValue,
  type NameRule,
  nameIsDNSLabel,
} from '../validation/name-rules.js'
import type { LabelSelector, ObjectMeta } from './meta.js'

/** 256 KiB: TotalAnnotationSizeLimitB. */
export const TOTAL_ANNOTATION_SIZE_LIMIT_BYTES = 256 * 1024

export function validateNonnegative(value: number | undefined, path: string): FieldError[] {
  return value !== undefined && value < 0 ? [invalid(path, value, IS_NEGATIVE_ERROR)] : []
}

/** ValidateLabelName: a qualified name. */
export function validateLabelName(name: string, path: string): FieldError[] {
  return isQualifiedName(name).map((m) => invalid(path, name, m))
}

/** ValidateLabels: keys are qualified names, values label values; errors are on the map's path. */
export function validateLabels(labels: Record<string, string> | undefined, path: string): FieldError[] {
  const errs: FieldError[] = []
  for (const [k, v] of Object.entries(labels ?? {})) {
    errs.push(...validateLabelName(k, path))
    for (const m of isValidLabelValue(v)) errs.push(invalid(path, v, m))
  }
  return errs
}

/** ValidateAnnotations: qualified keys (case-insensitive), total size at most 256 KiB. */
export function validateAnnotations(
  annotations: Record<string, string> | undefined,
  path: string,
): FieldError[] {
  const errs: FieldError[] = []
  let size = 0
  for (const [k, v] of Object.entries(annotations ?? {})) {
    for (const m of isQualifiedName(k.toLowerCase())) errs.push(invalid(path, k, m))
    size += Buffer.byteLength(k) + Buffer.byteLength(v)
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT_BYTES) errs.push(tooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT_BYTES))
  return errs
}

function validateOwnerReferences(refs: ObjectMeta['ownerReferences'], path: string): FieldError[] {
  const errs: FieldError[] = []
  let controller: string | undefined
  ;(refs ?? []).forEach((ref, i) => {
    const p = index(path, i)
    if (!ref.apiVersion)
      errs.push(invalid(child(p, 'apiVersion'), ref.apiVersion, 'version must not be empty'))
    if (!ref.kind) errs.push(invalid(child(p, 'kind'), ref.kind, 'kind must not be empty'))
    if (!ref.name) errs.push(invalid(child(p, 'name'), ref.name, 'name must not be empty'))
    if (!ref.uid) errs.push(invalid(child(p, 'uid'), ref.uid, 'uid must not be empty'))
    if (ref.controller) {
      const cur = `${ref.kind}/${ref.name}`
      if (controller !== undefined) {
        errs.push(
          invalid(
            path,
            refs,
            `Only one reference can have Controller set to true. Found "true" in references for ${controller} and ${cur}`,
          ),
        )
      }
      controller = cur
    }
  })
  return errs
}

function validateFinalizers(finalizers: readonly string[] | undefined, path: string): FieldError[] {
  const errs: FieldError[] = []
  for (const f of finalizers ?? []) for (const m of isQualifiedName(f)) errs.push(invalid(path, f, m))
  const set = new Set(finalizers ?? [])
  if (set.has('orphan') && set.has('foregroundDeletion')) {
    errs.push(invalid(path, finalizers, 'finalizer orphan and foregroundDeletion cannot be both set'))
  }
  return errs
}

/**
 * ValidateObjectMetaAccessor. The server generates `name` from `generateName` before validating;
 * a meta with only `generateName` is accepted here too.
 */
export function validateObjectMeta(
  meta: ObjectMeta | undefined,
  requiresNamespace: boolean,
  nameRule: NameRule,
  path = 'metadata',
): FieldError[] {
  const m = meta ?? {}
  const errs: FieldError[] = []
  if (m.generateName) {
    for (const msg of nameRule(m.generateName, true))
      errs.push(invalid(child(path, 'generateName'), m.generateName, msg))
  }
  if (!m.name) {
    if (!m.generateName) errs.push(required(child(path, 'name'), 'name or generateName is required'))
  } else {
    for (const msg of nameRule(m.name, false)) errs.push(invalid(child(path, 'name'), m.name, msg))
  }
  if (requiresNamespace) {
    if (!m.namespace) errs.push(required(child(path, 'namespace')))
    else
      for (const msg of nameIsDNSLabel(m.namespace, false))
        errs.push(invalid(child(path, 'namespace'), m.namespace, msg))
  } else if (m.namespace) {
    errs.push(forbidden(child(path, 'namespace'), 'not allowed on this type'))
  }
  errs.push(...validateNonnegative(m.generation, child(path, 'generation')))
  errs.push(...validateLabels(m.labels, child(path, 'labels')))
  errs.push(...validateAnnotations(m.annotations, child(path, 'annotations')))
  errs.push(...validateOwnerReferences(m.ownerReferences, child(path, 'ownerReferences')))
  errs.push(...validateFinalizers(m.finalizers, child(path, 'finalizers')))
  return errs
}

/** ValidateImmutableField: `Invalid value: <new>: field is immutable` when the values differ. */
export function validateImmutable(
  next: unknown,
  prev: unknown,
  path: string,
  shown: unknown = next,
): FieldError[] {
  return deepEqual(next, prev) ? [] : [invalid(path, shown, FIELD_IMMUTABLE)]
}

/** ValidateObjectMetaAccessorUpdate. */
export function validateObjectMetaUpdate(
  next: ObjectMeta | undefined,
  prev: ObjectMeta | undefined,
  path = 'metadata',
): FieldError[] {
  const n = next ?? {}
  const o = prev ?? {}
  const errs: FieldError[] = []
  if (o.deletionTimestamp) {
    const added = (n.finalizers ?? []).filter((f) => !(o.finalizers ?? []).includes(f))
    if (added.length > 0) {
      errs.push(
        forbidden(
          child(path, 'finalizers'),
          `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map(goQuote).join(', ')}}`,
        ),
      )
    }
  }
  if (!n.resourceVersion)
    errs.push(
      invalid(child(path, 'resourceVersion'), n.resourceVersion ?? '', 'must be specified for an update'),
    )
  if ((n.generation ?? 0) < (o.generation ?? 0)) {
    errs.push(invalid(child(path, 'generation'), n.generation ?? 0, 'must not be decremented'))
  }
  errs.push(...validateImmutable(n.name ?? '', o.name ?? '', child(path, 'name')))
  errs.push(...validateImmutable(n.namespace ?? '', o.namespace ?? '', child(path, 'namespace')))
  errs.push(...validateImmutable(n.uid ?? '', o.uid ?? '', child(path, 'uid')))
  errs.push(...validateImmutable(n.creationTimestamp, o.creationTimestamp, child(path, 'creationTimestamp')))
  errs.push(...validateImmutable(n.deletionTimestamp, o.deletionTimestamp, child(path, 'deletionTimestamp')))
  errs.push(
    ...validateImmutable(
      n.deletionGracePeriodSeconds,
      o.deletionGracePeriodSeconds,
      child(path, 'deletionGracePeriodSeconds'),
    ),
  )
  errs.push(...validateLabels(n.labels, child(path, 'labels')))
  errs.push(...validateAnnotations(n.annotations, child(path, 'annotations')))
  errs.push(...validateOwnerReferences(n.ownerReferences, child(path, 'ownerReferences')))
  return errs
}

/** ValidateLabelSelector (metav1), with In/NotIn needing values and Exists/DoesNotExist forbidding them. */
export function validateLabelSelector(sel: LabelSelector | undefined, path: string): FieldError[] {
  if (!sel) return []
  const errs = validateLabels(sel.matchLabels, child(path, 'matchLabels'))
  ;(sel.matchExpressions ?? []).forEach((expr, i) => {
    const p = index(child(path, 'matchExpressions'), i)
    const values = expr.values ?? []
    switch (expr.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0)
          errs.push(required(child(p, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"))
        break
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0)
          errs.push(
            forbidden(
              child(p, 'values'),
              "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            ),
          )
        break
      default:
        errs.push(invalid(child(p, 'operator'), expr.operator, 'not a valid selector operator'))
    }
    errs.push(...validateLabelName(expr.key, child(p, 'key')))
    values.forEach((v, j) => {
      for (const m of isValidLabelValue(v)) errs.push(invalid(index(child(p, 'values'), j), v, m))
    })
  })
  return errs
}

/** Go's `%#v` of a metav1.LabelSelector, as immutable-selector errors print it. */
export function goLabelSelector(sel: LabelSelector | undefined): GoValue {
  if (!sel) return new GoValue('(*v1.LabelSelector)(nil)')
  const entries = Object.entries(sel.matchLabels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  const labels = sel.matchLabels
    ? `map[string]string{${entries.map(([k, v]) => `${goQuote(k)}:${goQuote(v)}`).join(', ')}}`
    : 'map[string]string(nil)'
  const exprs = sel.matchExpressions
    ? `[]v1.LabelSelectorRequirement{${sel.matchExpressions
        .map(
          (e) =>
            `v1.LabelSelectorRequirement{Key:${goQuote(e.key)}, Operator:${goQuote(e.operator)}, Values:${
              e.values ? `[]string{${e.values.map(goQuote).join(', ')}}` : '[]string(nil)'
            }}`,
        )
        .join(', ')}}`
    : '[]v1.LabelSelectorRequirement(nil)'
  return new GoValue(`&v1.LabelSelector{MatchLabels:${labels}, MatchExpressions:${exprs}}`)
}

/** Structural equality of JSON values (key order ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a)) {
    const bb = b as unknown[]
    return a.length === bb.length && a.every((v, i) => deepEqual(v, bb[i]))
  }
  const ao = a as Record<string, unknown>
  const bo = b as Record<string, unknown>
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined)
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined)
  return ak.length === bk.length && ak.every((k) => deepEqual(ao[k], bo[k]))
}
