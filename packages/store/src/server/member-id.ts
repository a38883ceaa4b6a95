/**
 * Member and cluster ids, derived as etcd derives them (etcdserver/api/membership/member.go,
 * cluster.go `genID`), but kept to 53 bits so an id fits a JS number and a Raft `NodeId`:
 *
 * - member id: SHA-1 over the member's peer URLs (sorted, concatenated) followed by the cluster token;
 *   the first 8 bytes as a big-endian uint64, shifted right by 11 (etcd keeps all 64 bits and, for
 *   `member add`, also hashes the current time — we do not, so a member that joins with
 *   `--initial-cluster-state existing` computes the same id the cluster gave it).
 * - cluster id: SHA-1 over the sorted member ids, each as 8 big-endian bytes; same 53-bit reduction.
 *
 * Zero means "none" in Raft, so a zero result becomes 1.
 */
import { createHash } from 'node:crypto'

function to53Bits(digest: Buffer): number {
  const v = Number(digest.readBigUInt64BE(0) >> 11n)
  return v === 0 ? 1 : v
}

export function deriveMemberId(peerUrls: readonly string[], clusterToken: string): number {
  const sorted = [...peerUrls].sort()
  return to53Bits(
    createHash('sha1')
      .update(sorted.join('') + clusterToken)
      .digest(),
  )
}

export function deriveClusterId(memberIds: readonly number[]): number {
  const sorted = [...memberIds].sort((a, b) => a - b)
  const buf = Buffer.alloc(8 * sorted.length)
  sorted.forEach((id, i) => {
    buf.writeBigUInt64BE(BigInt(id), 8 * i)
  })
  return to53Bits(createHash('sha1').update(buf).digest())
}
