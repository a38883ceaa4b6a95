/**
 * Pod, PodSpec and PodTemplateSpec validation, following pkg/apis/core/validation/validation.go
 * (ValidatePodCreate / ValidatePodSpec / validateContainers / validateTolerations /
 * ValidatePodUpdate) for the fields hakube models. Messages are Kubernetes' own.
 */
import {
  child,
  duplicate,
  type FieldError,
  forbidden,
  GoValue,
  goQuote,
  index,
  invalid,
  key,
  notFound,
  notSupported,
  required,
} from '../validation/field-errors.js'
import {
  inclusiveRangeError,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isRelaxedEnvVarName,
  isValidLabelValue,
  isValidPortName,
  isValidPortNum,
  nameIsDNSSubdomain,
} from '../validation/name-rules.js'
import type { ObjectMeta } from './meta.js'
import type { Container, Pod, PodSpec, PodTemplateSpec, Toleration, Volume } from './pod-schema.js'
import { VOLUME_SOURCES } from './pod-schema.js'
import { parseQuantity, QUANTITY_FORMAT_ERROR } from './quantity.js'
import {
  deepEqual,
  validateAnnotations,
  validateLabels,
  validateNonnegative,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from './validate-meta.js'

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never']
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None']
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never']
const TERMINATION_MESSAGE_POLICIES = ['File', 'FallbackToLogsOnError']
const PROTOCOLS = ['SCTP', 'TCP', 'UDP']
const TOLERATION_OPERATORS = ['Equal', 'Exists']
const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute']
const MAX_INT32 = 2147483647

function validatePorts(ports: Container['ports'], path: string): FieldError[] {
  const errs: FieldError[] = []
  const names = new Set<string>()
  ;(ports ?? []).forEach((port, i) => {
    const p = index(path, i)
    if (port.name) {
      for (const m of isValidPortName(port.name)) errs.push(invalid(child(p, 'name'), port.name, m))
      if (names.has(port.name)) errs.push(duplicate(child(p, 'name'), port.name))
      names.add(port.name)
    }
    if (!port.containerPort) errs.push(required(child(p, 'containerPort')))
    else
      for (const m of isValidPortNum(port.containerPort))
        errs.push(invalid(child(p, 'containerPort'), port.containerPort, m))
    if (port.hostPort)
      for (const m of isValidPortNum(port.hostPort))
        errs.push(invalid(child(p, 'hostPort'), port.hostPort, m))
    if (!port.protocol) errs.push(required(child(p, 'protocol')))
    else if (!PROTOCOLS.includes(port.protocol))
      errs.push(notSupported(child(p, 'protocol'), port.protocol, PROTOCOLS))
  })
  return errs
}

function validateEnv(env: Container['env'], path: string): FieldError[] {
  const errs: FieldError[] = []
  ;(env ?? []).forEach((e, i) => {
    const p = index(path, i)
    if (!e.name) errs.push(required(child(p, 'name')))
    else for (const m of isRelaxedEnvVarName(e.name)) errs.push(invalid(child(p, 'name'), e.name, m))
    const vf = e.valueFrom
    if (vf) {
      const sources = [vf.fieldRef, vf.resourceFieldRef, vf.configMapKeyRef, vf.secretKeyRef].filter(
        Boolean,
      ).length
      if (sources === 0)
        errs.push(
          invalid(
            child(p, 'valueFrom'),
            '',
            'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`',
          ),
        )
      else if (sources > 1)
        errs.push(invalid(child(p, 'valueFrom'), '', 'may not have more than one field specified at a time'))
      if (e.value)
        errs.push(invalid(child(p, 'valueFrom'), '', 'may not be specified when `value` is not empty'))
    }
  })
  return errs
}

function validateResources(res: Container['resources'], path: string): FieldError[] {
  const errs: FieldError[] = []
  const limits = res?.limits ?? {}
  const requests = res?.requests ?? {}
  const check = (list: Record<string, string | number>, p: string) => {
    for (const [name, q] of Object.entries(list)) {
      for (const m of isQualifiedName(name)) errs.push(invalid(key(p, name), name, m))
      const v = parseQuantity(q)
      if (v === undefined) errs.push(invalid(key(p, name), q, QUANTITY_FORMAT_ERROR))
      else if (v < 0) errs.push(invalid(key(p, name), String(q), 'must be greater than or equal to 0'))
    }
  }
  check(limits, child(path, 'limits'))
  check(requests, child(path, 'requests'))
  for (const [name, q] of Object.entries(requests)) {
    const lim = limits[name]
    if (lim === undefined) continue
    const rv = parseQuantity(q)
    const lv = parseQuantity(lim)
    if (rv !== undefined && lv !== undefined && rv > lv) {
      errs.push(
        invalid(
          key(child(path, 'requests'), name),
          String(q),
          `must be less than or equal to ${name} limit of ${String(lim)}`,
        ),
      )
    }
  }
  return errs
}

function validateContainer(c: Container, path: string, volumes: ReadonlySet<string>): FieldError[] {
  const errs: FieldError[] = []
  if (!c.image) errs.push(required(child(path, 'image')))
  else if (c.image.trim() !== c.image)
    errs.push(invalid(child(path, 'image'), c.image, 'must not have leading or trailing whitespace'))
  if (c.imagePullPolicy === undefined || c.imagePullPolicy === '')
    errs.push(required(child(path, 'imagePullPolicy')))
  else if (!PULL_POLICIES.includes(c.imagePullPolicy))
    errs.push(notSupported(child(path, 'imagePullPolicy'), c.imagePullPolicy, PULL_POLICIES))
  if (!c.terminationMessagePolicy) errs.push(required(child(path, 'terminationMessagePolicy')))
  else if (!TERMINATION_MESSAGE_POLICIES.includes(c.terminationMessagePolicy)) {
    errs.push(
      notSupported(
        child(path, 'terminationMessagePolicy'),
        c.terminationMessagePolicy,
        TERMINATION_MESSAGE_POLICIES,
      ),
    )
  }
  errs.push(...validatePorts(c.ports, child(path, 'ports')))
  errs.push(...validateEnv(c.env, child(path, 'env')))
  errs.push(...validateResources(c.resources, child(path, 'resources')))
  const mountPaths = new Set<string>()
  ;(c.volumeMounts ?? []).forEach((vm, i) => {
    const p = index(child(path, 'volumeMounts'), i)
    if (!vm.name) errs.push(required(child(p, 'name')))
    else if (!volumes.has(vm.name)) errs.push(notFound(child(p, 'name'), vm.name))
    if (!vm.mountPath) errs.push(required(child(p, 'mountPath')))
    else if (mountPaths.has(vm.mountPath))
      errs.push(invalid(child(p, 'mountPath'), vm.mountPath, 'must be unique'))
    mountPaths.add(vm.mountPath)
  })
  return errs
}

/** validateContainers / validateInitContainers: names are DNS labels unique across both lists. */
function validateContainerList(
  list: readonly Container[] | undefined,
  path: string,
  volumes: ReadonlySet<string>,
  names: Set<string>,
  requireOne: boolean,
): FieldError[] {
  const errs: FieldError[] = []
  if (requireOne && (!list || list.length === 0)) return [required(path)]
  ;(list ?? []).forEach((c, i) => {
    const p = index(path, i)
    if (!c.name) errs.push(required(child(p, 'name')))
    else {
      for (const m of isDNS1123Label(c.name)) errs.push(invalid(child(p, 'name'), c.name, m))
      if (names.has(c.name)) errs.push(duplicate(child(p, 'name'), c.name))
      names.add(c.name)
    }
    errs.push(...validateContainer(c, p, volumes))
  })
  return errs
}

function validateVolumes(
  volumes: readonly Volume[] | undefined,
  path: string,
): { errs: FieldError[]; names: Set<string> } {
  const errs: FieldError[] = []
  const names = new Set<string>()
  ;(volumes ?? []).forEach((v, i) => {
    const p = index(path, i)
    if (!v.name) errs.push(required(child(p, 'name')))
    else {
      for (const m of isDNS1123Label(v.name)) errs.push(invalid(child(p, 'name'), v.name, m))
      if (names.has(v.name)) errs.push(duplicate(child(p, 'name'), v.name))
      names.add(v.name)
    }
    const sources = VOLUME_SOURCES.filter((s) => v[s] !== undefined)
    if (sources.length === 0) errs.push(required(p, 'must specify a volume type'))
    else if (sources.length > 1) {
      for (const s of sources.slice(1))
        errs.push(forbidden(child(p, s), 'may not specify more than 1 volume type'))
    }
    if (v.hostPath && !v.hostPath.path) errs.push(required(child(p, 'hostPath', 'path')))
    if (v.persistentVolumeClaim && !v.persistentVolumeClaim.claimName) {
      errs.push(required(child(p, 'persistentVolumeClaim', 'claimName')))
    }
  })
  return { errs, names }
}

/** Go's `%#v` of a core.Toleration. */
function goToleration(t: Toleration): GoValue {
  const secs = t.tolerationSeconds === undefined ? '(*int64)(nil)' : `(*int64)(${t.tolerationSeconds})`
  return new GoValue(
    `core.Toleration{Key:${goQuote(t.key ?? '')}, Operator:${goQuote(t.operator ?? '')}, Value:${goQuote(t.value ?? '')}, Effect:${goQuote(t.effect ?? '')}, TolerationSeconds:${secs}}`,
  )
}

/** validateTolerations. */
export function validateTolerations(
  tolerations: readonly Toleration[] | undefined,
  path: string,
): FieldError[] {
  const errs: FieldError[] = []
  ;(tolerations ?? []).forEach((t, i) => {
    const p = index(path, i)
    if (t.key) for (const m of isQualifiedName(t.key)) errs.push(invalid(child(p, 'key'), t.key, m))
    if (!t.key && t.operator !== 'Exists') {
      errs.push(
        invalid(
          child(p, 'operator'),
          t.operator ?? '',
          'operator must be Exists when `key` is empty, which means "match all values and all keys"',
        ),
      )
    }
    if (t.tolerationSeconds !== undefined && t.effect !== 'NoExecute') {
      errs.push(
        invalid(
          child(p, 'effect'),
          t.effect ?? '',
          "effect must be 'NoExecute' when `tolerationSeconds` is set",
        ),
      )
    }
    switch (t.operator ?? '') {
      case '':
      case 'Equal':
        {
          const msgs = isValidLabelValue(t.value ?? '')
          if (msgs.length > 0) errs.push(invalid(child(p, 'operator'), t.value ?? '', msgs.join(';')))
        }
        break
      case 'Exists':
        if (t.value)
          errs.push(
            invalid(child(p, 'operator'), goToleration(t), "value must be empty when `operator` is 'Exists'"),
          )
        break
      default:
        errs.push(notSupported(child(p, 'operator'), t.operator, TOLERATION_OPERATORS))
    }
    if (t.effect && !TAINT_EFFECTS.includes(t.effect))
      errs.push(notSupported(child(p, 'effect'), t.effect, TAINT_EFFECTS))
  })
  return errs
}

/** ValidatePodSpec for the modelled fields. */
export function validatePodSpec(spec: PodSpec | undefined, path: string): FieldError[] {
  const s = spec ?? {}
  const { errs, names: volumeNames } = validateVolumes(s.volumes, child(path, 'volumes'))
  const containerNames = new Set<string>()
  errs.push(
    ...validateContainerList(s.containers, child(path, 'containers'), volumeNames, containerNames, true),
  )
  errs.push(
    ...validateContainerList(
      s.initContainers,
      child(path, 'initContainers'),
      volumeNames,
      containerNames,
      false,
    ),
  )
  const rp = s.restartPolicy ?? ''
  if (rp === '') errs.push(required(child(path, 'restartPolicy')))
  else if (!RESTART_POLICIES.includes(rp))
    errs.push(notSupported(child(path, 'restartPolicy'), rp, RESTART_POLICIES))
  const dp = s.dnsPolicy ?? ''
  if (dp === '') errs.push(required(child(path, 'dnsPolicy')))
  else if (!DNS_POLICIES.includes(dp)) errs.push(notSupported(child(path, 'dnsPolicy'), dp, DNS_POLICIES))
  errs.push(...validateLabels(s.nodeSelector, child(path, 'nodeSelector')))
  if (s.nodeName)
    for (const m of isDNS1123Subdomain(s.nodeName)) errs.push(invalid(child(path, 'nodeName'), s.nodeName, m))
  if (s.serviceAccountName) {
    for (const m of isDNS1123Subdomain(s.serviceAccountName))
      errs.push(invalid(child(path, 'serviceAccountName'), s.serviceAccountName, m))
  }
  if (s.schedulerName)
    for (const m of isDNS1123Subdomain(s.schedulerName))
      errs.push(invalid(child(path, 'schedulerName'), s.schedulerName, m))
  if (s.hostname)
    for (const m of isDNS1123Label(s.hostname)) errs.push(invalid(child(path, 'hostname'), s.hostname, m))
  if (s.subdomain)
    for (const m of isDNS1123Label(s.subdomain)) errs.push(invalid(child(path, 'subdomain'), s.subdomain, m))
  if (
    s.activeDeadlineSeconds !== undefined &&
    (s.activeDeadlineSeconds < 1 || s.activeDeadlineSeconds > MAX_INT32)
  ) {
    errs.push(
      invalid(
        child(path, 'activeDeadlineSeconds'),
        s.activeDeadlineSeconds,
        inclusiveRangeError(1, MAX_INT32),
      ),
    )
  }
  errs.push(...validateTolerations(s.tolerations, child(path, 'tolerations')))
  return errs
}

/** ValidatePodCreate (metadata: namespaced, DNS-1123 subdomain name). */
export function validatePod(pod: Pod): FieldError[] {
  return [...validateObjectMeta(pod.metadata, true, nameIsDNSSubdomain), ...validatePodSpec(pod.spec, 'spec')]
}

/** ValidatePodTemplateSpec: template labels and annotations, then the pod spec. */
export function validatePodTemplateSpec(t: PodTemplateSpec | undefined, path: string): FieldError[] {
  const meta: ObjectMeta = t?.metadata ?? {}
  return [
    ...validateLabels(meta.labels, child(path, 'metadata', 'labels')),
    ...validateAnnotations(meta.annotations, child(path, 'metadata', 'annotations')),
    ...validateNonnegative(
      t?.spec?.terminationGracePeriodSeconds,
      child(path, 'spec', 'terminationGracePeriodSeconds'),
    ),
    ...validatePodSpec(t?.spec, child(path, 'spec')),
  ]
}

/** The fields ValidatePodUpdate lets change, in its own words (1.32). */
export const POD_UPDATABLE_FIELDS =
  '`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)'

/** Paths where two JSON values differ (a compact stand-in for Go's cmp.Diff). */
function diffPaths(a: unknown, b: unknown, path: string, out: string[]): void {
  if (deepEqual(a, b)) return
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)])
    for (const k of keys) {
      const p = Array.isArray(a) ? `${path}[${k}]` : `${path}.${k}`
      diffPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], p, out)
    }
    return
  }
  out.push(`${path}: ${JSON.stringify(a) ?? '<unset>'} -> ${JSON.stringify(b) ?? '<unset>'}`)
}

