/**
 * hakube-controller-manager's serving half, loaded by main.ts once the flags ask to serve: discovery
 * (retried until the api-server answers), then the shared informers and the enabled controllers (the
 * informers start at once: a standby keeps warm caches), run by @hakube/leader-election's component
 * runner (logger, clients, health and metrics, signals, and the elector that runs the controllers
 * only while this instance leads; a lost lease exits 1, as kube-controller-manager does).
 */
import { runElectedComponent } from '@hakube/leader-election'
import type { ControllerManagerConfig } from './config.js'
import { discoverResources, type ServedResource } from './controllers/resources.js'
import { ControllerManager } from './manager.js'
import { ControllerManagerMetrics } from './metrics.js'

/** Between two discovery attempts while the api-server does not answer. */
const DISCOVERY_RETRY_MS = 1000

/** Serves until a signal or a lost lease ends the process. */
export async function serve(config: ControllerManagerConfig): Promise<void> {
  const metrics = new ControllerManagerMetrics()
  await runElectedComponent({
    name: 'hakube-controller-manager',
    eventSource: 'kube-controller-manager',
    config,
    metrics,
    syncCheckName: 'informer-sync',
    logFields: { controllers: config.controllers },
    prepare: async ({ client, log, identity, signal }) => {
      // What the api-server serves, as kube's controller context reads discovery.
      let resources: ServedResource[] | undefined
      for (let attempt = 0; resources === undefined; attempt++) {
        try {
          resources = await discoverResources(client, signal)
        } catch (err) {
          if (signal.aborted) return undefined
          if (attempt % 10 === 0) log.warn({ err: String(err) }, 'waiting for the api-server (discovery)')
          await new Promise((r) => setTimeout(r, DISCOVERY_RETRY_MS))
        }
      }
      const m = new ControllerManager({
        client,
        log,
        identity,
        controllers: config.controllers,
        resources,
        metrics,
        nodeLifecycle: {
          monitorPeriodMs: config.nodeMonitorPeriodMs,
          gracePeriodMs: config.nodeMonitorGracePeriodMs,
          startupGracePeriodMs: config.nodeStartupGracePeriodMs,
          evictionRate: config.nodeEvictionRate,
        },
        workers: {
          replicaset: config.concurrentReplicasetSyncs,
          deployment: config.concurrentDeploymentSyncs,
          endpoint: config.concurrentEndpointSyncs,
          namespace: config.concurrentNamespaceSyncs,
          garbagecollector: config.concurrentGcSyncs,
        },
      })
      m.start()
      return m
    },
  })
}
