/**
 * The controller manager: the shared informers (started at once, so a standby keeps warm caches),
 * the enabled controllers built on them, and `runLeading(signal)`, which runs every controller for
 * one leadership term and resolves once all of them have drained after the signal aborted.
 */
import {
  type ApiClient,
  type Clock,
  type Deployment,
  type Endpoints,
  EventRecorder,
  type Lease,
  type Namespace,
  type Node,
  type Pod,
  type ReplicaSet,
  type Service,
  type ServiceAccount,
} from '@hakube/api'
import type { Logger } from 'pino'
import { ApiActions } from './actions.js'
import type { ControllerName } from './config.js'
import { Controller, type ControllerSpec } from './controller.js'
import { DeploymentController } from './controllers/deployment.js'
import { EndpointController } from './controllers/endpoint.js'
import { GarbageCollector, type GcObject } from './controllers/garbage-collector.js'
import { NamespaceController } from './controllers/namespace.js'
import { NodeLifecycleController, type NodeLifecycleOptions } from './controllers/nodelifecycle.js'
import { ReplicaSetController } from './controllers/replicaset.js'
import {
  DEPLOYMENTS,
  ENDPOINTS,
  LEASES,
  NAMESPACES,
  NODES,
  PODS,
  REPLICA_SETS,
  SERVICE_ACCOUNTS,
  SERVICES,
  type ServedResource,
} from './controllers/resources.js'
import { ServiceAccountController } from './controllers/serviceaccount.js'
import { Expectations } from './expectations.js'
import { SharedInformers } from './informers.js'
import type { ControllerManagerMetrics } from './metrics.js'

export interface ControllerManagerOptions {
  client: ApiClient
  log: Logger
  identity: string
  controllers: readonly ControllerName[]
  /** What the api-server serves (discoverResources), for the namespace and garbage collectors. */
  resources: readonly ServedResource[]
  /** Workers per controller; a controller not named gets 1. */
  workers?: Partial<Record<ControllerName, number>>
  metrics?: ControllerManagerMetrics
  clock?: Clock
  /** --node-monitor-period, --node-monitor-grace-period, --node-startup-grace-period, --node-eviction-rate (kube's defaults if unset). */
  nodeLifecycle?: NodeLifecycleOptions
}

/** The Events' source component of each controller, as kube names them. */
const COMPONENTS: Record<string, string> = {
  serviceaccount: 'service-account-controller',
  namespace: 'namespace-controller',
  garbagecollector: 'garbage-collector-controller',
  replicaset: 'replicaset-controller',
  endpoint: 'endpoint-controller',
  deployment: 'deployment-controller',
  nodelifecycle: 'node-controller',
}

export class ControllerManager {
  readonly informers: SharedInformers
  readonly events: EventRecorder
  readonly controllers: Controller[] = []

  constructor(o: ControllerManagerOptions) {
    const clock = o.clock ?? { now: () => Date.now() }
    this.informers = new SharedInformers(o.client, o.log.child({ component: 'informers' }))
    this.events = new EventRecorder({
      client: o.client,
      instance: o.identity,
      clock,
      log: o.log.child({ component: 'events' }),
    })
    const served = o.resources
    const namespaces = this.informers.informerFor<Namespace>(NAMESPACES)
    for (const name of o.controllers) {
      let spec: ControllerSpec | undefined
      if (name === 'serviceaccount')
        spec = new ServiceAccountController(
          namespaces,
          this.informers.informerFor<ServiceAccount>(SERVICE_ACCOUNTS),
        )
      else if (name === 'namespace') spec = new NamespaceController(namespaces, served, clock)
      else if (name === 'garbagecollector')
        spec = new GarbageCollector(
          served
            // kube's collector ignores Events.
            .filter((r) => r.kind !== 'Event')
            .map((resource) => ({ resource, informer: this.informers.informerFor<GcObject>(resource.type) })),
        )
      else if (name === 'replicaset')
        spec = new ReplicaSetController(
          this.informers.informerFor<ReplicaSet>(REPLICA_SETS),
          this.informers.informerFor<Pod>(PODS),
          new Expectations(clock),
          clock,
        )
      else if (name === 'endpoint')
        spec = new EndpointController(
          this.informers.informerFor<Service>(SERVICES),
          this.informers.informerFor<Pod>(PODS),
          this.informers.informerFor<Endpoints>(ENDPOINTS),
        )
      else if (name === 'deployment')
        spec = new DeploymentController(
          this.informers.informerFor<Deployment>(DEPLOYMENTS),
          this.informers.informerFor<ReplicaSet>(REPLICA_SETS),
          clock,
        )
      else if (name === 'nodelifecycle')
        spec = new NodeLifecycleController(
          this.informers.informerFor<Node>(NODES),
          this.informers.informerFor<Lease>(LEASES),
          this.informers.informerFor<Pod>(PODS),
          o.nodeLifecycle ?? {
            monitorPeriodMs: 5000,
            gracePeriodMs: 40_000,
            startupGracePeriodMs: 60_000,
            evictionRate: 0.1,
          },
          clock,
        )
      if (spec === undefined) throw new Error(`unknown controller ${name}`)
      const log = o.log.child({ controller: name })
      this.controllers.push(
        new Controller({
          spec,
          workers: o.workers?.[name] ?? 1,
          log,
          ...(o.metrics !== undefined && { metrics: o.metrics }),
          actionsFor: (signal) =>
            new ApiActions({
              client: o.client,
              identity: o.identity,
              controller: name,
              component: COMPONENTS[name] ?? `${name}-controller`,
              events: this.events,
              signal,
              log,
              ...(o.metrics !== undefined && { counter: o.metrics.actions }),
            }),
        }),
      )
    }
  }

  start(): void {
    this.informers.start()
  }

  hasSynced(): boolean {
    return this.informers.hasSynced()
  }

  /** Runs every controller until `signal` aborts; resolves once all have stopped. */
  async runLeading(signal: AbortSignal): Promise<void> {
    await Promise.all(this.controllers.map((c) => c.run(signal)))
  }

  async stop(): Promise<void> {
    await this.informers.stop()
  }
}
