/**
 * A fake `Actions` for reconcile unit tests: records every call as a short string
 * (`create serviceaccounts ns/default`, `delete configmaps default/c Background uid=u1`), answers live
 * reads from `objects` (keyed `<plural>|<ns/name>`) and lets a test script outcomes.
 */
import type { EventType, InvolvedObject, KubeObject, ResourceType } from '@hakube/api'
import type { Actions, DeleteRequest, WriteOutcome } from '../actions.js'

export class FakeActions implements Actions {
  readonly identity = 'test-instance'
  readonly calls: string[] = []
  readonly events: string[] = []
  /** Live objects for get/list, keyed `<plural>|<namespace/name>` (or `<plural>|<name>`). */
  readonly objects = new Map<string, KubeObject>()
  /** Scripted outcomes of writes, by the call's string; default ok. */
  readonly outcomes = new Map<string, 'NotFound' | 'Conflict' | 'AlreadyExists' | 'pending' | Error>()
  readonly patches: unknown[] = []
  /** The objects given to update(), in order. */
  readonly updates: KubeObject[] = []

  private key(type: ResourceType, namespace: string | undefined, name: string): string {
    return `${type.plural}|${type.namespaced && namespace !== undefined ? `${namespace}/` : ''}${name}`
  }

  private where(namespace: string | undefined, name: string): string {
    return namespace === undefined ? name : `${namespace}/${name}`
  }

  private outcome<T>(call: string, obj: T): WriteOutcome<T> {
    this.calls.push(call)
    const o = this.outcomes.get(call)
    if (o instanceof Error) throw o
    if (o === 'NotFound' || o === 'Conflict' || o === 'AlreadyExists') return { ok: false, reason: o }
    return { ok: true, object: obj }
  }

  async get<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string) {
    return this.objects.get(this.key(type, namespace, name)) as T | undefined
  }

  async list<T extends KubeObject>(type: ResourceType, namespace: string | undefined): Promise<T[]> {
    const prefix = `${type.plural}|${namespace === undefined ? '' : `${namespace}/`}`
    return [...this.objects].filter(([k]) => k.startsWith(prefix)).map(([, v]) => v as T)
  }

  async create<T extends KubeObject>(type: ResourceType, namespace: string | undefined, obj: T) {
    return this.outcome(`create ${type.plural} ${this.where(namespace, obj.metadata?.name ?? '')}`, obj)
  }

  async patch<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    subresource?: string,
  ) {
    this.patches.push(patch)
    const sub = subresource === undefined ? '' : `/${subresource}`
    return this.outcome(`patch ${type.plural}${sub} ${this.where(namespace, name)}`, {} as T)
  }

  async update<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    obj: T,
    subresource?: string,
  ) {
    this.updates.push(obj)
    const sub = subresource === undefined ? '' : `/${subresource}`
    return this.outcome(`update ${type.plural}${sub} ${this.where(namespace, obj.metadata?.name ?? '')}`, obj)
  }

  async delete(type: ResourceType, namespace: string | undefined, name: string, request: DeleteRequest = {}) {
    const call = `delete ${type.plural} ${this.where(namespace, name)}${request.propagationPolicy ? ` ${request.propagationPolicy}` : ''}${request.uid ? ` uid=${request.uid}` : ''}`
    this.calls.push(call)
    const o = this.outcomes.get(call)
    if (o instanceof Error) throw o
    if (o === 'NotFound') return 'notFound' as const
    if (o === 'Conflict') return 'conflict' as const
    if (o === 'pending') return 'pending' as const
    return 'deleted' as const
  }

  async deleteCollection(type: ResourceType, namespace: string, request: DeleteRequest = {}) {
    this.calls.push(
      `deletecollection ${type.plural} ${namespace}${request.propagationPolicy ? ` ${request.propagationPolicy}` : ''}`,
    )
  }

  event(obj: InvolvedObject, type: EventType, reason: string, message: string): void {
    this.events.push(`${type} ${reason} ${obj.kind}/${obj.metadata?.name}: ${message}`)
  }
}
