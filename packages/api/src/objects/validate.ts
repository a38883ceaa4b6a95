/**
 * Validation entry points by kind: what the api-server runs after defaulting and admission,
 * before anything reaches the store. An empty list means valid; otherwise answer with
 * `invalid(...)` from status.ts (422).
 */

import type { FieldError } from '../validation/field-errors.js'
import {
  validateDeployment,
  validateDeploymentUpdate,
  validateReplicaSet,
  validateReplicaSetUpdate,
} from './validate-apps.js'
import {
  validateConfigMap,
  validateEndpoints,
  validateEvent,
  validateLease,
  validateNamespace,
  validateNode,
  validateSecret,
  validateService,
  validateServiceAccount,
} from './validate-core.js'
import { validateImmutable, validateObjectMetaUpdate } from './validate-meta.js'
import { validatePod, validatePodUpdate } from './validate-pod.js'

type Validator = (obj: never) => FieldError[]

const CREATE: Record<string, Validator> = {
  Pod: validatePod,
  Deployment: validateDeployment,
  ReplicaSet: validateReplicaSet,
  Namespace: validateNamespace,
  Node: validateNode,
  Service: validateService,
  Endpoints: validateEndpoints,
  Event: validateEvent,
  ConfigMap: validateConfigMap,
  Secret: validateSecret,
  ServiceAccount: validateServiceAccount,
  Lease: validateLease,
}

/** Validation of a new object of `kind` (unknown kinds validate clean). */
export function validateCreate(kind: string, obj: unknown): FieldError[] {
  const fn = CREATE[kind]
  return fn ? fn(obj as never) : []
}

type Obj = {
  metadata?: Record<string, unknown>
  spec?: { clusterIP?: string }
  immutable?: boolean
  [k: string]: unknown
}

/**
 * Validation of an update: the object's own rules, the metadata update rules, and the kind's
 * immutable fields (pod spec, apps/v1 selectors, service clusterIP, immutable ConfigMap/Secret).
 */
export function validateUpdate(kind: string, next: unknown, prev: unknown): FieldError[] {
  const n = next as Obj
  const o = prev as Obj
  switch (kind) {
    case 'Pod':
      return validatePodUpdate(n as never, o as never)
    case 'Deployment':
      return validateDeploymentUpdate(n as never, o as never)
    case 'ReplicaSet':
      return validateReplicaSetUpdate(n as never, o as never)
  }
  const own = validateCreate(kind, next).filter((e) => !e.field.startsWith('metadata.'))
  const errs = [...validateObjectMetaUpdate(n.metadata as never, o.metadata as never), ...own]
  if (kind === 'Service') {
    const nc = n.spec?.clusterIP
    const oc = o.spec?.clusterIP
    if (oc !== undefined && oc !== '') errs.push(...validateImmutable(nc ?? '', oc, 'spec.clusterIP'))
  }
  if ((kind === 'ConfigMap' || kind === 'Secret') && o.immutable === true) {
    if (n.immutable !== true) errs.push(...validateImmutable(n.immutable ?? false, true, 'immutable'))
    for (const f of kind === 'ConfigMap' ? ['data', 'binaryData'] : ['data']) {
      const e = validateImmutable(n[f], o[f], f)
      if (e.length > 0)
        errs.push({
          type: 'FieldValueForbidden',
          field: f,
          detail: 'field is immutable when `immutable` is set',
        })
    }
  }
  return errs
}
