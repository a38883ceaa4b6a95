/**
 * zod schemas of meta/v1 types shared by every kind (ObjectMeta, OwnerReference, LabelSelector,
 * Time, Quantity, IntOrString) and the helpers that tag lists with their strategic-merge keys.
 *
 * Schemas are plain `z.object` (unknown keys are dropped, as Kubernetes' decoder drops them; the
 * decoder lists them first, see decode.ts). `.meta()` carries the Kubernetes OpenAPI extensions
 * (`x-kubernetes-patch-merge-key`, `x-kubernetes-list-map-keys`, ...) so `z.toJSONSchema` can
 * produce the OpenAPI documents kubectl reads, and the patch code can find list merge keys.
 */
import { z } from 'zod'

/** RFC 3339 timestamp as a string (metav1.Time); not parsed here. */
export const Time = z.string().meta({ format: 'date-time' })
/** resource.Quantity: a string such as `100m`, `1Gi`; JSON numbers are accepted as Kubernetes does. */
export const Quantity = z
  .union([z.string(), z.number()])
  .meta({ 'x-kubernetes-int-or-string': true, format: 'quantity' })
/** intstr.IntOrString. */
export const IntOrString = z
  .union([z.int32(), z.string()])
  .meta({ 'x-kubernetes-int-or-string': true, format: 'int-or-string' })
export const StringMap = z.record(z.string(), z.string())
export const ResourceList = z.record(z.string(), Quantity)

/**
 * A list merged by key in strategic merge patch (`patchStrategy:"merge" patchMergeKey:"<key>"`),
 * e.g. containers by `name`. `mapKeys` are the server-side-apply list-map keys (default: [key]).
 */
export function mergeList<T extends z.ZodType>(item: T, key: string, mapKeys: readonly string[] = [key]) {
  return z.array(item).meta({
    'x-kubernetes-patch-strategy': 'merge',
    'x-kubernetes-patch-merge-key': key,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': [...mapKeys],
  })
}

/** A list of scalars merged as a set in strategic merge patch (finalizers). */
export function setList<T extends z.ZodType>(item: T) {
  return z.array(item).meta({ 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-list-type': 'set' })
}

/** A list replaced whole by strategic merge patch (tolerations, command, args). */
export function atomicList<T extends z.ZodType>(item: T) {
  return z.array(item).meta({ 'x-kubernetes-list-type': 'atomic' })
}

export const OwnerReference = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string(),
  controller: z.boolean().optional(),
  blockOwnerDeletion: z.boolean().optional(),
})
export type OwnerReference = z.infer<typeof OwnerReference>

export const ManagedFieldsEntry = z.object({
  manager: z.string().optional(),
  operation: z.string().optional(),
  apiVersion: z.string().optional(),
  time: Time.optional(),
  fieldsType: z.string().optional(),
  fieldsV1: z.record(z.string(), z.unknown()).optional(),
  subresource: z.string().optional(),
})

export const ObjectMeta = z.object({
  name: z.string().optional(),
  generateName: z.string().optional(),
  namespace: z.string().optional(),
  selfLink: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.int().optional(),
  creationTimestamp: Time.optional(),
  deletionTimestamp: Time.optional(),
  deletionGracePeriodSeconds: z.int().optional(),
  labels: StringMap.optional(),
  annotations: StringMap.optional(),
  ownerReferences: mergeList(OwnerReference, 'uid').optional(),
  finalizers: setList(z.string()).optional(),
  managedFields: atomicList(ManagedFieldsEntry).optional(),
})
export type ObjectMeta = z.infer<typeof ObjectMeta>

export const LabelSelectorRequirement = z.object({
  key: z.string(),
  operator: z.string(),
  values: atomicList(z.string()).optional(),
})
export const LabelSelector = z.object({
  matchLabels: StringMap.optional(),
  matchExpressions: atomicList(LabelSelectorRequirement).optional(),
})
export type LabelSelector = z.infer<typeof LabelSelector>

/** Fields every top-level object has. */
export const typeMeta = {
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: ObjectMeta.optional(),
}

export const Condition = z.object({
  type: z.string(),
  status: z.string(),
  observedGeneration: z.int().optional(),
  lastTransitionTime: Time.optional(),
  lastUpdateTime: Time.optional(),
  lastHeartbeatTime: Time.optional(),
  lastProbeTime: Time.optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
})
