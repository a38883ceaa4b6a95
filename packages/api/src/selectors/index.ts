/** Label and field selectors: parse (with Kubernetes' errors) and match. */

export type { FieldSelector, FieldTerm } from './field-selector.js'
export {
  convertFieldSelector,
  escapeFieldValue,
  FieldSelectorError,
  objectFields,
  parseFieldSelector,
  SUPPORTED_FIELDS,
  unescapeFieldValue,
} from './field-selector.js'
export type { LabelOperator, LabelRequirement, LabelSelector, Labels } from './label-selector.js'
export {
  EVERYTHING,
  LabelSelectorError,
  labelSelectorAsSelector,
  NOTHING,
  newRequirement,
  parseLabelSelector,
  requirementMatches,
  selectorFromRequirements,
  selectorFromSet,
} from './label-selector.js'
