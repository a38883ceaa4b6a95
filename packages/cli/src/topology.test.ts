import { describe, expect, it } from 'vitest'
import { componentSpecs, type NodeConfig } from './components.js'
import { nodeConfigFromArgs } from './node-command.js'
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
}

function plan(input: Partial<PlanInput> = {}) {
  const r = planCluster({ ...BASE, ...input })
  if ('errors' in r) throw new Error(r.errors.join('; '))
  return r
}

const BINS = { node: '/node', store: '/s.js', apiserver: '/a.js', lb: '/l.js', etcd: '/usr/bin/etcd' }

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
    expect(m2.map((s) => s.name)).toEqual(['store', 'apiserver'])
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
    expect(specsOf(p.hosts[3]?.nodeArgs ?? []).map((s) => s.name)).toEqual(['apiserver'])
    expect(specsOf(p.hosts[3]?.nodeArgs ?? [])[0]?.args).toContain(
      '--etcd-servers=http://127.0.1.203:2379,http://127.0.1.204:2379,http://127.0.1.205:2379',
    )
    expect(specsOf(p.hosts[0]?.nodeArgs ?? []).map((s) => s.name)).toEqual(['store'])
    expect(p.lb).toEqual({ host: '127.0.1.250', port: 7443, statsPort: 6444 })
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
    expect(err(['--role=boss'])).toMatch(/--role must be one of stacked-master, master, etcd, lb/)
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
})
