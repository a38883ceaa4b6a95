// Child process of crash.test.ts: appends entries with mustSync in a loop (a few saves in flight at a
// time, so group commit is exercised), takes a snapshot and releases the WAL every so often, and prints
// each index on stdout only after its save() resolved. The parent SIGKILLs it at a random moment.
//
// argv: <path of the transpiled wal/index.js> <data dir> <segment size bytes>
// Entry payloads are a pure function of the index so the parent can verify them.
const [modulePath, dataDir, segmentSize] = process.argv.slice(2)
const { Wal } = await import(modulePath)

const INFLIGHT_MAX = 4
const SNAPSHOT_EVERY = 150

function payload(index) {
  const size = (index * 37) % 257
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = (index + i) & 0xff
  return out
}

const options = { segmentSizeBytes: Number(segmentSize), snapshotsToKeep: 2 }
let wal
let next
if (await Wal.exists(dataDir)) {
  wal = await Wal.open(dataDir, options)
  const r = await wal.replay()
  next = r.snapshot.metadata.index + r.entries.length + 1
} else {
  wal = await Wal.create(dataDir, new Uint8Array([1]), options)
  next = 1
}
process.stdout.write(`ready ${next}\n`)

const inflight = new Set()
let lastSnapshotAt = next
for (;;) {
  while (inflight.size < INFLIGHT_MAX) {
    const index = next++
    const p = wal
      .save(
        { term: 1, vote: 1, commit: index - 1 },
        [{ term: 1, index, type: 'normal', data: payload(index) }],
        true,
      )
      .then(() => {
        process.stdout.write(`${index}\n`)
      })
      .finally(() => inflight.delete(p))
    inflight.add(p)
  }
  await Promise.race(inflight)
  if (next - lastSnapshotAt >= SNAPSHOT_EVERY) {
    lastSnapshotAt = next
    await Promise.all(inflight)
    // The durable commit is next - 2 (the hard state saved with entry next - 1).
    const index = next - 2
    await wal.saveSnapshot({
      data: new TextEncoder().encode(`snapshot@${index}`),
      metadata: { index, term: 1, confState: { voters: [1], learners: [] } },
    })
    await wal.releaseTo(index)
  }
}
