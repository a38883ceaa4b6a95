/**
 * `hakube partition HOST... [--from HOST...]` and `hakube heal`: real packet loss between the hosts'
 * addresses with iptables, in chains of the cluster's own (HAKUBE-<id of the dir>), never touching
 * another rule.
 *
 * - raw table, jumped to from PREROUTING and OUTPUT: `-s A -d B -j DROP` both ways for every pair.
 *   The raw hooks run before connection tracking and NAT, so OUTPUT sees the sender's own addresses
 *   and PREROUTING the pinned source below.
 * - nat table, jumped to from POSTROUTING (installed by `hakube up` when running as root): a process
 *   of host H (group id hostGid(H), set by its supervisor) connecting anywhere on 127/8 leaves from
 *   H's address. Without it a process that does not bind its source address (an api-server dialling
 *   the store, the balancer dialling an api-server, etcd dialling its peers) would leave from
 *   127.0.0.1 and cross any partition; hakube-store binds its peer connections itself.
 *
 * The balancer's host shares its address with the user's shell in the default layout (127.0.0.1), so
 * cutting a host off from `lb` also cuts `hakube status`'s probes of it: it shows unreachable, as it
 * is from the balancer. The admin socket (a unix socket) still reports its components.
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { type ClusterState, requireState, UserError, writeState } from './cluster-state.js'
import { flag, flagUsages, parseFlags } from './flags.js'
import { hostGid } from './topology.js'

const IPTABLES = existsSync('/usr/sbin/iptables') ? '/usr/sbin/iptables' : 'iptables'
const HOOKS = { raw: ['PREROUTING', 'OUTPUT'], nat: ['POSTROUTING'] } as const
type Table = keyof typeof HOOKS

export function chainName(dir: string): string {
  return `HAKUBE-${createHash('sha256').update(dir).digest('hex').slice(0, 10)}`
}

function iptables(table: Table, args: readonly string[]): string {
  return execFileSync(IPTABLES, ['-w', '5', '-t', table, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

/** Why iptables cannot be used here, or undefined when it can. */
export function iptablesProblem(): string | undefined {
  try {
    iptables('raw', ['-S', 'OUTPUT'])
    const probe = `HAKUBE-P${process.pid}`
    iptables('raw', ['-N', probe])
    iptables('raw', ['-X', probe])
    return undefined
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string }
    return e.code === 'ENOENT'
      ? 'iptables is not installed (Debian: apt-get install iptables)'
      : `iptables is not permitted here (${(e.stderr ?? e.message).trim()}); partitions need root or CAP_NET_ADMIN`
  }
}

function hasChain(table: Table, chain: string): boolean {
  return iptables(table, ['-S']).split('\n').includes(`-N ${chain}`)
}

function ensureChain(table: Table, chain: string): void {
  if (hasChain(table, chain)) return
  iptables(table, ['-N', chain])
  for (const hook of HOOKS[table]) iptables(table, ['-I', hook, '1', '-j', chain])
}

function deleteChain(table: Table, chain: string): void {
  for (const hook of HOOKS[table])
    for (const rule of iptables(table, ['-S', hook]).split('\n')) {
      const words = rule.trim().split(/\s+/)
      if (words[0] === '-A' && words.at(-1) === chain && words.at(-2) === '-j')
        iptables(table, ['-D', ...words.slice(1)])
    }
  if (hasChain(table, chain)) {
    iptables(table, ['-F', chain])
    iptables(table, ['-X', chain])
  }
}

/**
 * Pins each host's outgoing connections to its own address (SNAT by group id), and with `clearDrops`
 * empties the cluster's DROP chain left by an earlier run. Called by `hakube up` before the hosts start;
 * a no-op unless running as root with a usable iptables. One iptables-save and one iptables-restore
 * (each iptables call costs ~0.1 s on a busy machine; this runs on `up`'s critical path).
 */
