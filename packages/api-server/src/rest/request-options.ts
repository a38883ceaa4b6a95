/**
 * The options every verb decodes from the query before it reads a body, and their validation, as
 * kube-apiserver's handlers do it (k8s.io/apiserver pkg/endpoints/handlers: DecodeParameters, a 400
 * on a value that does not convert, then apimachinery's meta/v1 validation, a 422 Invalid on
 * `CreateOptions` / `UpdateOptions` / `PatchOptions` with every error at once):
 *
 * - ListOptions (list and watch): `limit` and `timeoutSeconds` must be int64s.
 * - Create/Update/PatchOptions: `fieldManager` at most 128 bytes of printable characters, `dryRun`
 *   only `All`, `fieldValidation` one of "", Ignore, Strict, Warn; a patch other than apply may not
 *   carry `force`, an apply patch must name its `fieldManager`.
 */
import { type FieldError, fieldErrors, type StatusError, statusErrors } from '@hakube/api'
import { int64Param, type Query, queryParam, queryValues } from './query.js'

/** ValidateFieldManager's FieldManagerMaxLength. */
export const FIELD_MANAGER_MAX_LENGTH = 128

const DRY_RUN_VALUES = ['All']
const FIELD_VALIDATION_VALUES = ['', 'Ignore', 'Strict', 'Warn']

/** ListOptions' conversion from the query: 400 on an int64 that does not parse. */
export function decodeListOptions(query: Query): void {
  // Conversion runs in ListOptions' field order: timeoutSeconds, then limit.
  int64Param(query, 'timeoutSeconds')
  int64Param(query, 'limit')
}

/** ValidateDryRun. */
export function validateDryRun(dryRun: readonly string[]): FieldError[] {
  return dryRun.every((v) => DRY_RUN_VALUES.includes(v))
    ? []
    : [fieldErrors.notSupported('dryRun', [...dryRun], DRY_RUN_VALUES)]
}

/** ValidateFieldManager: length in UTF-8 bytes, then every character printable (unicode.IsPrint). */
export function validateFieldManager(manager: string): FieldError[] {
  const errs: FieldError[] = []
  if (Buffer.byteLength(manager, 'utf8') > FIELD_MANAGER_MAX_LENGTH)
    errs.push(fieldErrors.tooLong('fieldManager', FIELD_MANAGER_MAX_LENGTH))
  let position = 0
  for (const ch of manager) {
    if (!isPrint(ch))
      errs.push(
        fieldErrors.invalid(
          'fieldManager',
          manager,
          `invalid character ${goUnicode(ch)} (at position ${position})`,
        ),
      )
    position += Buffer.byteLength(ch, 'utf8')
  }
  return errs
}

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
function isPrint(ch: string): boolean {
  return ch === ' ' || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch)
}

/** Go's `%#U`: `U+0001`, or `U+00E9 'é'` for a printable rune. */
function goUnicode(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`
  return isPrint(ch) ? `${hex} '${ch}'` : hex
}

export type WriteVerb = 'create' | 'update' | 'patch' | 'apply'

const OPTIONS_KIND: Record<WriteVerb, string> = {
  create: 'CreateOptions',
  update: 'UpdateOptions',
  patch: 'PatchOptions',
  apply: 'PatchOptions',
}

/**
 * ValidateCreateOptions / ValidateUpdateOptions / ValidatePatchOptions on the query; throws the
 * 422 kube answers before the body is decoded.
 */
export function validateWriteOptions(verb: WriteVerb, query: Query): void {
  const errs: FieldError[] = []
  const manager = queryParam(query, 'fieldManager') ?? ''
  if (verb === 'apply' && manager === '')
    errs.push(fieldErrors.required('fieldManager', 'is required for apply patch'))
  if (verb === 'patch' && query['force'] !== undefined)
    errs.push(fieldErrors.forbidden('force', 'may not be specified for non-apply patch'))
  errs.push(...validateFieldManager(manager))
  errs.push(...validateDryRun(queryValues(query, 'dryRun')))
  const fv = queryParam(query, 'fieldValidation') ?? ''
  if (!FIELD_VALIDATION_VALUES.includes(fv))
    errs.push(fieldErrors.notSupported('fieldValidation', fv, FIELD_VALIDATION_VALUES))
  if (errs.length > 0) throw optionsInvalid(OPTIONS_KIND[verb], errs)
}

/** errors.NewInvalid on a meta.k8s.io options kind (the name is empty). */
export function optionsInvalid(kind: string, errs: readonly FieldError[]): StatusError {
  return statusErrors.invalid({ group: 'meta.k8s.io', kind }, '', errs)
}
