/**
 * hakube-scheduler's command line: kube-scheduler's flags that hakube honours (pflag syntax, Go
 * durations, through @hakube/api's light flags entry), the leader-election flags of
 * @hakube/leader-election (resource name `kube-scheduler`). Checked by hand rather than with zod,
 * so `--help`, `--version` and a bad flag answer without loading any schema. A bad value is one
 * line naming the flag, for main.ts to print before exiting with code 2.
 */
import {
  type ComponentOptions,
  componentFlags,
  componentOptions,
  flag,
  flagUsages,
  parseFlags,
} from '@hakube/api/flags'
import {
  type LeaderElectionOptions,
  leaderElectionFlags,
  leaderElectionOptions,
} from '@hakube/leader-election/flags'

export const SCHEDULER_VERSION = 'hakube-scheduler v0.1.0'

export const SCHEDULER_FLAGS = {
  ...componentFlags(10259),
  podInitialBackoffSeconds: flag({
    name: 'pod-initial-backoff-seconds',
    type: 'int',
    default: 1,
    usage: 'The initial backoff for unschedulable pods.',
  }),
  podMaxBackoffSeconds: flag({
    name: 'pod-max-backoff-seconds',
    type: 'int',
    default: 10,
    usage:
      'The max backoff for unschedulable pods. Must be greater than or equal to pod-initial-backoff-seconds.',
  }),
  ...leaderElectionFlags('kube-scheduler'),
}

export interface SchedulerConfig extends ComponentOptions {
  readonly podInitialBackoffMs: number
  readonly podMaxBackoffMs: number
  readonly leaderElection: LeaderElectionOptions
}

export type SchedulerFlagsResult =
  | { ok: true; config: SchedulerConfig }
  | { ok: true; exit: 'help' | 'version'; output: string }
  | { ok: false; error: string }

export function parseSchedulerFlags(argv: readonly string[]): SchedulerFlagsResult {
  const r = parseFlags(SCHEDULER_FLAGS, argv)
  if (!r.ok) return r
  if (r.help) return { ok: true, exit: 'help', output: helpText() }
  const v = r.values
  if (v.version) return { ok: true, exit: 'version', output: SCHEDULER_VERSION }
  if (r.args.length > 0) return { ok: false, error: `unexpected argument ${JSON.stringify(r.args[0])}` }
  const component = componentOptions(v)
  if (!component.ok) return component
  if (v.podInitialBackoffSeconds <= 0)
    return { ok: false, error: '--pod-initial-backoff-seconds must be greater than 0' }
  if (v.podMaxBackoffSeconds < v.podInitialBackoffSeconds)
    return {
      ok: false,
      error: '--pod-max-backoff-seconds must be greater than or equal to --pod-initial-backoff-seconds',
    }
  const le = leaderElectionOptions(v)
  if (!le.ok) return le
  return {
    ok: true,
    config: Object.freeze({
      ...component.options,
      podInitialBackoffMs: v.podInitialBackoffSeconds * 1000,
      podMaxBackoffMs: v.podMaxBackoffSeconds * 1000,
      leaderElection: le.options,
    }),
  }
}

export function helpText(): string {
  return `hakube-scheduler binds pending pods to nodes (kube-scheduler's default profile), only while it holds the kube-scheduler leader lock.

Usage:
  hakube-scheduler --kubeconfig PATH | --master URL [flags]

Flags:
${flagUsages(SCHEDULER_FLAGS)}`
}
