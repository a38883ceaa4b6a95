/**
 * A member joining a running cluster (`--initial-cluster-state existing`) learns the cluster id from a
 * peer before it can talk Raft (every peer request carries it), as etcd's GetClusterFromRemotePeers does:
 * ask each listed peer URL for GET /raft/cluster until one answers, and check that the cluster already
 * lists this member (it was added with `etcdctl member add` first).
 */
import type { NodeId } from '@hakube/raft'
import { undici } from './lazy-undici.js'
import { PEER_PATH_CLUSTER } from './peer-protocol.js'
import type { ClusterInfo } from './peer-server.js'

export interface DiscoveredCluster {
  clusterId: number
  members: Array<{ id: NodeId; name: string; peerUrls: string[] }>
}

export interface DiscoverOptions {
  /** Overall time to keep trying (peers may be starting too). */
  timeoutMs: number
  /** Per-request timeout. */
  requestTimeoutMs?: number
  retryDelayMs?: number
}

/** Resolves with the first answer from any of `peerUrls`; rejects with every URL's failure after `timeoutMs`. */
export async function discoverCluster(
  peerUrls: readonly string[],
  o: DiscoverOptions,
): Promise<DiscoveredCluster> {
  const deadline = Date.now() + o.timeoutMs
  const failures = new Map<string, string>()
  for (;;) {
    for (const url of peerUrls) {
      try {
        return await askOne(url, o)
      } catch (err) {
        failures.set(url, err instanceof Error ? err.message : String(err))
      }
    }
    if (Date.now() >= deadline) break
    await new Promise((r) => setTimeout(r, o.retryDelayMs ?? 200))
  }
  const why = [...failures].map(([u, e]) => `${u}: ${e}`).join('; ')
  throw new Error(`could not get the cluster from any peer (${why})`)
}

async function askOne(url: string, o: DiscoverOptions): Promise<DiscoveredCluster> {
  const origin = new URL(url).origin
  const { request } = await undici()
  const res = await request(`${origin}${PEER_PATH_CLUSTER}`, {
    method: 'GET',
    signal: AbortSignal.timeout(o.requestTimeoutMs ?? 1000),
  })
  const text = await res.body.text()
  if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 100)}`)
  const body = JSON.parse(text) as ClusterInfo
  const clusterId = Number(body.clusterId)
  if (!Number.isSafeInteger(clusterId) || clusterId <= 0 || !Array.isArray(body.members))
    throw new Error('malformed cluster answer')
  return {
    clusterId,
    members: body.members.map((m) => ({ id: Number(m.id), name: m.name, peerUrls: m.peerUrls })),
  }
}
