/**
 * The writes (and the few live reads) a reconcile performs, behind a small interface so reconcilers
 * run against a fake in unit tests (sample-controller's "list of actions one sync produced").
 *
 * `ApiActions` carries them to the api-server for one leadership term: every call takes the term's
 * signal (losing the lead aborts what is in flight), every write sends the field manager
 * `kube-controller-manager/<identity>` (so managedFields name the acting instance), and Events carry
 * the identity as reportingInstance. Expected outcomes are typed results (`notFound`, `conflict`),
 * not exceptions; anything else throws and the controller requeues the key with backoff.
 */

import {
  type ApiClient,
  type EventSink,
  type EventType,
  type InvolvedObject,
  isAlreadyExists,
  isConflict,
  isNotFound,
  type KubeObject,
  type ResourceType,
} from '@hakube/api'
import type { Logger } from 'pino'

export type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground'

export interface DeleteRequest {
  propagationPolicy?: PropagationPolicy
  /** Delete only this incarnation (a precondition on the uid). */
  uid?: string
}

export type WriteOutcome<T> =
  | { ok: true; object: T }
  | { ok: false; reason: 'NotFound' | 'Conflict' | 'AlreadyExists' }

export interface Actions {
  /** The acting instance's identity (Events' reportingInstance). */
  readonly identity: string
  /** A live read (quorum); undefined when absent. */
  get<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined>
  /** A live list of one namespace (or all / cluster-scoped when undefined). */
  list<T extends KubeObject>(type: ResourceType, namespace: string | undefined): Promise<T[]>
  create<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    obj: T,
  ): Promise<WriteOutcome<T>>
  /** JSON merge patch of the object (or of `subresource`). */
  patch<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    subresource?: string,
  ): Promise<WriteOutcome<T>>
  /** PUT of the object (or of `subresource`, e.g. a namespace's `finalize`). */
  update<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    obj: T,
    subresource?: string,
  ): Promise<WriteOutcome<T>>
  /** `deleted`: gone; `pending`: still stored (finalizers, grace period); `notFound`: was not there. */
  delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    request?: DeleteRequest,
  ): Promise<'deleted' | 'pending' | 'notFound' | 'conflict'>
  /** DELETE of a namespace's whole collection of `type`. */
  deleteCollection(type: ResourceType, namespace: string, request?: DeleteRequest): Promise<void>
  event(obj: InvolvedObject, type: EventType, reason: string, message: string): void
}

/** Counts every write by controller and verb (metrics.ts's counter fits). */
export interface ActionCounter {
  inc(labels: { controller: string; verb: string }): void
}

export interface ApiActionsOptions {
  client: ApiClient
  identity: string
  /** kube's controller name (`namespace`, `garbagecollector`): logs and metrics. */
  controller: string
  /** The Events' source component (`namespace-controller`). */
  component: string
  events: EventSink
  signal: AbortSignal
  log: Logger
  counter?: ActionCounter
}

export function fieldManagerOf(identity: string): string {
  // kube caps field managers at 128 characters.
  return `kube-controller-manager/${identity}`.slice(0, 128)
}

function expected<T>(err: unknown): WriteOutcome<T> {
  if (isNotFound(err)) return { ok: false, reason: 'NotFound' }
  if (isConflict(err)) return { ok: false, reason: 'Conflict' }
  if (isAlreadyExists(err)) return { ok: false, reason: 'AlreadyExists' }
  throw err
}

export class ApiActions implements Actions {
  readonly identity: string
  private readonly fieldManager: string

  constructor(private readonly o: ApiActionsOptions) {
    this.identity = o.identity
    this.fieldManager = fieldManagerOf(o.identity)
  }

  private handle<T extends KubeObject>(type: ResourceType, namespace: string | undefined) {
    const r = this.o.client.resource<T>(type)
    return type.namespaced && namespace !== undefined ? r.namespace(namespace) : r
  }

  private count(verb: string, type: ResourceType, namespace: string | undefined, name: string): void {
    this.o.counter?.inc({ controller: this.o.controller, verb })
    this.o.log.debug({ verb, resource: type.plural, namespace, name, identity: this.identity }, 'action')
  }

  async get<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string) {
    try {
      return await this.handle<T>(type, namespace).get(name, { signal: this.o.signal })
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw err
    }
  }

  async list<T extends KubeObject>(type: ResourceType, namespace: string | undefined): Promise<T[]> {
    return (await this.handle<T>(type, namespace).list({ signal: this.o.signal })).items
  }

  async create<T extends KubeObject>(type: ResourceType, namespace: string | undefined, obj: T) {
    this.count('create', type, namespace, obj.metadata?.name ?? obj.metadata?.generateName ?? '')
    try {
      const object = await this.handle<T>(type, namespace).create(obj, {
        signal: this.o.signal,
        fieldManager: this.fieldManager,
      })
      return { ok: true as const, object }
    } catch (err) {
      return expected<T>(err)
    }
  }

  async patch<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    subresource?: string,
  ) {
    this.count('patch', type, namespace, name)
    try {
      const object = await this.handle<T>(type, namespace).patch(name, patch, 'merge', {
        signal: this.o.signal,
        fieldManager: this.fieldManager,
        ...(subresource !== undefined && { subresource }),
      })
      return { ok: true as const, object }
    } catch (err) {
      return expected<T>(err)
    }
  }

  async update<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    obj: T,
    subresource?: string,
  ) {
    const name = obj.metadata?.name ?? ''
    this.count('update', type, namespace, name)
    const h = this.handle<T>(type, namespace)
    const options = { signal: this.o.signal, fieldManager: this.fieldManager }
    try {
      const object =
        subresource === undefined
          ? await h.update(obj, options)
          : await h.putSubresource<T>(name, subresource, obj, options)
      return { ok: true as const, object }
    } catch (err) {
      return expected<T>(err)
    }
  }

  async delete(type: ResourceType, namespace: string | undefined, name: string, request: DeleteRequest = {}) {
    this.count('delete', type, namespace, name)
    try {
      const answer = await this.handle(type, namespace).delete(name, {
        signal: this.o.signal,
        ...(request.propagationPolicy !== undefined && { propagationPolicy: request.propagationPolicy }),
        ...(request.uid !== undefined && { preconditions: { uid: request.uid } }),
      })
      // A Status means gone; an object still carrying deletionTimestamp is pending.
      const meta = (answer as KubeObject).metadata
      const stillThere =
        (answer as { kind?: string }).kind !== 'Status' &&
        meta?.deletionTimestamp !== undefined &&
        ((answer as { metadata?: { finalizers?: string[] } }).metadata?.finalizers?.length ?? 0) > 0
      return stillThere ? ('pending' as const) : ('deleted' as const)
    } catch (err) {
      if (isNotFound(err)) return 'notFound' as const
      if (isConflict(err)) return 'conflict' as const
      throw err
    }
  }

  async deleteCollection(type: ResourceType, namespace: string, request: DeleteRequest = {}): Promise<void> {
    this.count('deletecollection', type, namespace, '')
    await this.handle(type, namespace).deleteCollection({
      signal: this.o.signal,
      ...(request.propagationPolicy !== undefined && { propagationPolicy: request.propagationPolicy }),
    })
  }

  event(obj: InvolvedObject, type: EventType, reason: string, message: string): void {
    this.o.events.record(this.o.component, obj, type, reason, message)
  }
}
