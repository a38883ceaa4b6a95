/**
 * hakube-scheduler's serving half, loaded by main.ts once the flags ask to serve: the scheduler
 * (its informers start at once: a standby keeps warm caches), run by @hakube/leader-election's
 * component runner (logger, clients, health and metrics, signals, and the elector that runs the
 * scheduling loop only while this instance leads; a lost lease exits 1, as kube-scheduler does).
 */
import { runElectedComponent } from '@hakube/leader-election'
import type { SchedulerConfig } from './config.js'
import { SchedulerMetrics } from './metrics.js'
import { DEFAULT_SCHEDULER_NAME, Scheduler } from './scheduler.js'

/** Serves until a signal or a lost lease ends the process. */
export async function serve(config: SchedulerConfig): Promise<void> {
  const metrics = new SchedulerMetrics()
  let scheduler: Scheduler | undefined
  await runElectedComponent({
    name: 'hakube-scheduler',
    eventSource: DEFAULT_SCHEDULER_NAME,
    config,
    metrics,
    syncCheckName: 'sched-handler-sync',
    prepare: async ({ client, log, identity }) => {
      const s = new Scheduler({
        client,
        log: log.child({ component: 'scheduler' }),
        identity,
        metrics,
        podInitialBackoffMs: config.podInitialBackoffMs,
        podMaxBackoffMs: config.podMaxBackoffMs,
      })
      scheduler = s
      s.start()
      return s
    },
    stoppedFields: () => ({ bound: scheduler?.boundCount ?? 0 }),
  })
}
