import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { endpointStatus, HaCluster, processAlive } from './harness.js'

// Goal (issue 12, section 3): `hakube up`, `status` and `down` work as a new user runs them with the
// store swapped for real etcd members (`--store etcd`), kubectl reaching the cluster through the
// balancer with nothing but the kubeconfig `up` wrote. (The stacked and external-etcd experiments
// beside this file do the same with hakube-store.) Method: a stacked cluster of 3 masters on
// 127.0.1.15-17 with etcd members, balancer on 127.0.1.38:6443.

describe('hakube up --store etcd (stacked, 3 masters), status, down', () => {
  const cluster = new HaCluster({
    topology: 'stacked',
    masters: 3,
    store: 'etcd',
    firstAddress: '127.0.1.15',
    lbHost: '127.0.1.38',
  })

  beforeAll(async () => {
    await cluster.up()
  }, 200_000)
  afterAll(async () => {
    await cluster.destroy()
  }, 200_000)

  it('runs real etcd members behind the api-servers, reached with kubectl and etcdctl, and goes down leaving nothing', async () => {
    expect(cluster.upRun!.stdout).toMatch(/^starting the cluster in .* \(stacked, store: etcd\)$/m)
    const s = await cluster.status()
    expect(s.quorum).toMatchObject({ members: 3, quorum: 2, healthy: 3, hasQuorum: true, moreMayFail: 1 })
    const storePids = s.hosts.flatMap((h) =>
      h.components.filter((c) => c.name === 'store').map((c) => c.pid!),
    )
    expect(storePids).toHaveLength(3)
    for (const pid of storePids)
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]).toMatch(/(^|\/)etcd$/)
    const rows = await endpointStatus([...cluster.endpoints().values()])
    expect(rows.filter((r) => r.isLeader)).toHaveLength(1)
    expect(new Set(rows.map((r) => r.raftTerm)).size).toBe(1)

    const ns = await cluster.k(['get', 'namespaces', '-o', 'name'])
    expect(ns.code, ns.stderr).toBe(0)
    expect(ns.stdout.split('\n').filter(Boolean).sort()).toEqual([
      'namespace/default',
      'namespace/kube-node-lease',
      'namespace/kube-public',
      'namespace/kube-system',
    ])
    const created = await cluster.k(['create', 'configmap', 'on-etcd', '--from-literal=k=v'])
    expect(created.code, created.stderr).toBe(0)
    expect((await cluster.k(['get', 'configmap', 'on-etcd', '-o', 'jsonpath={.data.k}'])).stdout).toBe('v')

    const text = await cluster.run('status')
    expect(text).toMatch(/3 masters, 3 store members \(etcd\)/)
    expect(text).toMatch(/quorum 2 of 3, 3 healthy/)

    const pids = [...s.hosts.flatMap((h) => [h.pid!, ...h.components.map((c) => c.pid!)])]
    const down = await cluster.run('down')
    expect(down).toMatch(/cluster down; nothing left running/)
    expect(pids.filter(processAlive)).toEqual([])
    console.log(
      `[ha] hakube up --store etcd (stacked, 3 masters) healthy in ${cluster.upSeconds.toFixed(1)} s; kubectl get ns through the balancer ok; hakube down left nothing running`,
    )
  }, 120_000)
})
