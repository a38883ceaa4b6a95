import type { Entry } from './types.js'

/** Byte size of an entry for flow-control limits (payload plus a fixed header estimate). */
export function entrySize(e: Entry): number {
  return e.data.length + 16
}

export function entriesSize(ents: readonly Entry[]): number {
  let size = 0
  for (const e of ents) size += entrySize(e)
  return size
}

/** The longest prefix of `ents` within `maxSize` bytes, but at least one entry. */
export function limitSize(ents: Entry[], maxSize: number): Entry[] {
  if (ents.length === 0) return ents
  let size = entrySize(ents[0]!)
  let limit = 1
  for (; limit < ents.length; limit++) {
    size += entrySize(ents[limit]!)
    if (size > maxSize) break
  }
  return limit === ents.length ? ents : ents.slice(0, limit)
}
