/**
 * The `pods/binding` and `{deployments,replicasets}/scale` subresources.
 *
 * binding (pkg/registry/core/pod/storage/storage.go BindingREST): the body is a v1 Binding named like
 * the pod; `target.kind` must be Node (or empty) and `target.name` set. The pod's `spec.nodeName` is
 * set once, the binding's annotations are merged in and the `PodScheduled` condition becomes True
 * (podutil.UpdatePodCondition). The binding's uid / resourceVersion, when given, are preconditions.
 * A pod that is already bound, being deleted or still gated is a 409 Conflict on `pods/binding`;
 * success is a Status Success with code 201.
 *
 * scale (pkg/registry/apps/deployment/storage/storage.go ScaleREST): reads and writes autoscaling/v1
 * Scale. The Scale carries the parent's name, namespace, uid, resourceVersion and
 * creationTimestamp, `spec.replicas`, `status.replicas` and `status.selector` (the label selector as
 * a string). PUT and PATCH change only the parent's `spec.replicas`, through the parent's update
 * (defaults, validation, generation); the Scale's resourceVersion is the precondition (409 with the
 * optimistic-lock text on the parent's resource), its uid a precondition on the parent.
 */
import {
  type FieldError,
  fieldErrors,
  labelSelectorAsSelector,
  type MetaLabelSelector,
  StatusError,
  SUBRESOURCE_SCHEMAS,
  statusErrors,
} from '@hakube/api'
import { isStorageError } from '@hakube/storage'
import { applyPatch, isObject, type Patch } from './body.js'
import { storageCall, toStatus } from './errors.js'
import {
  checkNamespaceMatches,
  type DecodeTarget,
  decode,
  guaranteedUpdate,
  keyOf,
  RETRIES_MAX,
  type RestContext,
} from './handlers.js'
import { forStorage, metaOf, nowRfc3339, type Obj, parseResourceVersion, toWire } from './objects.js'
import { type Query, queryParam } from './query.js'

const BINDING: DecodeTarget = {
  group: '',
  version: 'v1',
  kind: 'Binding',
  schema: SUBRESOURCE_SCHEMAS.Binding,
}
const SCALE: DecodeTarget = {
  group: 'autoscaling',
  version: 'v1',
  kind: 'Scale',
  schema: SUBRESOURCE_SCHEMAS.Scale,
}
const PODS_BINDING = { group: '', resource: 'pods/binding' }

/** ValidatePodBinding. */
function validateBinding(binding: Obj): FieldError[] {
  const target = (binding['target'] ?? {}) as { kind?: string; name?: string }
  const errs: FieldError[] = []
  if (target.kind !== undefined && target.kind !== '' && target.kind !== 'Node')
    errs.push(fieldErrors.notSupported('target.kind', target.kind, ['Node', '<empty>']))
  if (target.name === undefined || target.name === '') errs.push(fieldErrors.required('target.name'))
  return errs
}

/** `POST pods/{name}/binding`: the Status Success (code 201) kube answers. */
export async function bindPod(ctx: RestContext, name: string, body: unknown, query: Query): Promise<object> {
  const binding = decode(BINDING, body, query)
  checkNamespaceMatches(ctx, binding)
  const bm = metaOf(binding)
  if ((bm.name ?? '') !== name)
    throw statusErrors.badRequest('name in URL does not match name in Binding object')
  const errs = validateBinding(binding)
  // BindingREST returns the field errors as a plain error, which the handler answers as a 500
  // with no reason (ErrorToAPIStatus).
  if (errs.length > 0) throw new StatusError({ code: 500, message: fieldErrors.aggregateMessage(errs) })
  const node = (binding['target'] as { name: string }).name
  const key = keyOf(ctx, name)
  const conflict = (why: string) => statusErrors.conflict(PODS_BINDING, name, why)
  for (let attempt = 0; ; attempt++) {
    const current = await storageCall(ctx.gr, name, () => ctx.storage.get<Obj>(key))
    const pod = toWire(ctx.resource, current)
    const m = metaOf(pod)
    // Preconditions are checked by the store, so their conflict names `pods` and quotes the
    // storage error.
    const storageConflict = (msg: string) =>
      statusErrors.conflict(
        ctx.gr,
        name,
        `StorageError: invalid object, Code: 4, Key: ${key}, ResourceVersion: 0, AdditionalErrorMsg: ${msg}`,
      )
    if (bm.uid !== undefined && bm.uid !== '' && bm.uid !== m.uid)
      throw storageConflict(
        `Precondition failed: UID in precondition: ${bm.uid}, UID in object meta: ${m.uid ?? ''}`,
      )
    if (
      bm.resourceVersion !== undefined &&
      bm.resourceVersion !== '' &&
      bm.resourceVersion !== m.resourceVersion
    )
      throw storageConflict(
        `Precondition failed: ResourceVersion in precondition: ${bm.resourceVersion}, ResourceVersion in object meta: ${m.resourceVersion ?? ''}`,
      )
    const spec = (isObject(pod.spec) ? pod.spec : {}) as Record<string, unknown>
    if (m.deletionTimestamp !== undefined)
      throw conflict(`pod ${name} is being deleted, cannot be assigned to a host`)
    const bound = spec['nodeName']
    if (typeof bound === 'string' && bound !== '')
      throw conflict(`pod ${name} is already assigned to node ${JSON.stringify(bound)}`)
    if (Array.isArray(spec['schedulingGates']) && spec['schedulingGates'].length > 0)
      throw conflict(`pod ${name} has non-empty .spec.schedulingGates`)
    pod.spec = { ...spec, nodeName: node }
    const annotations = bm['annotations']
    if (isObject(annotations) && Object.keys(annotations).length > 0)
      m['annotations'] = { ...(isObject(m['annotations']) ? m['annotations'] : {}), ...annotations }
    const status = (isObject(pod.status) ? pod.status : {}) as Record<string, unknown>
    const conditions = (Array.isArray(status['conditions']) ? status['conditions'] : []) as Array<
      Record<string, unknown>
    >
    const old = conditions.find((c) => c['type'] === 'PodScheduled')
    const scheduled = {
      type: 'PodScheduled',
      status: 'True',
      lastTransitionTime:
        old !== undefined && old['status'] === 'True' ? old['lastTransitionTime'] : nowRfc3339(),
    }
    pod.status = {
      ...status,
      conditions:
        old === undefined
          ? [...conditions, scheduled]
          : conditions.map((c) => (c['type'] === 'PodScheduled' ? scheduled : c)),
    }
    if (queryParam(query, 'dryRun') !== 'All') {
      try {
        await ctx.storage.update(key, forStorage(pod), current.modRevision)
      } catch (err) {
        if (isStorageError(err, 'Conflict') && attempt < RETRIES_MAX) continue
        throw toStatus(err, ctx.gr, name)
      }
    }
    return { ...statusErrors.success(), code: 201 }
  }
}

