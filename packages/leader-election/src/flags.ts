/**
 * The leader election flags of kube-scheduler and kube-controller-manager (component-base
 * `config/options/leaderelectionconfig.go`), their checks (`config/validation`, NewLeaderElector),
 * and the identity `hostname_uuid`. Imports only `@hakube/api/flags` (no zod), so a binary's
 * `main.ts` can parse them before loading anything heavy: `@hakube/leader-election/flags`.
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { type FlagValues, flag, formatGoDuration } from '@hakube/api/flags'

export type ResourceLockKind = 'endpoints' | 'leases' | 'endpointsleases'
export const RESOURCE_LOCK_KINDS: readonly ResourceLockKind[] = ['endpoints', 'leases', 'endpointsleases']

/** The seven `--leader-elect*` flags; `resourceName` is the lock's default name (`kube-scheduler`). */
export function leaderElectionFlags(resourceName: string) {
  return {
    leaderElect: flag({
      name: 'leader-elect',
      type: 'bool',
      default: true,
      usage:
        'Start a leader election client and gain leadership before executing the main loop. Enable this when running replicated components for high availability.',
    }),
    leaseDuration: flag({
      name: 'leader-elect-lease-duration',
      type: 'duration',
      default: 15_000,
      usage:
        'The duration that non-leader candidates will wait after observing a leadership renewal until attempting to acquire leadership of a led but unrenewed leader slot. This is effectively the maximum duration that a leader can be stopped before it is replaced by another candidate. This is only applicable if leader election is enabled.',
    }),
    renewDeadline: flag({
      name: 'leader-elect-renew-deadline',
      type: 'duration',
      default: 10_000,
      usage:
        'The interval between attempts by the acting master to renew a leadership slot before it stops leading. This must be less than the lease duration. This is only applicable if leader election is enabled.',
    }),
    retryPeriod: flag({
      name: 'leader-elect-retry-period',
      type: 'duration',
      default: 2_000,
      usage:
        'The duration the clients should wait between attempting acquisition and renewal of a leadership. This is only applicable if leader election is enabled.',
    }),
    resourceLock: flag({
      name: 'leader-elect-resource-lock',
      type: 'string',
      default: 'endpoints',
      usage:
        "The type of resource object that is used for locking during leader election. Supported options are 'endpoints', 'leases' and 'endpointsleases'.",
    }),
    resourceName: flag({
      name: 'leader-elect-resource-name',
      type: 'string',
      default: resourceName,
      usage: 'The name of resource object that is used for locking during leader election.',
    }),
    resourceNamespace: flag({
      name: 'leader-elect-resource-namespace',
      type: 'string',
      default: 'kube-system',
      usage: 'The namespace of resource object that is used for locking during leader election.',
    }),
  }
}

export type LeaderElectionFlagDefs = ReturnType<typeof leaderElectionFlags>
export type LeaderElectionFlagValues = FlagValues<LeaderElectionFlagDefs>

/** The checked flag values. Durations in ms. */
export interface LeaderElectionOptions {
  leaderElect: boolean
  leaseDurationMs: number
  renewDeadlineMs: number
  retryPeriodMs: number
  resourceLock: ResourceLockKind
  resourceName: string
  resourceNamespace: string
}

/**
 * Checks the values (only when `--leader-elect` is on, as component-base does): lease-duration >
 * renew-deadline > 1.2 × retry-period > 0, the lease (recorded in whole seconds) above the renew
 * deadline, a known lock kind, a lock name and namespace. One line naming the flags on error, for
 * the binary to print before exiting 2.
 */
export function leaderElectionOptions(
  values: LeaderElectionFlagValues,
): { ok: true; options: LeaderElectionOptions } | { ok: false; error: string } {
  const options: LeaderElectionOptions = {
    leaderElect: values.leaderElect,
    leaseDurationMs: values.leaseDuration,
    renewDeadlineMs: values.renewDeadline,
    retryPeriodMs: values.retryPeriod,
    resourceLock: values.resourceLock as ResourceLockKind,
    resourceName: values.resourceName,
    resourceNamespace: values.resourceNamespace,
  }
  if (!values.leaderElect) return { ok: true, options }
  const d = formatGoDuration
  const lease = `--leader-elect-lease-duration (${d(values.leaseDuration)})`
  const renew = `--leader-elect-renew-deadline (${d(values.renewDeadline)})`
  const retry = `--leader-elect-retry-period (${d(values.retryPeriod)})`
  const fail = (error: string) => ({ ok: false as const, error })
  if (!(values.retryPeriod > 0)) return fail(`${retry} must be greater than zero`)
  if (!(values.renewDeadline > 0)) return fail(`${renew} must be greater than zero`)
  if (!(values.leaseDuration > values.renewDeadline)) return fail(`${lease} must be greater than ${renew}`)
  if (!(values.renewDeadline > 1.2 * values.retryPeriod)) {
    return fail(`${renew} must be greater than 1.2 × ${retry}`)
  }
  if (!(Math.floor(values.leaseDuration / 1000) * 1000 > values.renewDeadline)) {
    return fail(`${lease} is recorded in whole seconds and must then still be greater than ${renew}`)
  }
  if (!(RESOURCE_LOCK_KINDS as readonly string[]).includes(values.resourceLock)) {
    return fail(
      `invalid --leader-elect-resource-lock ${JSON.stringify(values.resourceLock)}: supported options are 'endpoints', 'leases' and 'endpointsleases'`,
    )
  }
  if (values.resourceName === '') return fail('--leader-elect-resource-name must not be empty')
  if (values.resourceNamespace === '') return fail('--leader-elect-resource-namespace must not be empty')
  return { ok: true, options }
}

/**
 * `hostname_uuid` (kube-scheduler: "so that two processes on the same host don't accidentally both
 * become active"). The hakube node supervisor sets HAKUBE_HOSTNAME to the emulated host's name.
 */
export function defaultIdentity(env: NodeJS.ProcessEnv = process.env): string {
  return `${env['HAKUBE_HOSTNAME'] || hostname()}_${randomUUID()}`
}