export function pinSourceAddresses(state: ClusterState, clearDrops = false): boolean {
  if (process.getuid?.() !== 0) return false
  const chain = chainName(state.plan.dir)
  let saved: string
  try {
    saved = execFileSync(`${IPTABLES}-save`, [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch {
    return false
  }
  const tables = new Map<string, string[]>()
  let current: string[] = []
  for (const line of saved.split('\n')) {
    if (line.startsWith('*')) {
      current = []
      tables.set(line.slice(1), current)
    } else current.push(line)
  }
  const nat = tables.get('nat') ?? []
  // `:CHAIN - [0:0]` creates the chain or, with --noflush, empties it: the rules below replace it.
  const input = ['*nat', `:${chain} - [0:0]`]
  if (!nat.includes(`-A POSTROUTING -j ${chain}`)) input.push(`-I POSTROUTING 1 -j ${chain}`)
  for (const h of state.plan.hosts)
    input.push(
      `-A ${chain} -d 127.0.0.0/8 -p tcp -m owner --gid-owner ${hostGid(h.address)} -j SNAT --to-source ${h.address}`,
    )
  input.push('COMMIT')
  if (clearDrops && (tables.get('raw') ?? []).some((l) => l.startsWith(`:${chain} `)))
    input.push('*raw', `:${chain} - [0:0]`, 'COMMIT')
  try {
    execFileSync(`${IPTABLES}-restore`, ['--noflush', '-w', '5'], {
      input: `${input.join('\n')}\n`,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    return true
  } catch {
    return false
  }
}

/** Removes every DROP rule of the cluster; the state forgets its partitions. */
export function healPartitions(state: ClusterState): void {
  const chain = chainName(state.plan.dir)
  if (iptablesProblem() === undefined && hasChain('raw', chain)) iptables('raw', ['-F', chain])
  state.partitions = []
}

/** Deletes the cluster's chains (`hakube down`); quiet when iptables is unusable. */
export function removeClusterChains(state: ClusterState): void {
  if (iptablesProblem() !== undefined) return
  const chain = chainName(state.plan.dir)
  deleteChain('raw', chain)
  deleteChain('nat', chain)
}

/** The DROP pairs cutting `hosts` off from `from` (both directions), as [source, destination]. */
export function dropPairs(hosts: readonly string[], from: readonly string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = []
  for (const a of hosts)
    for (const b of from) {
      if (a === b) continue
      pairs.push([a, b], [b, a])
    }
  return pairs
}

const PARTITION_FLAGS = {
  dir: flag({ kind: 'string', default: '.hakube', usage: "The cluster's directory." }),
  from: flag({
    kind: 'strings',
    default: [],
    usage: 'The hosts to cut them off from (default: every other host).',
  }),
}

export async function runPartition(argv: readonly string[], out: NodeJS.WritableStream): Promise<number> {
  const p = parseFlags(PARTITION_FLAGS, argv)
  if (!p.ok) throw new UserError(p.error)
  if (p.help) {
    out.write(
      `hakube partition HOST... [--from HOST,...] drops every packet between the hosts and the others.\n\nFlags:\n${flagUsages(PARTITION_FLAGS)}\n`,
    )
    return 0
  }
  if (p.args.length === 0) throw new UserError('hakube partition needs at least one HOST')
  const dir = resolve(p.values.dir)
  const state = requireState(dir)
  const address = (name: string): string => {
    const h = state.plan.hosts.find((x) => x.name === name)
    if (h === undefined)
      throw new UserError(
        `no host ${JSON.stringify(name)} (hosts: ${state.plan.hosts.map((x) => x.name).join(', ')})`,
      )
    return h.address
  }
  const hosts = p.args
  const from =
    p.values.from.length > 0
      ? p.values.from
      : state.plan.hosts.map((h) => h.name).filter((n) => !hosts.includes(n))
  const overlap = hosts.filter((h) => from.includes(h))
  if (overlap.length > 0) throw new UserError(`${overlap.join(', ')} cannot be cut off from itself`)
  const pairs = dropPairs(hosts.map(address), from.map(address))
  const problem = iptablesProblem()
  if (problem !== undefined) throw new UserError(`cannot partition: ${problem}`)
  const chain = chainName(dir)
  ensureChain('raw', chain)
  for (const [s, d] of pairs) iptables('raw', ['-A', chain, '-s', s, '-d', d, '-j', 'DROP'])
  state.partitions.push({ hosts, from: p.values.from.length > 0 ? from : [] })
  writeState(dir, state)
  out.write(
    `${hosts.join(', ')} cut off from ${from.join(', ')} (${pairs.length} DROP rules in raw/${chain}); \`hakube heal\` removes them\n`,
  )
  if (!hasChain('nat', chain))
    out.write(
      "note: source addresses are not pinned (hakube up did not run as root): only hakube-store peer traffic carries the hosts' own addresses\n",
    )
  return 0
}

export async function runHeal(argv: readonly string[], out: NodeJS.WritableStream): Promise<number> {
  const p = parseFlags({ dir: PARTITION_FLAGS.dir }, argv)
  if (!p.ok) throw new UserError(p.error)
  if (p.help) {
    out.write('hakube heal removes every partition of the cluster.\n')
    return 0
  }
  const dir = resolve(p.values.dir)
  const state = requireState(dir)
  const problem = iptablesProblem()
  if (problem !== undefined) throw new UserError(`cannot heal: ${problem}`)
  const n = state.partitions.length
  healPartitions(state)
  writeState(dir, state)
  out.write(n === 0 ? 'no partition to heal\n' : `healed ${n} partition${n === 1 ? '' : 's'}\n`)
  return 0
}
