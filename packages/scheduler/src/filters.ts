/**
 * The filter plugins of kube-scheduler's default profile that hakube runs, in the profile's order
 * (pkg/scheduler/framework/plugins): NodeUnschedulable, TaintToleration, NodeAffinity (nodeSelector
 * and required node affinity), NodeResourcesFit. A node is checked plugin by plugin and the first
 * plugin that refuses it gives the node's reasons, as the framework's RunFilterPlugins does.
 *
 * Everything the pod brings is compiled once per scheduling attempt (`compilePod`), so checking a
 * node is a few number comparisons and map lookups: no parsing, no JSON, no allocation on success.
 * Reasons are kube's own texts (the plugins' ErrReason* constants), for the FitError message.
 */
import type { Pod, Taint, Toleration } from '@hakube/api'
import { controllerOwnerUid, type NodeInfo, podKey, TAINT_NODE_UNSCHEDULABLE } from './cache.js'
import { isZero, type NonZeroRequests, nonZeroRequests, podRequests, type Resources } from './resources.js'

export const REASON_UNSCHEDULABLE = 'node(s) were unschedulable'
export const REASON_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
export const REASON_TOO_MANY_PODS = 'Too many pods'

export function reasonUntoleratedTaint(t: Taint): string {
  return `node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`
}

export function reasonInsufficient(resource: string): string {
  return `Insufficient ${resource}`
}

type LabelOp = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt'

interface Requirement {
  key: string
  op: LabelOp
  values: ReadonlySet<string>
  /** Gt/Lt's bound. */
  bound: number
}

interface Term {
  labels: readonly Requirement[]
  /** matchFields on metadata.name. */
  fields: readonly Requirement[]
}

/** Everything about the pod the filters and scorers need, computed once per attempt. */
export interface PodInfo {
  readonly pod: Pod
  readonly key: string
  readonly uid: string
  readonly priority: number
  readonly requests: Resources
  readonly requestsZero: boolean
  readonly nonZero: NonZeroRequests
  readonly ownerUid: string
  readonly nodeSelector: readonly (readonly [string, string])[]
  /** Required node affinity terms (ORed); undefined when the pod has none. */
  readonly terms: readonly Term[] | undefined
  readonly tolerations: readonly Toleration[]
  readonly toleratesUnschedulable: boolean
}

/** The outcome of filtering one node: undefined when it fits, else kube's reasons. */
export type FilterResult = readonly string[] | undefined

/** `v1helper.ToleratesTaint`. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect !== undefined && t.effect !== '' && t.effect !== taint.effect) return false
  if (t.key !== undefined && t.key !== '' && t.key !== taint.key) return false
  const op = t.operator ?? ''
  if (op === 'Exists') return true
  if (op === '' || op === 'Equal') return (t.value ?? '') === (taint.value ?? '')
  return false
}

function tolerated(tolerations: readonly Toleration[], taint: Taint): boolean {
  for (const t of tolerations) if (toleratesTaint(t, taint)) return true
  return false
}

function parseInt64(s: string): number | undefined {
  return /^[+-]?\d+$/.test(s) ? Number(s) : undefined
}

function compileRequirement(raw: unknown): Requirement | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const r = raw as { key?: unknown; operator?: unknown; values?: unknown }
  const key = typeof r.key === 'string' ? r.key : ''
  const op = r.operator
  const values = Array.isArray(r.values) ? r.values.filter((v): v is string => typeof v === 'string') : []
  switch (op) {
    case 'In':
    case 'NotIn':
      return { key, op, values: new Set(values), bound: 0 }
    case 'Exists':
    case 'DoesNotExist':
      return { key, op, values: new Set(), bound: 0 }
    case 'Gt':
    case 'Lt': {
      // NewRequirement: exactly one value, an integer; anything else makes the term unusable.
      const bound = values.length === 1 && values[0] !== undefined ? parseInt64(values[0]) : undefined
      return bound === undefined ? undefined : { key, op, values: new Set(), bound }
    }
    default:
      return undefined
  }
}

/**
 * `nodeaffinity.NewLazyErrorNodeSelector`: a term with an invalid requirement never matches, a term
 * with no requirement at all never matches, and the terms are ORed.
 */
