/**
 * The image a member hands out as its backup (`StoreServer.snapshot()`, what `etcdctl snapshot save`
 * receives before the gRPC stream pads and hashes it): the MVCC state image followed by a lease
 * section. The server writes it; `restore/snapshot-file.ts` reads it back. It lives here, beside the
 * state machine that produces it, so the server never depends on the restore tooling.
 *
 * Lease section: `"HKLEASE"`, version byte 1, then a varint count and per lease its id (8 bytes,
 * big-endian int64) and granted TTL in seconds (varint). It never starts with a zero byte, so a reader
 * tells it apart from the stream's zero padding.
 */

export const LEASE_MAGIC = Buffer.from('HKLEASE', 'latin1')
export const LEASE_VERSION = 1

/** A lease as the lessor snapshots it (lease/lessor.ts `toSnapshot`): id in decimal, granted TTL. */
export interface SnapshotLease {
  readonly id: string
  readonly ttl: number
}

function uvarint(out: number[], n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`cannot encode ${n} as uvarint`)
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
}

/** The bytes `StoreServer.snapshot()` returns: the MVCC image followed by the lease section. */
export function encodeBackupImage(
  mvccImage: Uint8Array,
  leases: ReadonlyArray<{ readonly id: string | bigint; readonly ttl: number }>,
): Uint8Array {
  const tail: number[] = [...LEASE_MAGIC, LEASE_VERSION]
  uvarint(tail, leases.length)
  const id = Buffer.alloc(8)
  for (const l of leases) {
    id.writeBigInt64BE(BigInt(l.id))
    tail.push(...id)
    uvarint(tail, l.ttl)
  }
  const out = new Uint8Array(mvccImage.length + tail.length)
  out.set(mvccImage)
  out.set(tail, mvccImage.length)
  return out
}
