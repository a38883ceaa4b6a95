import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

/**
 * Real packet loss between loopback addresses for partition tests, with iptables (Debian's iptables,
 * either backend). Everything lives in chains of our own, named `HAKUBE-E2E-<pid>`: the raw-table chain
 * is jumped to from PREROUTING and OUTPUT and holds `-s A -d B -j DROP` pairs; an optional nat chain
 * (jumped to from POSTROUTING) pins the source address of processes that cannot choose it themselves
 * (etcd dials its peers from 127.0.0.1). No other rule is ever touched.
 *
 * Why raw and not filter INPUT/OUTPUT: with the nat pinning, the replies on a pinned connection are
 * translated back (to 127.0.0.1) before the filter hooks see them, so `-s B -d A` would miss them; the raw
 * hooks run before connection tracking, where OUTPUT sees each sender's own view (B → A) and PREROUTING
 * the pinned source (A → B). Without NAT (hakube-store binds its own address) both views are the same.
 *
 * Cleanup: `remove()` (tests call it in afterAll) and, as a fallback, a synchronous handler on process
 * exit and on SIGINT/SIGTERM/SIGHUP. `install()` first deletes chains left behind by earlier runs that
 * died without cleaning up (a chain whose pid is no longer alive).
 */

const PREFIX = 'HAKUBE-E2E-'
/** Our chains and the built-in chains that jump to them (filter: only to clean up after older versions). */
const TABLES = { raw: ['PREROUTING', 'OUTPUT'], nat: ['POSTROUTING'], filter: ['INPUT', 'OUTPUT'] } as const
type Table = keyof typeof TABLES

const INSTALL_HINT = 'apt-get install iptables; needs root/CAP_NET_ADMIN'
/** Debian installs it in /usr/sbin, which a non-login PATH may lack. */
const IPTABLES = existsSync('/usr/sbin/iptables') ? '/usr/sbin/iptables' : 'iptables'

function iptables(table: Table, args: readonly string[]): string {
  return execFileSync(IPTABLES, ['-w', '5', '-t', table, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

/** Throws with a clear message unless iptables is installed and we may change rules. */
export function requireIptables(): void {
  try {
    iptables('raw', ['-S', 'OUTPUT'])
    // Listing works for unprivileged users on some systems; creating a chain proves the permission.
    const probe = `${PREFIX}${process.pid}-P`
    iptables('raw', ['-N', probe])
    iptables('raw', ['-X', probe])
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string }
    const why =
      e.code === 'ENOENT' ? 'iptables is not installed' : `iptables failed: ${e.stderr ?? e.message}`
    throw new Error(`${why.trim()} (${INSTALL_HINT})`)
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Deletes the jumps to `chain` from the built-in chains, then the chain itself (if present). */
function deleteChain(table: Table, chain: string): void {
  for (const builtin of TABLES[table]) {
    const rules = iptables(table, ['-S', builtin]).split('\n')
    for (const rule of rules) {
      const words = rule.trim().split(/\s+/)
      if (words[0] !== '-A' || words.at(-1) !== chain || words.at(-2) !== '-j') continue
      iptables(table, ['-D', ...words.slice(1)])
    }
  }
  const chains = iptables(table, ['-S']).split('\n')
  if (chains.includes(`-N ${chain}`)) {
    iptables(table, ['-F', chain])
    iptables(table, ['-X', chain])
  }
}

/** Chains of earlier runs whose process is gone (a crashed or SIGKILLed test run). */
export function removeStaleChains(): string[] {
  const removed: string[] = []
  for (const table of Object.keys(TABLES) as Table[]) {
    for (const line of iptables(table, ['-S']).split('\n')) {
      const m = /^-N (HAKUBE-E2E-(\d+)\S*)$/.exec(line.trim())
      if (m === null) continue
      const pid = Number(m[2])
      if (pid === process.pid || pidAlive(pid)) continue
      deleteChain(table, m[1]!)
      removed.push(`${table}/${m[1]}`)
    }
  }
  return removed
}

export class Firewall {
  readonly chain = `${PREFIX}${process.pid}`
  private readonly installed = new Set<Table>()
  private readonly onExit = (): void => this.removeQuietly()
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.removeQuietly()
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15))
  }

  private removeQuietly(): void {
    try {
      this.remove()
    } catch (err) {
      process.stderr.write(`${String(err)}\n`)
    }
  }

  /** Removes stale chains of dead runs, then creates ours (raw table, jumped to from PREROUTING and OUTPUT). */
  install(): void {
    requireIptables()
    removeStaleChains()
    process.on('exit', this.onExit)
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, this.onSignal)
    this.ensure('raw')
  }

  private ensure(table: Table): void {
    if (this.installed.has(table)) return
    deleteChain(table, this.chain) // a chain of a dead process that had our pid
    iptables(table, ['-N', this.chain])
    this.installed.add(table)
    for (const builtin of TABLES[table]) iptables(table, ['-I', builtin, '1', '-j', this.chain])
  }

  /**
   * Connections that processes running with group id `gid` open to `port` leave from `address` (SNAT).
   * Must be set before the processes connect: NAT applies to new connections only.
   */
  pinSourceAddress(gid: number, port: number, address: string): void {
    this.ensure('nat')
    iptables('nat', [
      '-A',
      this.chain,
      '-p',
      'tcp',
      '--dport',
      String(port),
      '-m',
      'owner',
      '--gid-owner',
      String(gid),
      '-j',
      'SNAT',
      '--to-source',
      address,
    ])
  }

  /** Drops every packet between `address` and each of `others`, both directions. */
  isolate(address: string, others: readonly string[]): void {
    if (!this.installed.has('raw')) throw new Error('Firewall.install() first')
    for (const o of others) {
      iptables('raw', ['-A', this.chain, '-s', address, '-d', o, '-j', 'DROP'])
      iptables('raw', ['-A', this.chain, '-s', o, '-d', address, '-j', 'DROP'])
    }
  }

  /** Removes every DROP rule (the chain and its jumps stay). */
  heal(): void {
    if (this.installed.has('raw')) iptables('raw', ['-F', this.chain])
  }

  /** Our DROP rules as `iptables -S` prints them. */
  rules(): string[] {
    if (!this.installed.has('raw')) return []
    return iptables('raw', ['-S', this.chain])
      .split('\n')
      .filter((l) => l.startsWith('-A '))
  }

  /** Deletes our chains and the jumps to them; idempotent, synchronous (safe in an exit handler). */
  remove(): void {
    process.off('exit', this.onExit)
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, this.onSignal)
    const errors: string[] = []
    for (const table of [...this.installed]) {
      try {
        deleteChain(table, this.chain)
        this.installed.delete(table)
      } catch (err) {
        errors.push(`${table}: ${(err as { stderr?: string }).stderr ?? String(err)}`)
      }
    }
    if (errors.length > 0)
      throw new Error(`could not remove iptables chain ${this.chain}: ${errors.join('; ')}`)
  }
}
