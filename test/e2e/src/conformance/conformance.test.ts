import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { StoreProcessCluster } from '@hakube/store/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { alignTtls } from './normalize.js'
import { ClusterClients, runScenario } from './runner.js'
import { scenarios } from './scenarios.js'

// Goal: hakube-store answers etcd v3 requests exactly as etcd 3.4 does. Method: the same scenarios (each a
// fixed sequence of KV, Txn, Lease, Watch, Cluster, Maintenance and JSON-gateway requests under its own
// key prefix) run against a real 3-member etcd 3.4 cluster (127.0.1.61-63) and a real 3-member
// hakube-store cluster (127.0.1.71-73); etcd's transcript is the oracle. Transcripts are normalized only
// where two clusters legitimately differ (normalize.ts: relative revisions, member roles, symbolic
// server-chosen lease ids, TTLs within ±1 s) and must then be deep-equal, error codes and messages
// included.

const TIMING = { heartbeatMs: 100, electionMs: 1000 }
/** A directory to write both transcripts of every scenario to (for reading differences side by side). */
const DUMP = process.env['CONFORMANCE_DUMP']
const SEED = Number(process.env['CONFORMANCE_SEED'] ?? Date.now() % 1_000_000)

describe('etcd 3.4 conformance: hakube-store vs a real etcd cluster, same requests', () => {
  let etcd: StoreProcessCluster | undefined
  let hakube: StoreProcessCluster | undefined
  let etcdClients: ClusterClients
  let hakubeClients: ClusterClients

  beforeAll(async () => {
    console.log(`conformance: random-ops seed ${SEED} (rerun with CONFORMANCE_SEED=${SEED})`)
    etcd = new StoreProcessCluster(3, 60, TIMING, ['--initial-cluster-token=hakube-conformance'], 'etcd')
    hakube = new StoreProcessCluster(3, 70, TIMING)
    etcd.startAll()
    hakube.startAll()
    etcdClients = new ClusterClients({ label: 'etcd', members: etcd.members })
    hakubeClients = new ClusterClients({ label: 'hakube', members: hakube.members })
    for (const cc of [etcdClients, hakubeClients]) {
      const leader = await cc.waitReady(60_000)
      // A first write through every member: the cluster commits and applies in its current term.
      for (const m of cc.cluster.members) {
        await cc.of(m).must('KV', 'Put', { key: Buffer.from(`!warmup/${m.name}`), value: Buffer.from('x') })
      }
      await cc.of(leader).must('KV', 'Range', { key: Buffer.from('!warmup/') })
    }
  }, 120_000)

  afterAll(() => {
    etcdClients?.close()
    hakubeClients?.close()
    etcd?.destroy()
    hakube?.destroy()
  })

  for (const [i, sc] of scenarios(SEED).entries()) {
    it(`${sc.name} (${sc.target})`, async () => {
      const oracle = await runScenario(etcdClients, sc, i)
      const candidate = alignTtls(oracle, await runScenario(hakubeClients, sc, i))
      if (DUMP !== undefined) {
        mkdirSync(DUMP, { recursive: true })
        writeFileSync(join(DUMP, `${i}-${sc.name}.etcd.json`), JSON.stringify(oracle, null, 1))
        writeFileSync(join(DUMP, `${i}-${sc.name}.hakube.json`), JSON.stringify(candidate, null, 1))
      }
      expect(oracle.length, 'etcd answered nothing: the scenario is broken').toBeGreaterThan(0)
      expect(candidate).toEqual(oracle)
    }, 180_000)
  }
})
