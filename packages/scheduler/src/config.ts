/**
 * hakube-scheduler's command line: kube-scheduler's flags that hakube honours (pflag syntax, Go
 * durations, through @hakube/api's light flags entry), the leader-election flags of
 * @hakube/leader-election (resource name `kube-scheduler`). Checked by hand rather than with zod,
 * so `--help`, `--version` and a bad flag answer without loading any schema. A bad value is one
 * line naming the flag, for main.ts to print before exiting with code 2.
 */
import { isIP } from 'node:net'
import { flag, flagUsages, parseFlags } from '@hakube/api/flags'
import {
  type LeaderElectionOptions,
  leaderElectionFlags,
  leaderElectionOptions,
} from '@hakube/leader-election/flags'

export const SCHEDULER_VERSION = 'hakube-scheduler v0.1.0'

export const SCHEDULER_FLAGS = {
  kubeconfig: flag({
    name: 'kubeconfig',
    type: 'string',
    default: '',
    usage: 'Path to kubeconfig file with authorization and master location information.',
  }),
  master: flag({
    name: 'master',
    type: 'string',
    default: '',
    usage: 'The address of the Kubernetes API server (overrides any value in kubeconfig).',
  }),
  bindAddress: flag({
    name: 'bind-address',
    type: 'string',
    default: '0.0.0.0',
    usage: 'The IP address on which to listen for the --port port (health checks and metrics).',
  }),
  port: flag({
    name: 'port',
    type: 'int',
    default: 10259,
    usage:
      'The port on which to serve plain HTTP /healthz, /livez, /readyz and /metrics (0 picks a free port).',
  }),
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
  logLevel: flag({
    name: 'log-level',
    type: 'string',
    default: 'info',
    usage: "pino log level: 'debug', 'info', 'warn', 'error'. Each binding is logged at info ('bound').",
  }),
  version: flag({
    name: 'version',
    type: 'bool',
    default: false,
    usage: 'Print version information and quit.',
  }),
  ...leaderElectionFlags('kube-scheduler'),
}

export interface SchedulerConfig {
  readonly kubeconfig: string
  readonly master: string
  readonly bindAddress: string
  readonly port: number
  readonly podInitialBackoffMs: number
  readonly podMaxBackoffMs: number
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error'
  readonly leaderElection: LeaderElectionOptions
}

export type SchedulerFlagsResult =
  | { ok: true; config: SchedulerConfig }
  | { ok: true; exit: 'help' | 'version'; output: string }
  | { ok: false; error: string }

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const

export function parseSchedulerFlags(argv: readonly string[]): SchedulerFlagsResult {
  const r = parseFlags(SCHEDULER_FLAGS, argv)
  if (!r.ok) return r
  if (r.help) return { ok: true, exit: 'help', output: helpText() }
  const v = r.values
  if (v.version) return { ok: true, exit: 'version', output: SCHEDULER_VERSION }
  if (r.args.length > 0) return { ok: false, error: `unexpected argument ${JSON.stringify(r.args[0])}` }
  if (v.kubeconfig === '' && v.master === '')
    return {
      ok: false,
      error:
        'invalid configuration: no configuration has been provided, try setting --kubeconfig or --master',
    }
  if (isIP(v.bindAddress) === 0)
    return { ok: false, error: `--bind-address: ${JSON.stringify(v.bindAddress)} is not a valid IP address` }
  if (v.port < 0 || v.port > 65535) return { ok: false, error: '--port must be between 0 and 65535' }
  if (v.podInitialBackoffSeconds <= 0)
    return { ok: false, error: '--pod-initial-backoff-seconds must be greater than 0' }
  if (v.podMaxBackoffSeconds < v.podInitialBackoffSeconds)
    return {
      ok: false,
      error: '--pod-max-backoff-seconds must be greater than or equal to --pod-initial-backoff-seconds',
    }
  const level = LOG_LEVELS.find((l) => l === v.logLevel)
  if (level === undefined)
    return {
      ok: false,
      error: `--log-level: ${JSON.stringify(v.logLevel)} is not debug, info, warn or error`,
    }
  const le = leaderElectionOptions(v)
  if (!le.ok) return le
  return {
    ok: true,
    config: Object.freeze({
      kubeconfig: v.kubeconfig,
      master: v.master,
      bindAddress: v.bindAddress,
      port: v.port,
      podInitialBackoffMs: v.podInitialBackoffSeconds * 1000,
      podMaxBackoffMs: v.podMaxBackoffSeconds * 1000,
      logLevel: level,
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
