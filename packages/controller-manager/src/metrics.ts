/**
 * The controller-manager's metrics: whether this instance leads (client-go's
 * `leader_election_master_status`), syncs by controller and result, work queue depth, and the writes
 * each controller made (so a test or a user can see which instance acted).
 */
import { Counter, Gauge, Registry } from 'prom-client'

export class ControllerManagerMetrics {
  readonly registry = new Registry()
  readonly leader = new Gauge({
    name: 'leader_election_master_status',
    help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.',
    labelNames: ['name'] as const,
    registers: [this.registry],
  })
  readonly syncs = new Counter({
    name: 'hakube_controller_syncs_total',
    help: 'Syncs of a key, by controller and result (success, error).',
    labelNames: ['controller', 'result'] as const,
    registers: [this.registry],
  })
  readonly depth = new Gauge({
    name: 'workqueue_depth',
    help: 'Current depth of workqueue, by controller.',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  })
  readonly actions = new Counter({
    name: 'hakube_controller_actions_total',
    help: 'Writes to the api-server made by this instance, by controller and verb.',
    labelNames: ['controller', 'verb'] as const,
    registers: [this.registry],
  })
}
