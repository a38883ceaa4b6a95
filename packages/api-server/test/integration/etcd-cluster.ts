/** Starts a 3-member store process cluster (hakube-store or a real etcd) and waits for readiness. */
import { createEtcd3Storage } from '@hakube/storage/etcd3'
import { StoreProcessCluster, waitFor } from '@hakube/store/testing'
import type { ContractSetup } from './contract.js'

const TIMING = { heartbeatMs: 100, electionMs: 1000 }

export async function etcd3Setup(kind: 'hakube' | 'etcd', hostBase: number): Promise<ContractSetup> {
  const cluster =
    kind === 'etcd'
      ? new StoreProcessCluster(
          3,
          hostBase,
          TIMING,
          ['--initial-cluster-token=hakube-apiserver-test'],
          'etcd',
        )
      : new StoreProcessCluster(3, hostBase, TIMING)
  cluster.startAll()
  const storage = createEtcd3Storage({ endpoints: cluster.clientUrls })
  try {
    await waitFor(
      async () => ((await storage.readiness()).ok ? true : undefined),
      60_000,
      () => `${kind} cluster not ready:\n${cluster.logs()}`,
      200,
    )
  } catch (err) {
    await storage.close()
    cluster.destroy()
    throw err
  }
  return { storage, destroy: () => cluster.destroy() }
}
