/**
 * zod schemas of apps/v1 Deployment and ReplicaSet, autoscaling/v1 Scale (the /scale
 * subresource) and coordination.k8s.io/v1 Lease (k8s.io/api apps/v1, autoscaling/v1,
 * coordination/v1 types.go).
 */
import { z } from 'zod'
import { Condition, IntOrString, LabelSelector, mergeList, Time, typeMeta } from './meta.js'
import { PodTemplateSpec } from './pod-schema.js'

export const DeploymentSpec = z.object({
  replicas: z.int32().optional(),
  selector: LabelSelector.optional(),
  template: PodTemplateSpec.optional(),
  strategy: z
    .object({
      type: z.string().optional(),
      rollingUpdate: z
        .object({ maxUnavailable: IntOrString.optional(), maxSurge: IntOrString.optional() })
        .optional(),
    })
    .meta({ 'x-kubernetes-patch-strategy': 'retainKeys' })
    .optional(),
  minReadySeconds: z.int32().optional(),
  revisionHistoryLimit: z.int32().optional(),
  paused: z.boolean().optional(),
  progressDeadlineSeconds: z.int32().optional(),
})

export const Deployment = z.object({
  ...typeMeta,
  spec: DeploymentSpec.optional(),
  status: z
    .object({
      observedGeneration: z.int().optional(),
      replicas: z.int32().optional(),
      updatedReplicas: z.int32().optional(),
      readyReplicas: z.int32().optional(),
      availableReplicas: z.int32().optional(),
      unavailableReplicas: z.int32().optional(),
      terminatingReplicas: z.int32().optional(),
      conditions: mergeList(Condition, 'type').optional(),
      collisionCount: z.int32().optional(),
    })
    .optional(),
})
export type Deployment = z.infer<typeof Deployment>

export const ReplicaSet = z.object({
  ...typeMeta,
  spec: z
    .object({
      replicas: z.int32().optional(),
      minReadySeconds: z.int32().optional(),
      selector: LabelSelector.optional(),
      template: PodTemplateSpec.optional(),
    })
    .optional(),
  status: z
    .object({
      replicas: z.int32().optional(),
      fullyLabeledReplicas: z.int32().optional(),
      readyReplicas: z.int32().optional(),
      availableReplicas: z.int32().optional(),
      terminatingReplicas: z.int32().optional(),
      observedGeneration: z.int().optional(),
      conditions: mergeList(Condition, 'type').optional(),
    })
    .optional(),
})
export type ReplicaSet = z.infer<typeof ReplicaSet>

/** autoscaling/v1 Scale. `status.selector` is the label selector in string form. */
export const Scale = z.object({
  ...typeMeta,
  spec: z.object({ replicas: z.int32().optional() }).optional(),
  status: z.object({ replicas: z.int32(), selector: z.string().optional() }).optional(),
})
export type Scale = z.infer<typeof Scale>

/** coordination.k8s.io/v1 Lease (leader election, node heartbeats). Times are MicroTime strings. */
export const Lease = z.object({
  ...typeMeta,
  spec: z
    .object({
      holderIdentity: z.string().optional(),
      leaseDurationSeconds: z.int32().optional(),
      acquireTime: Time.optional(),
      renewTime: Time.optional(),
      leaseTransitions: z.int32().optional(),
      strategy: z.string().optional(),
      preferredHolder: z.string().optional(),
    })
    .optional(),
})
export type Lease = z.infer<typeof Lease>
