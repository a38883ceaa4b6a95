/**
 * Validation of the remaining kinds (pkg/apis/core/validation/validation.go: ValidateNamespace,
 * ValidateNode, ValidateService, ValidateEndpoints, ValidateConfigMap, ValidateSecret,
 * ValidateServiceAccount; pkg/apis/core/validation/events.go; pkg/apis/coordination/validation).
 * Only the rules that touch modelled fields are implemented.
 */

import {
  child,
  duplicate,
  type FieldError,
  index,
  invalid,
  notSupported,
  required,
  tooLong,
} from '../validation/field-errors.js'
import {
  isConfigMapKey,
  isDNS1123Label,
  isQualifiedName,
  isValidIP,
  isValidPortName,
  isValidPortNum,
  nameIsDNS1035Label,
  nameIsDNSLabel,
  nameIsDNSSubdomain,
} from '../validation/name-rules.js'
import type { Lease } from './apps-schema.js'
import type {
  ConfigMap,
  Endpoints,
  Event,
  Namespace,
  Node,
  Secret,
  Service,
  ServiceAccount,
} from './core-schema.js'
import { validateLabels, validateNonnegative, validateObjectMeta } from './validate-meta.js'

const PROTOCOLS = ['SCTP', 'TCP', 'UDP']
const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort']
const TAINT_EFFECTS = ['NoExecute', 'NoSchedule', 'PreferNoSchedule']
/** 1 MiB: MaxSecretSize, also the ConfigMap limit. */
export const MAX_DATA_BYTES = 1024 * 1024

export function validateNamespace(ns: Namespace): FieldError[] {
  const errs = validateObjectMeta(ns.metadata, false, nameIsDNSLabel)
  ;(ns.spec?.finalizers ?? []).forEach((f, i) => {
    for (const m of isQualifiedName(f)) errs.push(invalid(index('spec.finalizers', i), f, m))
  })
  return errs
}

export function validateNode(node: Node): FieldError[] {
  const errs = validateObjectMeta(node.metadata, false, nameIsDNSSubdomain)
  const seen = new Set<string>()
  ;(node.spec?.taints ?? []).forEach((t, i) => {
    const p = index('spec.taints', i)
    if (!t.key) errs.push(required(child(p, 'key')))
    else for (const m of isQualifiedName(t.key)) errs.push(invalid(child(p, 'key'), t.key, m))
    if (!t.effect) errs.push(required(child(p, 'effect')))
    else if (!TAINT_EFFECTS.includes(t.effect))
      errs.push(notSupported(child(p, 'effect'), t.effect, TAINT_EFFECTS))
    const k = `${t.key}:${t.effect}`
    if (seen.has(k)) errs.push(duplicate(p, t))
    seen.add(k)
  })
  return errs
}

export function validateService(svc: Service): FieldError[] {
  const errs = validateObjectMeta(svc.metadata, true, nameIsDNS1035Label)
  const s = svc.spec ?? {}
  const type = s.type ?? ''
  if (!SERVICE_TYPES.includes(type)) errs.push(notSupported('spec.type', type, SERVICE_TYPES))
  if (type === 'ExternalName') {
    if (!s.externalName) errs.push(required('spec.externalName'))
  } else if ((s.ports ?? []).length === 0 && s.clusterIP !== 'None') {
    errs.push(required('spec.ports'))
  }
  const ports = s.ports ?? []
  const names = new Set<string>()
  const keys = new Set<string>()
  ports.forEach((port, i) => {
    const p = index('spec.ports', i)
    if (ports.length > 1 && !port.name) errs.push(required(child(p, 'name')))
    if (port.name) {
      // validateServicePort: a Service port name is a DNS-1123 label (`80-8080` from kubectl create service).
      for (const m of isDNS1123Label(port.name)) errs.push(invalid(child(p, 'name'), port.name, m))
      if (names.has(port.name)) errs.push(duplicate(child(p, 'name'), port.name))
      names.add(port.name)
    }
    for (const m of isValidPortNum(port.port)) errs.push(invalid(child(p, 'port'), port.port, m))
    if (!port.protocol) errs.push(required(child(p, 'protocol')))
    else if (!PROTOCOLS.includes(port.protocol))
      errs.push(notSupported(child(p, 'protocol'), port.protocol, PROTOCOLS))
    const tp = port.targetPort
    if (typeof tp === 'number')
      for (const m of isValidPortNum(tp)) errs.push(invalid(child(p, 'targetPort'), tp, m))
    else if (typeof tp === 'string')
      for (const m of isValidPortName(tp)) errs.push(invalid(child(p, 'targetPort'), tp, m))
    const k = `${port.port}/${port.protocol}`
    if (keys.has(k)) errs.push(duplicate(p, { port: port.port, protocol: port.protocol }))
    keys.add(k)
  })
  const aff = s.sessionAffinity ?? ''
  if (!['ClientIP', 'None'].includes(aff))
    errs.push(notSupported('spec.sessionAffinity', aff, ['ClientIP', 'None']))
  errs.push(...validateLabels(s.selector, 'spec.selector'))
  return errs
}

