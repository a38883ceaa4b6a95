/**
 * kube-scheduler's metrics that hakube keeps, with kube's names (pkg/scheduler/metrics, client-go's
 * leader election metric): attempts by result, the end-to-end scheduling latency (from the pod
 * entering the queue to its binding), pending pods per queue, and whether this instance leads.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client'

export class SchedulerMetrics {
  readonly registry = new Registry()
  readonly scheduleAttempts = new Counter({
    name: 'scheduler_schedule_attempts_total',
    help: 'Number of attempts to schedule pods, by the result. unschedulable means a pod could not be scheduled, while error means an internal scheduler problem.',
    labelNames: ['result', 'profile'] as const,
    registers: [this.registry],
  })
  readonly e2eSchedulingSeconds = new Histogram({
    name: 'scheduler_e2e_scheduling_duration_seconds',
    help: 'E2e scheduling latency in seconds (from the pod entering the scheduling queue to its binding).',
    labelNames: ['result', 'profile'] as const,
    buckets: [
      0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192,
      16.384,
    ],
    registers: [this.registry],
  })
  readonly attemptSeconds = new Histogram({
    name: 'scheduler_scheduling_attempt_duration_seconds',
    help: 'Scheduling attempt latency in seconds (filtering and scoring, without the binding).',
    labelNames: ['result', 'profile'] as const,
    buckets: [0.0001, 0.0002, 0.0004, 0.0008, 0.0016, 0.0032, 0.0064, 0.0128, 0.0256, 0.0512, 0.1024],
    registers: [this.registry],
  })
  readonly pendingPods = new Gauge({
    name: 'scheduler_pending_pods',
    help: "Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means number of pods in unschedulablePods.",
    labelNames: ['queue'] as const,
    registers: [this.registry],
  })
  readonly leader = new Gauge({
    name: 'leader_election_master_status',
    help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.',
    labelNames: ['name'] as const,
    registers: [this.registry],
  })
}
