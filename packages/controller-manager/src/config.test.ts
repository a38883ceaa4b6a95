import { describe, expect, it } from 'vitest'
import { helpText, parseControllerManagerFlags, selectControllers } from './config.js'

describe('parseControllerManagerFlags', () => {
  it('takes kube-controller-manager flags with their defaults and the lock name kube-controller-manager', () => {
    const r = parseControllerManagerFlags(['--master=http://127.0.0.1:6443'])
    if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
    expect(r.config).toMatchObject({
      master: 'http://127.0.0.1:6443',
      bindAddress: '0.0.0.0',
      port: 10257,
      concurrentReplicasetSyncs: 5,
      concurrentDeploymentSyncs: 5,
      concurrentNamespaceSyncs: 10,
      concurrentGcSyncs: 20,
      nodeMonitorPeriodMs: 5000,
      nodeMonitorGracePeriodMs: 40_000,
      nodeEvictionRate: 0.1,
      leaderElection: {
        leaderElect: true,
        resourceName: 'kube-controller-manager',
        resourceNamespace: 'kube-system',
      },
    })
    expect(r.config.controllers).toEqual([
      'serviceaccount',
      'namespace',
      'garbagecollector',
      'replicaset',
      'deployment',
      'endpoint',
      'nodelifecycle',
    ])
  })

  it('reads durations, counts and a float eviction rate', () => {
    const r = parseControllerManagerFlags([
      '--kubeconfig',
      '/tmp/k',
      '--node-monitor-grace-period=2s',
      '--node-monitor-period',
      '500ms',
      '--node-eviction-rate=2.5',
      '--concurrent-gc-syncs=3',
      '--port=0',
      '--bind-address=127.0.2.120',
    ])
    if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
    expect(r.config).toMatchObject({
      kubeconfig: '/tmp/k',
      nodeMonitorGracePeriodMs: 2000,
      nodeMonitorPeriodMs: 500,
      nodeEvictionRate: 2.5,
      concurrentGcSyncs: 3,
      port: 0,
      bindAddress: '127.0.2.120',
    })
  })

  it('refuses bad input with one line naming the flag', () => {
    const bad: [string[], RegExp][] = [
      [[], /no configuration has been provided/],
      [
        ['--master=http://x', '--controllers=replicaset,nosuch'],
        /"nosuch" is not in the list of known controllers/,
      ],
      [['--master=http://x', '--node-eviction-rate=fast'], /--node-eviction-rate/],
      [
        ['--master=http://x', '--concurrent-replicaset-syncs=0'],
        /--concurrent-replicaset-syncs must be at least 1/,
      ],
      [['--master=http://x', '--port=70000'], /--port/],
      [['--master=http://x', '--bind-address=nowhere'], /--bind-address/],
      [
        ['--master=http://x', '--leader-elect-lease-duration=5s', '--leader-elect-renew-deadline=10s'],
        /lease-duration/,
      ],
      [['--master=http://x', '--no-such-flag'], /no-such-flag/],
    ]
    for (const [argv, message] of bad) {
      const r = parseControllerManagerFlags(argv)
      expect(r.ok, argv.join(' ')).toBe(false)
      if (!r.ok) {
        expect(r.error).toMatch(message)
        expect(r.error).not.toContain('\n')
      }
    }
  })

  it('answers --help and --version', () => {
    expect(parseControllerManagerFlags(['--version'])).toEqual({
      ok: true,
      exit: 'version',
      output: 'hakube-controller-manager v0.1.0',
    })
    const help = parseControllerManagerFlags(['--help'])
    expect(help).toMatchObject({ ok: true, exit: 'help' })
    expect(helpText()).toContain('--concurrent-replicaset-syncs')
    expect(helpText()).toContain('--leader-elect-resource-name')
  })
})

describe('selectControllers (kube IsControllerEnabled)', () => {
  it('* enables all, -name disables one, a bare name enables only it', () => {
    const all = selectControllers(['*', '-garbagecollector'])
    expect(all.ok && all.controllers).not.toContain('garbagecollector')
    expect(all.ok && all.controllers).toContain('namespace')
    expect(selectControllers(['namespace'])).toEqual({ ok: true, controllers: ['namespace'] })
    expect(selectControllers(['namespace', '-namespace'])).toEqual({ ok: true, controllers: [] })
  })
})
