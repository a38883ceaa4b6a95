/**
 * `NodeSimulator`: the whole simulated fleet of one process. It serves the kubelet API (first, so the
 * nodes can report its port), registers the nodes and runs their heartbeats (heartbeats.ts), and runs
 * their pods (pod-runner.ts), all sharing one Scheduler (one timer) and one RequestPool (a bounded
 * number of requests in flight) over one ApiClient.
 *
 * A Node deleted by someone is registered again (a watch on the Nodes, one for all).
 *
 * `stop()` stops everything without deleting anything: the Nodes, Leases and pods stay as they were,
 * as when a kubelet stops (the node lifecycle controller then notices the silence).
 */
import {
  ApiClient,
  type ApiClientOptions,
  Informer,
  isDeletedFinalStateUnknown,
  type KubeObject,
} from '@hakube/api'
import type { Logger } from 'pino'
import type { NodeGroup, NodeSimConfig } from './config.js'
import { type HeartbeatStats, Heartbeats } from './heartbeats.js'
import { KubeletServer } from './kubelet-server.js'
import { SimulatorMetrics } from './metrics.js'
import { assignBlocks, type NodeIdentity, PodIpAllocator } from './node-object.js'
import { type PodObject, PodRunner, type PodView } from './pod-runner.js'
import { RequestPool } from './request-pool.js'
import { Scheduler } from './scheduler.js'

export type SimulatorConfig = Omit<
  NodeSimConfig,
  'groups' | 'kubeconfig' | 'master' | 'configFile' | 'logLevel'
>

export interface SimulatorStats extends HeartbeatStats {
  nodes: number
  failedNodes: number
  pods: number
  /** Pods whose Running status reached the api-server. */
  podsRunning: number
  requestsInFlight: number
  requestsQueued: number
  scheduledTasks: number
}

export class NodeSimulator {
  readonly client: ApiClient
  private readonly scheduler: Scheduler
  private readonly pool: RequestPool
  private readonly heartbeats: Heartbeats
  private readonly runner: PodRunner
  private readonly kubelet: KubeletServer
  readonly metrics: SimulatorMetrics
  /** Our Nodes as the api-server has them: a deleted one is registered again. */
  private readonly nodeInformer: Informer<KubeObject>
  private readonly identities = new Map<string, { id: NodeIdentity; ips: PodIpAllocator }>()
  private readonly names: string[]
  private port = 0
  private started = false

  constructor(
    clientOptions: ApiClientOptions,
    private readonly groups: readonly NodeGroup[],
    private readonly config: SimulatorConfig,
    log: Logger,
    now: () => number = Date.now,
  ) {
    this.client = new ApiClient({ userAgent: 'hakube-node-sim/v0.1.0', ...clientOptions })
    this.scheduler = new Scheduler(now, (err) => log.error({ err }, 'scheduled task failed'))
    this.pool = new RequestPool(config.maxRequestsInflight)
    this.heartbeats = new Heartbeats(
      this.client,
      this.pool,
      this.scheduler,
      {
        leaseDurationMs: config.nodeLeaseDurationMs,
        renewIntervalMs: config.nodeLeaseRenewIntervalMs,
        statusUpdateMs: config.nodeStatusUpdateFrequencyMs,
        statusReportMs: config.nodeStatusReportFrequencyMs,
      },
      log.child({ component: 'heartbeats' }),
      now,
      (ms) => this.metrics.observeLateness(ms),
    )
    this.metrics = new SimulatorMetrics(this)
    this.names = groups.flatMap((g) => g.names)
    const single = this.names.length === 1 ? this.names[0] : undefined
    this.runner = new PodRunner(
      this.client,
      {
        node: (name) => {
          const n = this.identities.get(name)
          return n === undefined ? undefined : { address: n.id.address, ips: n.ips }
        },
        isHeartbeating: (name) => this.heartbeats.isHeartbeating(name),
      },
      this.pool,
      this.scheduler,
      {
        podStartDelayMs: config.podStartDelayMs,
        crashBackoffMs: config.crashBackoffMs,
        crashBackoffMsMax: config.crashBackoffMsMax,
        jobRunTimeMs: config.jobRunTimeMs,
      },
      log.child({ component: 'pods' }),
      now,
      // One node: the kubelet's own selector; many: one watch for all, filtered here.
      single === undefined ? 'spec.nodeName!=' : `spec.nodeName=${single}`,
    )
    this.nodeInformer = new Informer<KubeObject>(
      this.client.resource({ group: '', version: 'v1', plural: 'nodes', namespaced: false }),
      {
        ...(single !== undefined && { fieldSelector: `metadata.name=${single}` }),
        onError: (err) => log.debug({ err: String(err) }, 'node list/watch failed'),
      },
    )
    this.nodeInformer.addEventHandler({
      onDelete: (obj) => {
        const node = isDeletedFinalStateUnknown(obj) ? obj.obj : obj
        this.heartbeats.nodeDeleted(node.metadata?.name ?? '')
      },
    })
    const self = this
    this.kubelet = new KubeletServer({
      views: () => this.runner.views(),
      view: (ns, name) => this.runner.view(ns, name),
      nodes: () => this.nodes(),
      fail: (name) => this.fail(name),
      recover: (name) => this.recover(name),
      stats: () => ({ ...this.stats() }),
      resetStats: () => this.resetStats(),
      metrics: () => this.metrics.text(),
      get logIntervalMs() {
        return self.config.containerLogIntervalMs
      },
      now,
    })
  }