export function validateEndpoints(ep: Endpoints): FieldError[] {
  const errs = validateObjectMeta(ep.metadata, true, nameIsDNSSubdomain)
  ;(ep.subsets ?? []).forEach((ss, i) => {
    const p = index('subsets', i)
    const addrs = (list: typeof ss.addresses, name: string) =>
      (list ?? []).forEach((a, j) => {
        const ap = index(child(p, name), j)
        if (!isValidIP(a.ip))
          errs.push(
            invalid(child(ap, 'ip'), a.ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'),
          )
      })
    addrs(ss.addresses, 'addresses')
    addrs(ss.notReadyAddresses, 'notReadyAddresses')
    ;(ss.ports ?? []).forEach((port, j) => {
      const pp = index(child(p, 'ports'), j)
      for (const m of isValidPortNum(port.port)) errs.push(invalid(child(pp, 'port'), port.port, m))
      if (!port.protocol) errs.push(required(child(pp, 'protocol')))
      else if (!PROTOCOLS.includes(port.protocol))
        errs.push(notSupported(child(pp, 'protocol'), port.protocol, PROTOCOLS))
    })
  })
  return errs
}

/** ValidateEvent (core/v1 events: the involved object's namespace must match). */
export function validateEvent(ev: Event): FieldError[] {
  const errs = validateObjectMeta(ev.metadata, true, nameIsDNSSubdomain)
  const ns = ev.metadata?.namespace ?? ''
  const ions = ev.involvedObject.namespace ?? ''
  if (ions !== '' && ions !== ns)
    errs.push(invalid('involvedObject.namespace', ions, 'does not match event.namespace'))
  if (ev.type && !['Normal', 'Warning'].includes(ev.type)) {
    // Kubernetes only enforces this for events.k8s.io; core/v1 Events keep any type.
  }
  errs.push(...validateNonnegative(ev.count, 'count'))
  return errs
}

function validateDataKeys(
  data: Record<string, string> | undefined,
  path: string,
  seen: Set<string>,
): FieldError[] {
  const errs: FieldError[] = []
  for (const k of Object.keys(data ?? {})) {
    for (const m of isConfigMapKey(k)) errs.push(invalid(path, k, m))
    if (seen.has(k)) errs.push(invalid(path, k, 'duplicate of key present in data'))
    seen.add(k)
  }
  return errs
}

const totalBytes = (...maps: (Record<string, string> | undefined)[]) =>
  maps.reduce((n, m) => n + Object.values(m ?? {}).reduce((a, v) => a + Buffer.byteLength(v), 0), 0)

export function validateConfigMap(cm: ConfigMap): FieldError[] {
  const errs = validateObjectMeta(cm.metadata, true, nameIsDNSSubdomain)
  const seen = new Set<string>()
  errs.push(...validateDataKeys(cm.data, 'data', seen))
  errs.push(...validateDataKeys(cm.binaryData, 'binaryData', seen))
  if (totalBytes(cm.data, cm.binaryData) > MAX_DATA_BYTES) errs.push(tooLong('', MAX_DATA_BYTES))
  return errs
}

export function validateSecret(secret: Secret): FieldError[] {
  const errs = validateObjectMeta(secret.metadata, true, nameIsDNSSubdomain)
  errs.push(...validateDataKeys(secret.data, 'data', new Set()))
  for (const [k, v] of Object.entries(secret.data ?? {})) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0)
      errs.push(invalid(`data[${k}]`, '<secret contents redacted>', 'must be base64 encoded'))
  }
  if (totalBytes(secret.data) > MAX_DATA_BYTES) errs.push(tooLong('data', MAX_DATA_BYTES))
  return errs
}

export function validateServiceAccount(sa: ServiceAccount): FieldError[] {
  return validateObjectMeta(sa.metadata, true, nameIsDNSSubdomain)
}

/** ValidateLease (coordination). */
export function validateLease(lease: Lease): FieldError[] {
  const errs = validateObjectMeta(lease.metadata, true, nameIsDNSSubdomain)
  const s = lease.spec ?? {}
  if (s.leaseDurationSeconds !== undefined && s.leaseDurationSeconds <= 0) {
    errs.push(invalid('spec.leaseDurationSeconds', s.leaseDurationSeconds, 'must be greater than 0'))
  }
  errs.push(...validateNonnegative(s.leaseTransitions, 'spec.leaseTransitions'))
  return errs
}