/** ValidatePodUpdate: metadata rules, then spec changes limited to {@link POD_UPDATABLE_FIELDS}. */
export function validatePodUpdate(next: Pod, prev: Pod): FieldError[] {
  const errs = validateObjectMetaUpdate(next.metadata, prev.metadata)
  errs.push(...validatePodSpec(next.spec, 'spec'))
  const ns = next.spec ?? {}
  const os = prev.spec ?? {}
  if (os.activeDeadlineSeconds !== undefined && ns.activeDeadlineSeconds === undefined) {
    errs.push(
      invalid('spec.activeDeadlineSeconds', null, 'must not update from a positive integer to nil value'),
    )
  } else if (
    os.activeDeadlineSeconds !== undefined &&
    ns.activeDeadlineSeconds !== undefined &&
    ns.activeDeadlineSeconds > os.activeDeadlineSeconds
  ) {
    errs.push(
      invalid(
        'spec.activeDeadlineSeconds',
        ns.activeDeadlineSeconds,
        'must be less than or equal to previous value',
      ),
    )
  }
  // Munge the new spec with the old values of every field that may change, then compare.
  const munged: PodSpec = { ...ns }
  const withOldImages = (list: Container[] | undefined, old: Container[] | undefined) =>
    list?.map((c, i) => (old?.[i] ? { ...c, image: old[i].image } : c))
  munged.containers = withOldImages(ns.containers, os.containers)
  munged.initContainers = withOldImages(ns.initContainers, os.initContainers)
  munged.activeDeadlineSeconds = os.activeDeadlineSeconds
  const oldTolerations = os.tolerations ?? []
  const keepsOld = oldTolerations.every((t) => (ns.tolerations ?? []).some((n) => deepEqual(n, t)))
  if (keepsOld) munged.tolerations = os.tolerations
  // validateOnlyDeletedSchedulingGates: gates may only go (the scheduler's user removes them to release
  // the pod), never be added.
  const oldGates = os.schedulingGates ?? []
  for (const gate of ns.schedulingGates ?? [])
    if (!oldGates.some((g) => g.name === gate.name))
      errs.push(
        forbidden(
          'spec.schedulingGates',
          `only deletion is allowed, but found new scheduling gate '${gate.name}'`,
        ),
      )
  munged.schedulingGates = os.schedulingGates
  if ((os.terminationGracePeriodSeconds ?? 0) < 0 && ns.terminationGracePeriodSeconds === 1) {
    munged.terminationGracePeriodSeconds = os.terminationGracePeriodSeconds
  }
  if (!deepEqual(munged, os)) {
    const diff: string[] = []
    diffPaths(os, munged, 'spec', diff)
    errs.push(
      forbidden(
        'spec',
        `pod updates may not change fields other than ${POD_UPDATABLE_FIELDS}\n${diff.join('\n')}`,
      ),
    )
  }
  return errs
}
