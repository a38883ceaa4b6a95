/**
 * Deployment and ReplicaSet validation (pkg/apis/apps/validation/validation.go): selector
 * required, non-empty and matching the template labels, template restartPolicy Always,
 * strategy and rolling-update bounds, and the apps/v1 immutable selector on update.
 */
import { labelSelectorAsSelector } from '../selectors/label-selector.js'
import {
  child,
  type FieldError,
  forbidden,
  invalid,
  notSupported,
  required,
} from '../validation/field-errors.js'
import { isValidPercent, nameIsDNSSubdomain } from '../validation/name-rules.js'
import type { Deployment, ReplicaSet } from './apps-schema.js'
import type { LabelSelector } from './meta.js'
import type { PodTemplateSpec } from './pod-schema.js'
import {
  goLabelSelector,
  validateImmutable,
  validateLabelSelector,
  validateNonnegative,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from './validate-meta.js'
import { validatePodTemplateSpec } from './validate-pod.js'

/** Selector checks shared by both kinds; returns the errors. */
function validateSelectorAndTemplate(
  selector: LabelSelector | undefined,
  template: PodTemplateSpec | undefined,
  path: string,
): FieldError[] {
  const errs: FieldError[] = []
  if (!selector) {
    errs.push(required(child(path, 'selector')))
  } else {
    errs.push(...validateLabelSelector(selector, child(path, 'selector')))
    if (Object.keys(selector.matchLabels ?? {}).length + (selector.matchExpressions?.length ?? 0) === 0) {
      errs.push(
        invalid(
          child(path, 'selector'),
          goLabelSelector(selector),
          'empty selector is invalid for deployment',
        ),
      )
    }
  }
  let matches: ((labels: Record<string, string> | undefined) => boolean) | undefined
  if (selector) {
    try {
      const sel = labelSelectorAsSelector(selector)
      if (!sel.empty) matches = (l) => sel.matches(l)
    } catch {
      errs.push(invalid(child(path, 'selector'), goLabelSelector(selector), 'invalid label selector'))
    }
  }
  // ValidatePodTemplateSpecForReplicaSet.
  const tp = child(path, 'template')
  if (!template) return [...errs, required(tp)]
  const labels = template.metadata?.labels
  if (matches && !matches(labels)) {
    errs.push(
      invalid(child(tp, 'metadata', 'labels'), labels ?? {}, '`selector` does not match template `labels`'),
    )
  }
  errs.push(...validatePodTemplateSpec(template, tp))
  const rp = template.spec?.restartPolicy
  if (rp && rp !== 'Always') errs.push(notSupported(child(tp, 'spec', 'restartPolicy'), rp, ['Always']))
  if (template.spec?.activeDeadlineSeconds !== undefined) {
    errs.push(
      forbidden(
        child(tp, 'spec', 'activeDeadlineSeconds'),
        'activeDeadlineSeconds in ReplicaSet is not Supported',
      ),
    )
  }
  return errs
}

const intOrPercent = (v: number | string | undefined): { value: number; percent: boolean } | undefined => {
  if (v === undefined) return undefined
  if (typeof v === 'number') return { value: v, percent: false }
  return isValidPercent(v).length === 0 ? { value: Number(v.slice(0, -1)), percent: true } : undefined
}

function validatePositiveIntOrPercent(v: number | string | undefined, path: string): FieldError[] {
  if (v === undefined) return []
  if (typeof v === 'string') return isValidPercent(v).map((m) => invalid(path, v, m))
  return validateNonnegative(v, path)
}

/** ValidateDeploymentSpec. */
export function validateDeploymentSpec(spec: Deployment['spec'], path = 'spec'): FieldError[] {
  const s = spec ?? {}
  const errs = validateNonnegative(s.replicas, child(path, 'replicas'))
  errs.push(...validateSelectorAndTemplate(s.selector, s.template, path))
  const st = s.strategy ?? {}
  const sp = child(path, 'strategy')
  if (st.type === 'Recreate') {
    if (st.rollingUpdate)
      errs.push(
        forbidden(child(sp, 'rollingUpdate'), "may not be specified when strategy `type` is 'Recreate'"),
      )
  } else if (st.type === 'RollingUpdate') {
    const ru = st.rollingUpdate
    if (!ru) errs.push(required(child(sp, 'rollingUpdate'), 'this should be defaulted and never be nil'))
    else {
      const rp = child(sp, 'rollingUpdate')
      errs.push(...validatePositiveIntOrPercent(ru.maxUnavailable, child(rp, 'maxUnavailable')))
      errs.push(...validatePositiveIntOrPercent(ru.maxSurge, child(rp, 'maxSurge')))
      const mu = intOrPercent(ru.maxUnavailable)
      const ms = intOrPercent(ru.maxSurge)
      if (mu?.percent && mu.value > 100)
        errs.push(invalid(child(rp, 'maxUnavailable'), ru.maxUnavailable, 'must not be greater than 100%'))
      if (mu && ms && mu.value === 0 && ms.value === 0) {
        errs.push(
          invalid(child(rp, 'maxUnavailable'), ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0'),
        )
      }
    }
  } else {
    errs.push(notSupported(child(sp, 'type'), st.type ?? '', ['Recreate', 'RollingUpdate']))
  }
  errs.push(...validateNonnegative(s.minReadySeconds, child(path, 'minReadySeconds')))
  errs.push(...validateNonnegative(s.revisionHistoryLimit, child(path, 'revisionHistoryLimit')))
  if (s.progressDeadlineSeconds !== undefined) {
    errs.push(...validateNonnegative(s.progressDeadlineSeconds, child(path, 'progressDeadlineSeconds')))
    if (s.progressDeadlineSeconds <= (s.minReadySeconds ?? 0)) {
      errs.push(
        invalid(
          child(path, 'progressDeadlineSeconds'),
          s.progressDeadlineSeconds,
          'must be greater than minReadySeconds',
        ),
      )
    }
  }
  return errs
}

export function validateDeployment(d: Deployment): FieldError[] {
  return [...validateObjectMeta(d.metadata, true, nameIsDNSSubdomain), ...validateDeploymentSpec(d.spec)]
}

export function validateDeploymentUpdate(next: Deployment, prev: Deployment): FieldError[] {
  return [
    ...validateObjectMetaUpdate(next.metadata, prev.metadata),
    ...validateDeploymentSpec(next.spec),
    ...validateImmutable(
      next.spec?.selector,
      prev.spec?.selector,
      'spec.selector',
      goLabelSelector(next.spec?.selector),
    ),
  ]
}

/** ValidateReplicaSetSpec. */
export function validateReplicaSetSpec(spec: ReplicaSet['spec'], path = 'spec'): FieldError[] {
  const s = spec ?? {}
  return [
    ...validateNonnegative(s.replicas, child(path, 'replicas')),
    ...validateNonnegative(s.minReadySeconds, child(path, 'minReadySeconds')),
    ...validateSelectorAndTemplate(s.selector, s.template, path),
  ]
}

export function validateReplicaSet(rs: ReplicaSet): FieldError[] {
  return [...validateObjectMeta(rs.metadata, true, nameIsDNSSubdomain), ...validateReplicaSetSpec(rs.spec)]
}

export function validateReplicaSetUpdate(next: ReplicaSet, prev: ReplicaSet): FieldError[] {
  return [
    ...validateObjectMetaUpdate(next.metadata, prev.metadata),
    ...validateReplicaSetSpec(next.spec),
    ...validateImmutable(
      next.spec?.selector,
      prev.spec?.selector,
      'spec.selector',
      goLabelSelector(next.spec?.selector),
    ),
  ]
}
