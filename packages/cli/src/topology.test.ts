import { describe, expect, it } from 'vitest'
import { componentSpecs, type NodeConfig } from './components.js'
import { componentEnv, nodeConfigFromArgs } from './node-command.js'
import { checkCounts, hostGid, type PlanInput, planCluster, quorumOf } from './topology.js'

const BASE: PlanInput = {
  topology: 'stacked',
  masters: 3,
  etcd: 3,
  store: 'hakube',
  dir: '/tmp/c',
  firstAddress: '127.0.1.1',
  lbAddress: '127.0.0.1:6443',
  lbStatsPort: 6444,
  workers: 0,
  nodesPerWorker: 1,
}

function plan(input: Partial<PlanInput> = {}) {
  const r = planCluster({ ...BASE, ...input })
  if ('errors' in r) throw new Error(r.errors.join('; '))
  return r
}

const BINS = {
  node: '/node',
  store: '/s.js',
  apiserver: '/a.js',
  lb: '/l.js',
  scheduler: '/sch.js',
  controllerManager: '/cm.js',
  nodeSim: '/ns.js',
  etcd: '/usr/bin/etcd',
}

/** The node command line a host plan gives, turned into its components' argv. */
function specsOf(nodeArgs: readonly string[]) {
  const parsed = nodeConfigFromArgs(nodeArgs)
  if (parsed === 'help' || 'error' in parsed) throw new Error(JSON.stringify(parsed))
  return componentSpecs(parsed.config, BINS)
}

