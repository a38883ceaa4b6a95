import { describe, expect, it } from 'vitest'
import { parseSchedulerFlags } from './config.js'

describe('parseSchedulerFlags', () => {
  it('takes kube-scheduler style flags with Go durations and the leader-election defaults', () => {
    const r = parseSchedulerFlags([
      '--master=http://127.0.0.1:6443',
      '--leader-elect-lease-duration',
      '3s',
      '--leader-elect-renew-deadline=2s',
      '--leader-elect-retry-period=500ms',
      '--leader-elect-resource-lock=leases',
    ])
    if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
    expect(r.config).toMatchObject({
      master: 'http://127.0.0.1:6443',
      bindAddress: '0.0.0.0',
      port: 10259,
      podInitialBackoffMs: 1000,
      podMaxBackoffMs: 10_000,
      leaderElection: {
        leaderElect: true,
        leaseDurationMs: 3000,
        renewDeadlineMs: 2000,
        retryPeriodMs: 500,
        resourceLock: 'leases',
        resourceName: 'kube-scheduler',
        resourceNamespace: 'kube-system',
      },
    })
    expect(Object.isFrozen(r.config)).toBe(true)
  })

  it('answers --help and --version without serving', () => {
    const help = parseSchedulerFlags(['--help'])
    expect(help.ok && 'exit' in help && help.exit).toBe('help')
    if (help.ok && 'output' in help) expect(help.output).toContain('--leader-elect-resource-lock')
    const version = parseSchedulerFlags(['--version'])
    expect(version.ok && 'output' in version && version.output).toBe('hakube-scheduler v0.1.0')
  })

  it('refuses bad input with one line naming the flag', () => {
    const error = (argv: string[]) => {
      const r = parseSchedulerFlags(argv)
      return r.ok ? undefined : r.error
    }
    expect(error([])).toBe(
      'invalid configuration: no configuration has been provided, try setting --kubeconfig or --master',
    )
    expect(error(['--master=http://x', '--bogus'])).toBe('unknown flag: --bogus')
    expect(error(['--master=http://x', '--bind-address=nope'])).toBe(
      '--bind-address: "nope" is not a valid IP address',
    )
    expect(error(['--master=http://x', '--port=70000'])).toBe('--port must be between 0 and 65535')
    expect(error(['--master=http://x', '--pod-max-backoff-seconds=0'])).toContain('--pod-max-backoff-seconds')
    expect(error(['--master=http://x', '--leader-elect-renew-deadline=20s'])).toContain(
      '--leader-elect-lease-duration (15s) must be greater than --leader-elect-renew-deadline (20s)',
    )
    expect(error(['--master=http://x', '--leader-elect-resource-lock=configmaps'])).toContain('configmaps')
    expect(error(['--master=http://x', 'extra'])).toBe('unexpected argument "extra"')
    // Without election the timings are not checked (component-base validates them only when on).
    expect(
      error(['--master=http://x', '--leader-elect=false', '--leader-elect-renew-deadline=20s']),
    ).toBeUndefined()
  })
})