/** scaleFromDeployment / scaleFromReplicaSet. */
export function scaleOf(parent: Obj): Obj {
  const m = metaOf(parent)
  const spec = (isObject(parent.spec) ? parent.spec : {}) as {
    replicas?: number
    selector?: MetaLabelSelector
  }
  const status = (isObject(parent.status) ? parent.status : {}) as { replicas?: number }
  let selector = ''
  try {
    selector = labelSelectorAsSelector(spec.selector).toString()
  } catch {
    // Validation keeps invalid selectors out of the store; an unreadable one selects nothing.
  }
  // ScaleSpec.replicas is `omitempty`, ScaleStatus.replicas is not.
  const replicas = spec.replicas ?? 0
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: replicas === 0 ? {} : { replicas },
    status: { replicas: status.replicas ?? 0, ...(selector !== '' && { selector }) },
  }
}

export async function getScale(ctx: RestContext, name: string): Promise<Obj> {
  const stored = await storageCall(ctx.gr, name, () => ctx.storage.get<Obj>(keyOf(ctx, name)))
  return scaleOf(toWire(ctx.resource, stored))
}

/**
 * PUT (`body`, a Scale) or PATCH (`patch`, applied to the current Scale) of `/scale`: the parent's
 * `spec.replicas` becomes the Scale's, guarded by the Scale's resourceVersion.
 */
export async function updateScale(
  ctx: RestContext,
  name: string,
  input: { body: unknown } | { patch: Patch },
  query: Query,
): Promise<Obj> {
  const scaleGr = { group: ctx.resource.group, resource: `${ctx.resource.plural}/scale` }
  const fromBody = 'body' in input ? decode(SCALE, input.body, query) : undefined
  if (fromBody !== undefined) {
    const bodyName = metaOf(fromBody).name
    if (bodyName !== undefined && bodyName !== name)
      throw statusErrors.badRequest(
        `the name of the object (${bodyName}) does not match the name on the URL (${name})`,
      )
    checkNamespaceMatches(ctx, fromBody)
  }
  const updated = await guaranteedUpdate(
    ctx,
    name,
    '',
    (parent) => {
      const old = scaleOf(parent)
      let scale: Obj
      if (fromBody !== undefined) scale = structuredClone(fromBody)
      else if ('patch' in input) {
        scale = decode(SCALE, applyPatch(old, input.patch, SCALE.schema), query)
      } else scale = old
      const sm = metaOf(scale)
      const replicas = (isObject(scale.spec) ? scale.spec['replicas'] : undefined) ?? 0
      if (typeof replicas === 'number' && replicas < 0)
        throw statusErrors.invalid({ group: 'autoscaling', kind: 'Scale' }, name, [
          fieldErrors.invalid('spec.replicas', replicas, 'must be greater than or equal to 0'),
        ])
      const pm = metaOf(parent)
      if (sm.uid !== undefined && sm.uid !== '' && sm.uid !== pm.uid)
        throw statusErrors.conflict(
          scaleGr,
          name,
          `Precondition failed: UID in precondition: ${sm.uid}, UID in object meta: ${pm.uid ?? ''}`,
        )
      const rv = parseResourceVersion(sm.resourceVersion)
      if (rv !== undefined && Number.isNaN(rv))
        throw statusErrors.badRequest(`invalid resource version: ${JSON.stringify(sm.resourceVersion)}`)
      parent.spec = { ...(isObject(parent.spec) ? parent.spec : {}), replicas }
      if (sm.resourceVersion === undefined || sm.resourceVersion === '') delete pm.resourceVersion
      else pm.resourceVersion = sm.resourceVersion
      return parent
    },
    query,
    'scale',
  )
  return scaleOf(updated)
}