function compileTerms(affinity: unknown): Term[] | undefined {
  const required = (
    affinity as { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: unknown } }
  )?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution as
    | { nodeSelectorTerms?: unknown }
    | undefined
  if (required === undefined || required === null) return undefined
  const rawTerms = Array.isArray(required.nodeSelectorTerms) ? required.nodeSelectorTerms : []
  const terms: Term[] = []
  for (const raw of rawTerms) {
    const t = (raw ?? {}) as { matchExpressions?: unknown; matchFields?: unknown }
    const exprs = Array.isArray(t.matchExpressions) ? t.matchExpressions : []
    const fields = Array.isArray(t.matchFields) ? t.matchFields : []
    if (exprs.length === 0 && fields.length === 0) continue
    const labels: Requirement[] = []
    const fieldReqs: Requirement[] = []
    let valid = true
    for (const e of exprs) {
      const r = compileRequirement(e)
      if (r === undefined) valid = false
      else labels.push(r)
    }
    for (const f of fields) {
      const r = compileRequirement(f)
      // Only metadata.name, with In or NotIn (ValidateNodeFieldSelectorRequirement).
      if (r === undefined || r.key !== 'metadata.name' || (r.op !== 'In' && r.op !== 'NotIn')) valid = false
      else fieldReqs.push(r)
    }
    if (valid) terms.push({ labels, fields: fieldReqs })
  }
  return terms
}

function requirementMatches(r: Requirement, value: string | undefined): boolean {
  switch (r.op) {
    case 'In':
      return value !== undefined && r.values.has(value)
    case 'NotIn':
      return value === undefined || !r.values.has(value)
    case 'Exists':
      return value !== undefined
    case 'DoesNotExist':
      return value === undefined
    case 'Gt':
    case 'Lt': {
      const n = value === undefined ? undefined : parseInt64(value)
      if (n === undefined) return false
      return r.op === 'Gt' ? n > r.bound : n < r.bound
    }
  }
}

function termMatches(term: Term, node: NodeInfo): boolean {
  for (const r of term.labels) if (!requirementMatches(r, node.labels[r.key])) return false
  for (const r of term.fields) if (!requirementMatches(r, node.name)) return false
  return true
}

export function compilePod(pod: Pod): PodInfo {
  const spec = pod.spec
  const tolerations = spec?.tolerations ?? []
  const requests = podRequests(spec)
  return {
    pod,
    key: podKey(pod),
    uid: pod.metadata?.uid ?? '',
    priority: spec?.priority ?? 0,
    requests,
    requestsZero: isZero(requests),
    nonZero: nonZeroRequests(spec),
    ownerUid: controllerOwnerUid(pod),
    nodeSelector: Object.entries(spec?.nodeSelector ?? {}),
    terms: compileTerms(spec?.affinity),
    tolerations,
    toleratesUnschedulable: tolerated(tolerations, { key: TAINT_NODE_UNSCHEDULABLE, effect: 'NoSchedule' }),
  }
}

/** NodeAffinity's Filter: the nodeSelector, then the required terms. */
export function matchesNodeAffinity(p: PodInfo, node: NodeInfo): boolean {
  for (const [k, v] of p.nodeSelector) if (node.labels[k] !== v) return false
  if (p.terms === undefined) return true
  for (const term of p.terms) if (termMatches(term, node)) return true
  return false
}

/** NodeResourcesFit's `fitsRequest`: pod count first, then each requested resource. */
export function insufficientResources(p: PodInfo, node: NodeInfo): string[] | undefined {
  let reasons: string[] | undefined
  if (node.podCount + 1 > node.allowedPodNumber) reasons = [REASON_TOO_MANY_PODS]
  if (!p.requestsZero) {
    const req = p.requests
    const alloc = node.allocatable
    const used = node.requested
    if (req.milliCpu > 0 && req.milliCpu > alloc.milliCpu - used.milliCpu)
      reasons = pushed(reasons, reasonInsufficient('cpu'))
    if (req.memory > 0 && req.memory > alloc.memory - used.memory)
      reasons = pushed(reasons, reasonInsufficient('memory'))
    if (req.ephemeralStorage > 0 && req.ephemeralStorage > alloc.ephemeralStorage - used.ephemeralStorage)
      reasons = pushed(reasons, reasonInsufficient('ephemeral-storage'))
    if (req.scalar !== undefined) {
      for (const [name, q] of req.scalar) {
        if (q > 0 && q > (alloc.scalar?.get(name) ?? 0) - (used.scalar?.get(name) ?? 0))
          reasons = pushed(reasons, reasonInsufficient(name))
      }
    }
  }
  return reasons
}

/** Appends to a list made only when there is something to say (nothing is allocated for a fit). */
function pushed(list: string[] | undefined, reason: string): string[] {
  if (list === undefined) return [reason]
  list.push(reason)
  return list
}

/** Runs the filters on one node in the default profile's order; the first refusal wins. */
export function filterNode(p: PodInfo, node: NodeInfo): FilterResult {
  if (node.unschedulable && !p.toleratesUnschedulable) return [REASON_UNSCHEDULABLE]
  for (const taint of node.taints) {
    if (!tolerated(p.tolerations, taint)) return [reasonUntoleratedTaint(taint)]
  }
  if (!matchesNodeAffinity(p, node)) return [REASON_AFFINITY]
  return insufficientResources(p, node)
}
