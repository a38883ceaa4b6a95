import type { SeededRandom } from '../rand.js'
import type { NodeId } from '../types.js'
import type { NetworkFaults, SimNetwork } from './sim-network.js'

/** Partitions of the simulated network, and the network of the liveness phase. */

/** The network once the faults heal: nothing lost or duplicated, short delays. */
export const HEALED_NETWORK: NetworkFaults = {
  dropRate: 0,
  duplicateRate: 0,
  latencyMin: 1,
  latencyMax: 3,
  longDelayRate: 0,
  longDelayMax: 3,
}

export const PARTITION_KINDS = ['split', 'oneWay', 'isolateLeader', 'noQuorum', 'link'] as const
export type PartitionKind = (typeof PARTITION_KINDS)[number]

/**
 * Replaces the network's partition with a new random one over `members` and describes it:
 * - split: a minority side and a majority side, cut both ways;
 * - oneWay: everything from one group to the other is lost, the other direction flows (asymmetric);
 * - isolateLeader: the leader cut off both ways, or only its outbound or only its inbound traffic;
 * - noQuorum: three groups, none of them (usually) a majority;
 * - link: one pair of members cut (connectivity is no longer transitive).
 */
export function partitionNetwork(
  rng: SeededRandom,
  network: SimNetwork,
  members: readonly NodeId[],
  leader: NodeId | undefined,
): string {
  const ids = shuffle(rng, [...members])
  network.heal()
  const kind = rng.pick(PARTITION_KINDS)
  switch (kind) {
    case 'split': {
      const k = rng.between(1, Math.floor(ids.length / 2))
      network.split(ids.slice(0, k), ids.slice(k))
      return `split [${ids.slice(0, k)}] | [${ids.slice(k)}]`
    }
    case 'oneWay': {
      const k = rng.between(1, ids.length - 1)
      network.block(ids.slice(0, k), ids.slice(k))
      return `one-way [${ids.slice(0, k)}] -> [${ids.slice(k)}] blocked`
    }
    case 'isolateLeader': {
      const target = leader ?? ids[0]!
      const rest = ids.filter((id) => id !== target)
      const dir = rng.pick(['both', 'out', 'in'] as const)
      if (dir !== 'in') network.block([target], rest)
      if (dir !== 'out') network.block(rest, [target])
      return `isolate ${leader === undefined ? 'member' : 'leader'} ${target} (${dir})`
    }
    case 'noQuorum': {
      const a = Math.max(1, Math.floor(ids.length / 3))
      const b = Math.max(a + 1, Math.floor((2 * ids.length) / 3))
      const groups = [ids.slice(0, a), ids.slice(a, b), ids.slice(b)]
      for (let i = 0; i < groups.length; i++) {
        for (let j = i + 1; j < groups.length; j++) network.split(groups[i]!, groups[j]!)
      }
      return `three-way ${groups.map((g) => `[${g}]`).join(' ')}`
    }
    case 'link':
      network.split([ids[0]!], [ids[1]!])
      return `link ${ids[0]}-${ids[1]} cut`
  }
}

/** Fisher-Yates, in place, from the seeded generator. */
export function shuffle<T>(rng: SeededRandom, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.intn(i + 1)
    const t = items[i]!
    items[i] = items[j]!
    items[j] = t
  }
  return items
}