  /** The address every node reports as its InternalIP. */
  get address(): string {
    return this.config.bindAddress === '0.0.0.0' ? '127.0.0.1' : this.config.bindAddress
  }

  get kubeletPort(): number {
    return this.port
  }

  /** Serves the kubelet API, then registers the nodes and starts their heartbeats and pods. */
  async start(): Promise<number> {
    if (this.started) throw new Error('the simulator was already started')
    this.started = true
    this.port = await this.kubelet.listen(this.config.bindAddress, this.config.port)
    const blocks = assignBlocks(this.names)
    const ids: NodeIdentity[] = []
    for (const group of this.groups)
      for (const name of group.names) {
        const block = blocks.get(name) as number
        const id = { name, group, block, address: this.address, kubeletPort: this.port }
        ids.push(id)
        this.identities.set(name, { id, ips: new PodIpAllocator(block) })
      }
    this.heartbeats.start(ids, new Set(this.config.failNodes))
    this.runner.start()
    // Watching the Nodes from the start would make the api-server send us every registration back.
    void this.heartbeats.allRegistered().then(() => this.nodeInformer.start())
    return this.port
  }

  /** Stops heartbeats, pods and the kubelet API; deletes nothing. */
  async stop(): Promise<void> {
    this.heartbeats.stop()
    this.scheduler.stop()
    this.pool.close()
    await this.runner.stop()
    await this.nodeInformer.stop()
    await this.kubelet.close()
    await this.client.close()
  }

  fail(name: string): boolean {
    return this.heartbeats.fail(name)
  }

  recover(name: string): boolean {
    const ok = this.heartbeats.recover(name)
    if (ok) this.runner.resyncNode(name)
    return ok
  }

  nodes(): Array<{
    name: string
    heartbeating: boolean
    registered: boolean
    lastRenewTime: string | null
    pods: number
  }> {
    const counts = this.runner.countsByNode()
    return this.heartbeats.summaries().map((s) => ({ ...s, pods: counts.get(s.name) ?? 0 }))
  }

  pods(): PodView[] {
    return this.runner.views()
  }

  pod(namespace: string, name: string): PodView | undefined {
    return this.runner.view(namespace, name)
  }

  /** True once the pod informer has listed. */
  podsSynced(): boolean {
    return this.runner.informer.hasSynced()
  }

  stats(): SimulatorStats {
    const nodes = this.heartbeats.summaries()
    return {
      ...this.heartbeats.stats(),
      nodes: nodes.length,
      failedNodes: nodes.filter((n) => !n.heartbeating).length,
      pods: this.runner.count(),
      podsRunning: this.runner.runningWritten(),
      requestsInFlight: this.pool.active,
      requestsQueued: this.pool.queued,
      scheduledTasks: this.scheduler.pending,
    }
  }

  resetStats(): void {
    this.heartbeats.resetStats()
  }
}

export type { PodObject, PodView }