describe('planCluster', () => {
  it('stacked, 3 masters: master-1..3 on the first addresses, each a store member and an api-server; the balancer on its own address', () => {
    const { plan: p, warnings } = plan()
    expect(warnings).toEqual([])
    expect(p.hosts.map((h) => [h.name, h.role, h.address])).toEqual([
      ['master-1', 'stacked-master', '127.0.1.1'],
      ['master-2', 'stacked-master', '127.0.1.2'],
      ['master-3', 'stacked-master', '127.0.1.3'],
      ['lb', 'lb', '127.0.0.1'],
    ])
    expect(p.storeMembers.map((m) => m.clientUrl)).toEqual([
      'http://127.0.1.1:2379',
      'http://127.0.1.2:2379',
      'http://127.0.1.3:2379',
    ])
    expect(p.apiServers).toEqual(['http://127.0.1.1:6443', 'http://127.0.1.2:6443', 'http://127.0.1.3:6443'])
    const m2 = specsOf(p.hosts[1]?.nodeArgs ?? [])
    expect(m2.map((s) => s.name)).toEqual(['store', 'apiserver', 'scheduler', 'controller-manager'])
    expect(m2[0]?.args).toEqual([
      '/s.js',
      '--name=master-2',
      '--data-dir=/tmp/c/hosts/master-2/store',
      '--listen-peer-urls=http://127.0.1.2:2380',
      '--initial-advertise-peer-urls=http://127.0.1.2:2380',
      '--listen-client-urls=http://127.0.1.2:2379',
      '--advertise-client-urls=http://127.0.1.2:2379',
      '--initial-cluster=master-1=http://127.0.1.1:2380,master-2=http://127.0.1.2:2380,master-3=http://127.0.1.3:2380',
      '--initial-cluster-state=new',
      '--initial-cluster-token=hakube',
    ])
    // Every api-server lists every store member.
    expect(m2[1]?.args).toEqual([
      '/a.js',
      '--bind-address=127.0.1.2',
      '--advertise-address=127.0.1.2',
      '--secure-port=6443',
      '--etcd-servers=http://127.0.1.1:2379,http://127.0.1.2:2379,http://127.0.1.3:2379',
      '--endpoint-reconciler-type=lease',
      '--etcd-readycheck-timeout=700ms',
    ])
    const lb = specsOf(p.hosts[3]?.nodeArgs ?? [])
    expect(lb).toEqual([
      {
        name: 'lb',
        command: '/node',
        args: [
          '/l.js',
          '--bind-address=127.0.0.1',
          '--port=6443',
          '--stats-port=6444',
          '--backends=http://127.0.1.1:6443,http://127.0.1.2:6443,http://127.0.1.3:6443',
        ],
      },
    ])
  })

  it('external-etcd: store hosts etcd-1..3 after the masters, started first; masters run only an api-server', () => {
    const { plan: p } = plan({
      topology: 'external-etcd',
      masters: 2,
      etcd: 3,
      firstAddress: '127.0.1.201',
      lbAddress: '127.0.1.250:7443',
    })
    expect(p.hosts.map((h) => [h.name, h.role, h.address])).toEqual([
      ['etcd-1', 'etcd', '127.0.1.203'],
      ['etcd-2', 'etcd', '127.0.1.204'],
      ['etcd-3', 'etcd', '127.0.1.205'],
      ['master-1', 'master', '127.0.1.201'],
      ['master-2', 'master', '127.0.1.202'],
      ['lb', 'lb', '127.0.1.250'],
    ])
    expect(specsOf(p.hosts[3]?.nodeArgs ?? []).map((s) => s.name)).toEqual([
      'apiserver',
      'scheduler',
      'controller-manager',
    ])
    expect(specsOf(p.hosts[3]?.nodeArgs ?? [])[0]?.args).toContain(
      '--etcd-servers=http://127.0.1.203:2379,http://127.0.1.204:2379,http://127.0.1.205:2379',
    )
    expect(specsOf(p.hosts[0]?.nodeArgs ?? []).map((s) => s.name)).toEqual(['store'])
    expect(p.lb).toEqual({ host: '127.0.1.250', port: 7443, statsPort: 6444 })
  })

  it('every master runs a scheduler replica against its own api-server, /healthz on 10259 of its address', () => {
    const { plan: p } = plan()
    const sched = specsOf(p.hosts[1]?.nodeArgs ?? [])[2]
    expect(sched).toEqual({
      name: 'scheduler',
      command: '/node',
      args: ['/sch.js', '--master=http://127.0.1.2:6443', '--bind-address=127.0.1.2', '--port=10259'],
    })
    expect(p.schedulers).toEqual([
      { host: 'master-1', url: 'http://127.0.1.1:10259' },
      { host: 'master-2', url: 'http://127.0.1.2:10259' },
      { host: 'master-3', url: 'http://127.0.1.3:10259' },
    ])
    expect(p.schedulerLock).toEqual({ kind: 'endpoints', namespace: 'kube-system', name: 'kube-scheduler' })
  })

  it('every master runs a controller-manager replica against its own api-server, /healthz on 10257, started last', () => {
    const { plan: p } = plan()
    const cm = specsOf(p.hosts[2]?.nodeArgs ?? [])[3]
    expect(cm).toEqual({
      name: 'controller-manager',
      command: '/node',
      args: ['/cm.js', '--master=http://127.0.1.3:6443', '--bind-address=127.0.1.3', '--port=10257'],
    })
    expect(p.controllerManagers).toEqual([
      { host: 'master-1', url: 'http://127.0.1.1:10257' },
      { host: 'master-2', url: 'http://127.0.1.2:10257' },
      { host: 'master-3', url: 'http://127.0.1.3:10257' },
    ])
    expect(p.controllerManagerLock).toEqual({
      kind: 'endpoints',
      namespace: 'kube-system',
      name: 'kube-controller-manager',
    })
  })

  it('election flags given to up reach every scheduler (and only those given); the lock kind is recorded', () => {
    const { plan: p } = plan({
      topology: 'external-etcd',
      masters: 2,
      leaderElect: { leaseDuration: '4s', renewDeadline: '3s', retryPeriod: '1s', resourceLock: 'leases' },
    })
    const master = p.hosts.find((h) => h.name === 'master-2')
    expect(specsOf(master?.nodeArgs ?? [])[1]?.args.slice(4)).toEqual([
      '--leader-elect-lease-duration=4s',
      '--leader-elect-renew-deadline=3s',
      '--leader-elect-retry-period=1s',
      '--leader-elect-resource-lock=leases',
    ])
    expect(p.schedulerLock?.kind).toBe('leases')
    expect(specsOf(master?.nodeArgs ?? [])[2]?.args.slice(4)).toEqual([
      '--leader-elect-lease-duration=4s',
      '--leader-elect-renew-deadline=3s',
      '--leader-elect-retry-period=1s',
      '--leader-elect-resource-lock=leases',
    ])
    expect(p.controllerManagerLock?.kind).toBe('leases')
    const partial = plan({
      leaderElect: { leaseDuration: '', renewDeadline: '', retryPeriod: '500ms', resourceLock: '' },
    })
    expect(specsOf(partial.plan.hosts[0]?.nodeArgs ?? [])[2]?.args.slice(4)).toEqual([
      '--leader-elect-retry-period=500ms',
    ])
  })

  it('node monitor flags given to up reach every controller-manager, and only those given', () => {
    const { plan: p } = plan({ nodeMonitor: { period: '1s', gracePeriod: '5s' } })
    for (const master of p.hosts.filter((h) => h.role === 'stacked-master')) {
      const [, , sched, cm] = specsOf(master.nodeArgs)
      expect(cm?.args.slice(4)).toEqual(['--node-monitor-period=1s', '--node-monitor-grace-period=5s'])
      expect(sched?.args.slice(4)).toEqual([])
    }
    const partial = plan({ nodeMonitor: { period: '', gracePeriod: '8s' } })
    expect(specsOf(partial.plan.hosts[0]?.nodeArgs ?? [])[3]?.args.slice(4)).toEqual([
      '--node-monitor-grace-period=8s',
    ])
    // Empty values are the controller-manager's defaults: the plan is the same as without the flags.
    expect(plan({ nodeMonitor: { period: '', gracePeriod: '' } }).plan).toEqual(plan().plan)
    const errors = (nodeMonitor: { period: string; gracePeriod: string }) => {
      const r = planCluster({ ...BASE, nodeMonitor })
      return 'errors' in r ? r.errors : []
    }
    expect(errors({ period: '', gracePeriod: '40' })).toEqual([
      'invalid argument "40" for "--node-monitor-grace-period" flag: time: missing unit in duration "40"',
    ])
    expect(errors({ period: '0s', gracePeriod: '' })).toEqual([
      '--node-monitor-period must be greater than 0',
    ])
    const node = nodeConfigFromArgs([
      '--role=lb',
      '--name=lb',
      '--address=127.0.0.1',
      '--backends=http://a:1',
      '--node-monitor-period=-1s',
    ])
    expect(node !== 'help' && 'error' in node ? node.error : undefined).toBe(
      '--node-monitor-period must be greater than 0',
    )
  })

  it('refuses election flags the scheduler would refuse, with its rule', () => {
    const errors = (leaderElect: Partial<NonNullable<PlanInput['leaderElect']>>) => {
      const r = planCluster({
        ...BASE,
        leaderElect: {
          leaseDuration: '',
          renewDeadline: '',
          retryPeriod: '',
          resourceLock: '',
          ...leaderElect,
        },
      })
      return 'errors' in r ? r.errors : []
    }
    expect(errors({ leaseDuration: '15' })).toEqual([
      'invalid argument "15" for "--leader-elect-lease-duration" flag: time: missing unit in duration "15"',
    ])
    expect(errors({ leaseDuration: '5s' })).toEqual([
      '--leader-elect-lease-duration must be greater than --leader-elect-renew-deadline',
    ])
    expect(errors({ renewDeadline: '2s' })).toEqual([
      '--leader-elect-renew-deadline must be greater than 1.2 × --leader-elect-retry-period',
    ])
    expect(errors({ retryPeriod: '0s' })).toEqual(['--leader-elect-retry-period must be greater than zero'])
    expect(errors({ resourceLock: 'configmaps' })[0]).toMatch(
      /^--leader-elect-resource-lock must be one of endpoints, leases, endpointsleases/,
    )
    expect(errors({ leaseDuration: '4s', renewDeadline: '3s', retryPeriod: '1s' })).toEqual([])
  })

  it('workers: worker-1..W after the masters and store hosts, started last, each a node simulator talking to the balancer', () => {
    const { plan: p } = plan({ topology: 'external-etcd', masters: 2, etcd: 3, workers: 2 })
    expect(p.hosts.map((h) => [h.name, h.role, h.address])).toEqual([
      ['etcd-1', 'etcd', '127.0.1.3'],
      ['etcd-2', 'etcd', '127.0.1.4'],
      ['etcd-3', 'etcd', '127.0.1.5'],
      ['master-1', 'master', '127.0.1.1'],
      ['master-2', 'master', '127.0.1.2'],
      ['lb', 'lb', '127.0.0.1'],
      ['worker-1', 'worker', '127.0.1.6'],
      ['worker-2', 'worker', '127.0.1.7'],
    ])
    expect(specsOf(p.hosts[7]?.nodeArgs ?? [])).toEqual([
      {
        name: 'node-sim',
        command: '/node',
        args: [
          '/ns.js',
          '--master=http://127.0.0.1:6443',
          '--bind-address=127.0.1.7',
          '--port=10250',
          '--node-name=worker-2',
        ],
      },
    ])
    expect(p.workers).toEqual([
      { host: 'worker-1', address: '127.0.1.6', url: 'http://127.0.1.6:10250', nodes: ['worker-1'] },
      { host: 'worker-2', address: '127.0.1.7', url: 'http://127.0.1.7:10250', nodes: ['worker-2'] },
    ])
  })

  it('several nodes per worker are named after the host: worker-1-1, worker-1-2...', () => {
    const { plan: p } = plan({ workers: 1, nodesPerWorker: 3 })
    expect(p.workers?.[0]?.nodes).toEqual(['worker-1-1', 'worker-1-2', 'worker-1-3'])
    expect(specsOf(p.hosts.at(-1)?.nodeArgs ?? [])[0]?.args.slice(4)).toEqual([
      '--nodes=3',
      '--node-name-prefix=worker-1',
    ])
  })

  it('refuses bad worker counts, and workers that run past the /24', () => {
    const errors = (input: Partial<PlanInput>) => {
      const r = planCluster({ ...BASE, ...input })
      return 'errors' in r ? r.errors : []
    }
    expect(errors({ workers: -1 })).toEqual(['--workers must be 0 or more (got -1)'])
    expect(errors({ nodesPerWorker: 0 })).toEqual(['--nodes-per-worker must be at least 1 (got 0)'])
    expect(errors({ firstAddress: '127.0.1.250', workers: 3 })[0]).toMatch(
      /6 hosts from 127.0.1.250 run past/,
    )
  })

  it('--store etcd runs the etcd binary with the same flags, PreVote on as hakube-store', () => {
    const { plan: p } = plan({ store: 'etcd' })
    const [store] = specsOf(p.hosts[0]?.nodeArgs ?? [])
    expect(store?.command).toBe('/usr/bin/etcd')
    expect(store?.args[0]).toBe('--name=master-1')
    expect(store?.args).toContain('--pre-vote=true')
  })

  it('refuses bad addresses with the flag named', () => {
    const errors = (input: Partial<PlanInput>) => {
      const r = planCluster({ ...BASE, ...input })
      return 'errors' in r ? r.errors : []
    }
    expect(errors({ firstAddress: '10.0.0.1' })[0]).toMatch(/--first-address must be a loopback/)
    expect(errors({ lbAddress: 'localhost:6443' })[0]).toMatch(/--lb-address must be IPv4:port/)
    expect(errors({ lbAddress: '127.0.1.2:6443' })[0]).toMatch(/is one of the hosts' addresses/)
    expect(errors({ firstAddress: '127.0.1.253' })[0]).toMatch(/run past the end of its \/24/)
    expect(errors({ lbStatsPort: 6443 })[0]).toMatch(/--lb-stats-port/)
  })

  it('gives each address its own group id', () => {
    expect(hostGid('127.0.1.1')).not.toBe(hostGid('127.0.1.2'))
  })
})

describe('checkCounts', () => {
  it('the quorum table: N members need floor(N/2)+1 and tolerate the rest', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => [n, quorumOf(n).quorum, quorumOf(n).tolerates])).toEqual([
      [1, 1, 0],
      [2, 2, 0],
      [3, 2, 1],
      [4, 3, 1],
      [5, 3, 2],
      [6, 4, 2],
      [7, 4, 3],
    ])
  })

  it('an odd count passes silently', () => {
    expect(checkCounts({ topology: 'stacked', masters: 3, etcd: 3 })).toEqual({ errors: [], warnings: [] })
    expect(checkCounts({ topology: 'external-etcd', masters: 2, etcd: 5 })).toEqual({
      errors: [],
      warnings: [],
    })
  })

  it('an even count warns that it tolerates no more failures than one member fewer', () => {
    const { errors, warnings } = checkCounts({ topology: 'external-etcd', masters: 3, etcd: 4 })
    expect(errors).toEqual([])
    expect(warnings).toEqual([
      '4 store members: an even number adds no fault tolerance. A quorum of 4 is 3, so 4 members tolerate 1 failure, like 3 (quorum 2), with one more member that can fail. Use 3 or 5.',
    ])
  })

  it('two stacked masters: the warning says why two are worse than one', () => {
    const { warnings } = checkCounts({ topology: 'stacked', masters: 2, etcd: 3 })
    expect(warnings[0]).toMatch(
      /^2 masters \(2 store members\): .*tolerate 0 failures, like 1.*either dies, worse than one/,
    )
  })

  it('one member is allowed with a warning', () => {
    const { errors, warnings } = checkCounts({ topology: 'stacked', masters: 1, etcd: 3 })
    expect(errors).toEqual([])
    expect(warnings[0]).toMatch(/^1 master \(1 store member\): no fault tolerance/)
  })

  it('refuses zero, and --etcd with the stacked topology', () => {
    expect(checkCounts({ topology: 'stacked', masters: 0, etcd: 3 }).errors).toEqual([
      '--masters must be at least 1 (got 0)',
    ])
    expect(checkCounts({ topology: 'external-etcd', masters: 1, etcd: 0 }).errors).toEqual([
      '--etcd must be at least 1 (got 0)',
    ])
    expect(checkCounts({ topology: 'stacked', masters: 3, etcd: 3, etcdGiven: true }).errors[0]).toMatch(
      /--etcd applies to --topology external-etcd/,
    )
  })
})

