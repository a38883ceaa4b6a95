/**
 * Shared informers: one `Informer` per resource for every controller that watches it (client-go's
 * SharedInformerFactory), started together. A standby instance keeps them running, so a new leader
 * starts from warm caches, as kube-controller-manager's informers do.
 */
import { type ApiClient, Informer, type KubeObject, type ResourceType } from '@hakube/api'
import type { Logger } from 'pino'

export function typeKey(type: ResourceType): string {
  return type.group === '' ? `${type.version}/${type.plural}` : `${type.group}/${type.version}/${type.plural}`
}

export class SharedInformers {
  private readonly informers = new Map<string, Informer<KubeObject>>()
  private started = false

  constructor(
    private readonly client: ApiClient,
    private readonly log: Logger,
  ) {}

  /** The informer of `type` (created on first use; started with the others, or at once if already started). */
  informerFor<T extends KubeObject>(type: ResourceType): Informer<T> {
    const key = typeKey(type)
    let informer = this.informers.get(key)
    if (informer === undefined) {
      informer = new Informer<KubeObject>(this.client.resource<KubeObject>(type), {
        onError: (err) => this.log.warn({ resource: key, err: String(err) }, 'informer error'),
      })
      this.informers.set(key, informer)
      if (this.started) informer.start()
    }
    return informer as unknown as Informer<T>
  }

  start(): void {
    this.started = true
    for (const informer of this.informers.values()) informer.start()
  }

  /** True once every informer listed. */
  hasSynced(): boolean {
    for (const informer of this.informers.values()) if (!informer.hasSynced()) return false
    return true
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()))
  }
}
