/**
 * What the controller-manager tests of this folder create and read: Deployment and Service manifests
 * applied with the real kubectl, pods and nodes read through the balancer, and a sampler that checks a
 * Deployment's rollout bounds at every state the store goes through (pods and ReplicaSets watched).
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { SchedulerCluster } from '../cli-scheduler/cluster.js'
import { until } from '../ha/harness.js'
import { active, controllerOf, ObjectWatch, type Pod, type ReplicaSet, ready } from './watch.js'

export interface DeploymentOptions {
  replicas: number
  image?: string
  minReadySeconds?: number
  /** NoExecute tolerations of the unreachable and not-ready taints for this many seconds. */
  tolerationSeconds?: number
  /** A named container port `http` (8080). */
  httpPort?: boolean
}

/** A Deployment `name` in `namespace` with pods labelled app=name and one container `nginx`. */
export function deployment(namespace: string, name: string, o: DeploymentOptions): object {
  const container: Record<string, unknown> = {
    name: 'nginx',
    image: o.image ?? 'nginx:1.27',
    resources: { requests: { cpu: '50m', memory: '32Mi' } },
  }
  if (o.httpPort === true) container['ports'] = [{ name: 'http', containerPort: 8080 }]
  const podSpec: Record<string, unknown> = { containers: [container] }
  if (o.tolerationSeconds !== undefined)
    podSpec['tolerations'] = ['node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready'].map(
      (key) => ({
        key,
        operator: 'Exists',
        effect: 'NoExecute',
        tolerationSeconds: o.tolerationSeconds,
      }),
    )
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: o.replicas,
      minReadySeconds: o.minReadySeconds ?? 0,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: podSpec },
    },
  }
}

/** A Service `name` selecting app=name, port 80 to the pods' port named `http`. */
export function service(namespace: string, name: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { selector: { app: name }, ports: [{ name: 'web', port: 80, targetPort: 'http' }] },
  }
}

/** The real kubectl's wrapper: throws with its stderr unless it exits 0. */
export class Kube {
  constructor(readonly cluster: SchedulerCluster) {}

  async kc(args: readonly string[], timeoutMs = 60_000): Promise<string> {
    const r = await this.cluster.k(args, timeoutMs)
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`)
    return r.stdout
  }

  /** Writes `objects` as a List in the cluster's temp dir and returns the file's path. */
  file(name: string, objects: readonly object[]): string {
    const path = join(this.cluster.dir, `${name}.json`)
    writeFileSync(path, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }))
    return path
  }

  async apply(name: string, objects: readonly object[]): Promise<string> {
    const path = this.file(name, objects)
    await this.kc(['apply', '-f', path])
    return path
  }

  async rolloutStatus(namespace: string, name: string, timeoutS = 50): Promise<string> {
    return this.kc(
      ['rollout', 'status', `deployment/${name}`, '-n', namespace, `--timeout=${timeoutS}s`],
      (timeoutS + 5) * 1000,
    )
  }

  async pods(namespace: string, app?: string): Promise<Pod[]> {
    const q = app === undefined ? '' : `?labelSelector=app%3D${app}`
    return (await this.cluster.get<{ items: Pod[] }>(`/api/v1/namespaces/${namespace}/pods${q}`)).items
  }

  /**
   * Waits until app's pods are exactly `count`, none being deleted, every one bound, Running and Ready
   * (and running `image` when given); returns them.
   */
  async settled(
    namespace: string,
    app: string,
    count: number,
    timeoutMs = 45_000,
    image?: string,
  ): Promise<Pod[]> {
    return until(
      `${count} pods of ${namespace}/${app} Running and Ready${image === undefined ? '' : ` with ${image}`}`,
      async () => {
        const pods = await this.pods(namespace, app)
        return pods.length === count &&
          pods.every(
            (p) =>
              active(p) &&
              p.spec.nodeName !== undefined &&
              p.status?.phase === 'Running' &&
              ready(p) &&
              (image === undefined || p.spec.containers[0]?.image === image),
          )
          ? pods
          : undefined
      },
      timeoutMs,
      300,
    )
  }

  async node(name: string): Promise<Node> {
    return this.cluster.get<Node>(`/api/v1/nodes/${name}`)
  }

  async replicaSets(namespace: string, app: string): Promise<ReplicaSet[]> {
    return (
      await this.cluster.get<{ items: ReplicaSet[] }>(
        `/apis/apps/v1/namespaces/${namespace}/replicasets?labelSelector=app%3D${app}`,
      )
    ).items
  }
}

export interface Node {
  metadata: { name: string }
  spec: { taints?: Array<{ key: string; effect: string; timeAdded?: string }> }
  status: { conditions?: Array<{ type: string; status: string; reason?: string }> }
}

export const readyCondition = (n: Node): string =>
  n.status.conditions?.find((c) => c.type === 'Ready')?.status ?? ''

/**
 * Watches a Deployment's pods and ReplicaSets and keeps, over every state seen: the fewest ready pods
 * not being deleted, the most pods not being deleted, and the largest sum of its ReplicaSets'
 * spec.replicas (what maxSurge bounds in kube's deployment controller); and every pod uid created, by
 * the ReplicaSet that owns it.
 */
export class RolloutSampler {
  minReady = Number.POSITIVE_INFINITY
  maxActive = 0
  maxReplicaSum = 0
  samples = 0
  readonly pods: ObjectWatch<Pod>
  readonly replicaSets: ObjectWatch<ReplicaSet>
  private sampling = false

  constructor(base: string, namespace: string, app: string) {
    this.pods = new ObjectWatch<Pod>(
      base,
      `/api/v1/namespaces/${namespace}/pods?labelSelector=app%3D${app}`,
      (c) => this.samplePods(c),
    )
    this.replicaSets = new ObjectWatch<ReplicaSet>(
      base,
      `/apis/apps/v1/namespaces/${namespace}/replicasets?labelSelector=app%3D${app}`,
      (c) => {
        if (!this.sampling) return
        let sum = 0
        for (const rs of c.values()) sum += rs.spec.replicas ?? 0
        this.maxReplicaSum = Math.max(this.maxReplicaSum, sum)
      },
    )
  }

  private samplePods(c: ReadonlyMap<string, Pod>): void {
    if (!this.sampling) return
    let live = 0
    let up = 0
    for (const p of c.values())
      if (active(p)) {
        live++
        if (ready(p)) up++
      }
    this.samples++
    this.minReady = Math.min(this.minReady, up)
    this.maxActive = Math.max(this.maxActive, live)
  }

  async start(): Promise<void> {
    await Promise.all([this.pods.start(), this.replicaSets.start()])
  }

  /** Starts (or restarts) the bounds from the current state. */
  resetBounds(): void {
    this.sampling = true
    this.minReady = Number.POSITIVE_INFINITY
    this.maxActive = 0
    this.maxReplicaSum = 0
    this.samples = 0
    this.samplePods(this.pods.current)
    let sum = 0
    for (const rs of this.replicaSets.current.values()) sum += rs.spec.replicas ?? 0
    this.maxReplicaSum = sum
  }

  /** Pod uids ever seen, by owning ReplicaSet name. */
  createdByReplicaSet(): Map<string, Pod[]> {
    const out = new Map<string, Pod[]>()
    for (const p of this.pods.seen.values()) {
      const owner = controllerOf(p)
      out.set(owner, [...(out.get(owner) ?? []), p])
    }
    return out
  }

  async stop(): Promise<void> {
    await Promise.all([this.pods.stop(), this.replicaSets.stop()])
  }
}
