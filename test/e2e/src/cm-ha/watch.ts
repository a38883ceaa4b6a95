/**
 * A list-then-watch of one collection through the balancer, as a client-go reflector does it: the list's
 * resourceVersion starts the watch, a closed stream is resumed from the last version seen, a `410 Gone`
 * (or any ERROR event) relists. It keeps the current objects and every object ever seen (by uid, first
 * version seen), so a test can count what was created over a whole run, and calls `onChange` after each
 * change with the current objects, so a test can sample an invariant at every state the store went through.
 */
import { sleep } from '../ha/harness.js'

export interface OwnerReference {
  kind: string
  name: string
  uid: string
  controller?: boolean
}

export interface ObjectMeta {
  name: string
  namespace?: string
  uid: string
  resourceVersion?: string
  creationTimestamp?: string
  deletionTimestamp?: string
  labels?: Record<string, string>
  ownerReferences?: OwnerReference[]
  managedFields?: Array<{ manager?: string; operation?: string; time?: string }>
}

export interface KubeObject {
  metadata: ObjectMeta
}

export interface Pod extends KubeObject {
  spec: {
    nodeName?: string
    containers: Array<{ name: string; image: string }>
  }
  status?: {
    phase?: string
    podIP?: string
    conditions?: Array<{ type: string; status: string }>
  }
}

export interface ReplicaSet extends KubeObject {
  spec: { replicas?: number; template: { spec: { containers: Array<{ image: string }> } } }
  status?: { replicas?: number; readyReplicas?: number; availableReplicas?: number }
}

/** A pod the api has not started deleting. */
export const active = (p: Pod): boolean => p.metadata.deletionTimestamp === undefined
/** A pod whose Ready condition is True. */
export const ready = (p: Pod): boolean =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true
/** The name of the object's controlling owner, or '' without one. */
export const controllerOf = (o: KubeObject): string =>
  o.metadata.ownerReferences?.find((r) => r.controller === true)?.name ?? ''

export class ObjectWatch<T extends KubeObject> {
  /** The objects as of the last event, by uid. */
  readonly current = new Map<string, T>()
  /** Every object seen since the start, by uid: the first version seen. */
  readonly seen = new Map<string, T>()
  relists = 0
  resumes = 0
  private rv = ''
  private readonly abort = new AbortController()
  private loop: Promise<void> | undefined

  /**
   * @param base the balancer's URL
   * @param path a collection's path, with its query if any (e.g. a labelSelector)
   */
  constructor(
    readonly base: string,
    readonly path: string,
    private readonly onChange: (current: ReadonlyMap<string, T>) => void = () => {},
  ) {}

  /** Lists (retrying until the api answers), then watches in the background. */
  async start(): Promise<void> {
    for (;;) {
      try {
        await this.list()
        break
      } catch (err) {
        if (this.abort.signal.aborted) throw err
        await sleep(500)
      }
    }
    this.loop = this.watchLoop()
  }

  async stop(): Promise<void> {
    this.abort.abort()
    await this.loop
  }

  private url(query: string): string {
    return `${this.base}${this.path}${this.path.includes('?') ? '&' : '?'}${query}`
  }

  private async list(): Promise<void> {
    const res = await fetch(`${this.base}${this.path}`, {
      signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(10_000)]),
    })
    if (!res.ok) throw new Error(`list ${this.path}: ${res.status} ${await res.text()}`)
    const list = (await res.json()) as { metadata: { resourceVersion: string }; items: T[] }
    this.current.clear()
    for (const o of list.items) this.record(o)
    this.rv = list.metadata.resourceVersion
    this.onChange(this.current)
  }

  private record(o: T): void {
    this.current.set(o.metadata.uid, o)
    if (!this.seen.has(o.metadata.uid)) this.seen.set(o.metadata.uid, o)
  }

  private async watchLoop(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        const gone = await this.watchOnce()
        if (gone) {
          this.relists++
          await this.list()
        } else this.resumes++
      } catch {
        if (this.abort.signal.aborted) return
        this.resumes++
        await sleep(300)
      }
    }
  }

  /** One watch request until its stream ends; true when the version is gone (relist). */
  private async watchOnce(): Promise<boolean> {
    const res = await fetch(this.url(`watch=1&allowWatchBookmarks=true&resourceVersion=${this.rv}`), {
      signal: this.abort.signal,
    })
    if (res.status === 410) return true
    if (!res.ok || res.body === null) throw new Error(`watch ${this.path}: ${res.status}`)
    const decoder = new TextDecoder()
    let buffered = ''
    for await (const chunk of res.body) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true })
      let nl = buffered.indexOf('\n')
      while (nl >= 0) {
        const line = buffered.slice(0, nl).trim()
        buffered = buffered.slice(nl + 1)
        nl = buffered.indexOf('\n')
        if (line === '') continue
        const event = JSON.parse(line) as { type: string; object: T }
        if (event.type === 'ERROR') return true
        const rv = event.object.metadata?.resourceVersion
        if (rv !== undefined) this.rv = rv
        if (event.type === 'BOOKMARK') continue
        if (event.type === 'DELETED') this.current.delete(event.object.metadata.uid)
        else this.record(event.object)
        this.onChange(this.current)
      }
    }
    return false
  }
}
