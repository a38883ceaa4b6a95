/**
 * The validation vocabulary below objects, selectors and Status: field errors (apimachinery's
 * util/validation/field) and the string rules of names, labels and keys (util/validation). It imports
 * nothing else of this package, so every other part can build on it.
 */
export type { FieldError, FieldErrorType } from './field-errors.js'
export * as fieldErrors from './field-errors.js'
export {
  aggregateMessage,
  errorBody,
  errorString,
  formatGoValue,
  GoValue,
} from './field-errors.js'
export {
  isConfigMapKey,
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
  isValidPortName,
  isValidPortNum,
} from './name-rules.js'
