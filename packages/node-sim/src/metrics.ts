/**
 * Prometheus metrics of the simulator (`GET /metrics` on the kubelet port): Lease renewals and their
 * lateness, failed renewals, node status posts, and the current nodes, failed nodes, pods and requests
 * in flight or queued. Counters and gauges are read from the simulator's stats at scrape time; the
 * lateness histogram is observed at each renewal.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client'

export interface MetricsSource {
  stats(): {
    renewals: number
    renewFailures: number
    statusPosts: number
    nodes: number
    failedNodes: number
    pods: number
    requestsInFlight: number
    requestsQueued: number
  }
}

export class SimulatorMetrics {
  readonly registry = new Registry()
  private readonly lateness: Histogram

  constructor(source: MetricsSource) {
    const registers = [this.registry]
    this.lateness = new Histogram({
      name: 'hakube_node_sim_lease_renewal_lateness_seconds',
      help: 'Start of each Lease renewal minus the time it was due.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    })
    // Counters that follow the stats' totals (which /admin/stats/reset may set back to 0).
    const counter = (name: string, help: string, read: () => number): void => {
      let last = 0
      new Counter({
        name,
        help,
        registers,
        collect() {
          const v = read()
          this.inc(Math.max(0, v - last))
          last = v
        },
      })
    }
    counter('hakube_node_sim_lease_renewals_total', 'Lease renewals written.', () => source.stats().renewals)
    counter(
      'hakube_node_sim_lease_renewal_failures_total',
      'Lease renewals that failed (and were retried).',
      () => source.stats().renewFailures,
    )
    counter(
      'hakube_node_sim_node_status_posts_total',
      'NodeStatus updates written.',
      () => source.stats().statusPosts,
    )
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read())
        },
      })
    }
    gauge('hakube_node_sim_nodes', 'Simulated nodes.', () => source.stats().nodes)
    gauge(
      'hakube_node_sim_failed_nodes',
      'Simulated nodes whose heartbeat is stopped.',
      () => source.stats().failedNodes,
    )
    gauge('hakube_node_sim_pods', 'Pods on the simulated nodes.', () => source.stats().pods)
    gauge(
      'hakube_node_sim_requests_in_flight',
      'Requests to the api-server in flight.',
      () => source.stats().requestsInFlight,
    )
    gauge(
      'hakube_node_sim_requests_queued',
      'Requests waiting for a slot.',
      () => source.stats().requestsQueued,
    )
  }

  observeLateness(ms: number): void {
    this.lateness.observe(ms / 1000)
  }

  text(): Promise<string> {
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }
}
