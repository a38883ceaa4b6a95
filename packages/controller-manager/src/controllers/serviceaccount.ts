/**
 * The serviceaccount controller (kube's pkg/controller/serviceaccount ServiceAccountsController):
 * every active namespace has a `default` ServiceAccount. Keys are namespace names; a namespace added
 * or updated, or its `default` ServiceAccount deleted, queues it. A Terminating namespace is left
 * alone (the api-server refuses creates there anyway).
 */
import type { Informer, KubeObject, Namespace, ServiceAccount } from '@hakube/api'
import { isDeletedFinalStateUnknown } from '@hakube/api'
import type { Actions } from '../actions.js'
import type { ControllerSpec, SyncResult } from '../controller.js'
import { SERVICE_ACCOUNTS } from './resources.js'

export const DEFAULT_SERVICE_ACCOUNT = 'default'

/** What the sync reads (informer caches in production, maps in tests). */
export interface ServiceAccountView {
  namespace(name: string): Namespace | undefined
  serviceAccount(namespace: string, name: string): ServiceAccount | undefined
}

/** Creates `default` in namespace `key` if it is active and lacks it. */
export async function syncServiceAccounts(
  key: string,
  view: ServiceAccountView,
  actions: Actions,
): Promise<SyncResult | undefined> {
  const ns = view.namespace(key)
  if (ns === undefined) return undefined
  if (ns.metadata?.deletionTimestamp !== undefined || ns.status?.phase === 'Terminating') return undefined
  if (view.serviceAccount(key, DEFAULT_SERVICE_ACCOUNT) !== undefined) return undefined
  const created = await actions.create<ServiceAccount>(SERVICE_ACCOUNTS, key, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: DEFAULT_SERVICE_ACCOUNT, namespace: key },
  })
  // AlreadyExists: the cache lags; NotFound: the namespace went meanwhile. Both are fine.
  if (!created.ok && created.reason === 'Conflict')
    throw new Error('conflict creating the default ServiceAccount')
  return undefined
}

export class ServiceAccountController implements ControllerSpec {
  readonly name = 'serviceaccount'
  private readonly view: ServiceAccountView

  constructor(
    private readonly namespaces: Informer<Namespace>,
    private readonly serviceAccounts: Informer<ServiceAccount>,
  ) {
    this.view = {
      namespace: (name) => namespaces.get(name),
      serviceAccount: (namespace, name) => serviceAccounts.get(`${namespace}/${name}`),
    }
  }

  register(enqueue: (key: string) => void): void {
    const nsKey = (obj: KubeObject) => obj.metadata?.name ?? ''
    this.namespaces.addEventHandler({
      onAdd: (ns) => enqueue(nsKey(ns)),
      onUpdate: (_old, ns) => enqueue(nsKey(ns)),
    })
    this.serviceAccounts.addEventHandler({
      onDelete: (sa) => {
        const obj = isDeletedFinalStateUnknown(sa) ? sa.obj : sa
        if (obj.metadata?.name === DEFAULT_SERVICE_ACCOUNT && obj.metadata.namespace !== undefined)
          enqueue(obj.metadata.namespace)
      },
    })
  }

  hasSynced(): boolean {
    return this.namespaces.hasSynced() && this.serviceAccounts.hasSynced()
  }

  initialKeys(): Iterable<string> {
    return this.namespaces.keys()
  }

  sync(key: string, actions: Actions): Promise<SyncResult | undefined> {
    return syncServiceAccounts(key, this.view, actions)
  }
}