describe('hakube node flags', () => {
  it('names what is missing or wrong', () => {
    const err = (argv: string[]) => {
      const r = nodeConfigFromArgs(argv)
      return r !== 'help' && 'error' in r ? r.error : undefined
    }
    expect(err(['--role=boss'])).toMatch(/--role must be one of stacked-master, master, etcd, lb, worker/)
    expect(err(['--role=worker', '--name=worker-1', '--address=127.0.1.9'])).toBe(
      '--master is required for --role worker, as http://HOST:PORT (got "")',
    )
    expect(
      err([
        '--role=worker',
        '--name=worker-1',
        '--address=127.0.1.9',
        '--master=http://127.0.0.1:6443',
        '--leader-elect-retry-period=soon',
      ]),
    ).toMatch(/^invalid argument "soon" for "--leader-elect-retry-period" flag/)
    expect(err(['--role=etcd', '--name=e1', '--address=127.0.1.9'])).toBe(
      '--initial-cluster is required for --role etcd',
    )
    expect(err(['--role=lb', '--name=lb', '--address=127.0.0.1'])).toBe(
      '--backends is required for --role lb',
    )
    expect(err(['--role=lb', '--bogus'])).toBe('unknown flag: --bogus')
    const ok = nodeConfigFromArgs([
      '--role=lb',
      '--name=lb',
      '--address=127.0.0.1',
      '--backends=http://a:1',
      '--grace-period=3',
    ])
    expect(ok !== 'help' && !('error' in ok) && ok.graceMs).toBe(3000)
    const cfg: NodeConfig | undefined = ok !== 'help' && !('error' in ok) ? ok.config : undefined
    expect(cfg?.port).toBe(6443)
  })

  it("passes the balancer's health timeout and the api-server's ready-check timeout (the compose files' kind-like values)", () => {
    const bins = { node: '/node', store: '/s.js', apiserver: '/a.js', lb: '/l.js' } as never
    const lb = nodeConfigFromArgs([
      '--role=lb',
      '--name=lb',
      '--address=10.0.0.1',
      '--backends=http://a:1',
      '--health-timeout=3s',
    ])
    if (lb === 'help' || 'error' in lb) throw new Error(JSON.stringify(lb))
    expect(componentSpecs(lb.config, bins)[0]?.args).toContain('--health-timeout=3s')
    const master = (extra: string[]) => {
      const r = nodeConfigFromArgs([
        '--role=master',
        '--name=m1',
        '--address=10.0.0.2',
        '--etcd-servers=http://e:2379',
        ...extra,
      ])
      if (r === 'help' || 'error' in r) throw new Error(JSON.stringify(r))
      return componentSpecs(r.config, bins).find((c) => c.name === 'apiserver')?.args
    }
    expect(master(['--etcd-readycheck-timeout=2s'])).toContain('--etcd-readycheck-timeout=2s')
    expect(master([])).toContain('--etcd-readycheck-timeout=700ms')
    const bad = nodeConfigFromArgs([
      '--role=lb',
      '--name=lb',
      '--address=10.0.0.1',
      '--backends=http://a:1',
      '--health-timeout=3',
    ])
    expect(bad !== 'help' && 'error' in bad ? bad.error : undefined).toBe(
      '--health-timeout must be a duration such as 700ms or 3s (got "3")',
    )
  })
})

describe('hakube node: the components environment', () => {
  it("names the emulated host in HAKUBE_HOSTNAME (a leader's identity is <hostname>_<uuid>)", () => {
    expect(componentEnv('master-2', { PATH: '/bin', HAKUBE_HOSTNAME: 'stale' })).toEqual({
      PATH: '/bin',
      HAKUBE_HOSTNAME: 'master-2',
    })
  })
})
