import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { parseStoreFlags, STORE_FLAGS } from './index.js'

/** `etcd --help` of the installed etcd 3.4 (Debian etcd-server; `.ci/run` installs it), or undefined. */
function etcdHelp(): string | undefined {
  try {
    const out = execFileSync('etcd', ['--help'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 10_000,
    })
    return out.includes('--initial-cluster') ? out : undefined
  } catch (e) {
    // etcd 3.4 prints the help to stderr and exits 0; an older flag package may exit 2.
    const err = e as { stdout?: string; stderr?: string }
    const out = `${err.stdout ?? ''}${err.stderr ?? ''}`
    return out.includes('--initial-cluster') ? out : undefined
  }
}

const help = etcdHelp()

describe('against the installed etcd --help', () => {
  // The real etcd is the reference: a missing one is a failure to see, never a silent skip.
  it('finds the reference etcd 3.4 and its help text', () => {
    expect(help, 'etcd is not installed: apt-get install etcd-server (see .ci/run)').toBeDefined()
  })

  it('every flag exists in etcd with the same default', () => {
    const defaults = new Map<string, string>()
    for (const m of (help ?? '').matchAll(/^ {2}--([a-z0-9-]+) '([^']*)'$/gm))
      defaults.set(m[1] ?? '', m[2] ?? '')
    for (const f of STORE_FLAGS) expect([f.name, defaults.get(f.name)]).toEqual([f.name, f.etcdDefault])
  })

  it('the parsed defaults are the values etcd prints', () => {
    const r = parseStoreFlags([], {})
    if (!r.ok || !('config' in r)) throw new Error('defaults must parse')
    const c = r.config
    const printed = (name: string) => new RegExp(`^ {2}--${name} '([^']*)'$`, 'm').exec(help ?? '')?.[1]
    expect(String(c.heartbeatIntervalMs)).toBe(printed('heartbeat-interval'))
    expect(String(c.electionTimeoutMs)).toBe(printed('election-timeout'))
    expect(String(c.snapshotCount)).toBe(printed('snapshot-count'))
    expect(String(c.maxRequestBytes)).toBe(printed('max-request-bytes'))
    expect(String(c.maxTxnOps)).toBe(printed('max-txn-ops'))
    expect(c.name).toBe(printed('name'))
    expect(c.initialClusterToken).toBe(printed('initial-cluster-token'))
    expect(c.listenClientUrls.join(',')).toBe(printed('listen-client-urls'))
    expect(c.listenPeerUrls.join(',')).toBe(printed('listen-peer-urls'))
    expect(c.logLevel).toBe(printed('log-level'))
  })
})
