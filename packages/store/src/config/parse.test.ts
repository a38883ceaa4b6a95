import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseStoreFlags, STORE_FLAGS, type StoreConfig, storeHelpText } from './index.js'

const dir = mkdtempSync(join(tmpdir(), 'hakube-store-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let fileNo = 0
function writeYaml(text: string): string {
  const p = join(dir, `etcd-config-${fileNo++}.yml`)
  writeFileSync(p, text)
  return p
}

function ok(argv: string[], env: Record<string, string | undefined> = {}): Readonly<StoreConfig> {
  const r = parseStoreFlags(argv, env)
  if (!r.ok) throw new Error(`expected success, got: ${r.error}`)
  if (!('config' in r)) throw new Error('expected a config')
  return r.config
}

function err(argv: string[], env: Record<string, string | undefined> = {}): string {
  const r = parseStoreFlags(argv, env)
  if (r.ok) throw new Error(`expected an error for ${argv.join(' ')}`)
  expect(r.error).not.toContain('\n')
  return r.error
}

/** A valid member n1 of a 3-member cluster on 127.0.1.x, as `hakube up` runs it. */
const member = [
  '--name=n1',
  '--initial-advertise-peer-urls=http://127.0.1.1:2380',
  '--listen-peer-urls=http://127.0.1.1:2380',
  '--listen-client-urls=http://127.0.1.1:2379',
  '--advertise-client-urls=http://127.0.1.1:2379',
  '--initial-cluster=n1=http://127.0.1.1:2380,n2=http://127.0.1.2:2380,n3=http://127.0.1.3:2380',
]

describe('defaults', () => {
  it('equal etcd 3.4 defaults', () => {
    const c = ok([])
    expect(c).toEqual({
      name: 'default',
      dataDir: 'default.etcd',
      listenClientUrls: ['http://localhost:2379'],
      listenClientAddresses: [{ host: 'localhost', port: 2379 }],
      advertiseClientUrls: ['http://localhost:2379'],
      listenPeerUrls: ['http://localhost:2380'],
      listenPeerAddresses: [{ host: 'localhost', port: 2380 }],
      initialAdvertisePeerUrls: ['http://localhost:2380'],
      peerUrls: ['http://localhost:2380'],
      clientUrls: ['http://localhost:2379'],
      initialCluster: { default: ['http://localhost:2380'] },
      initialClusterState: 'new',
      initialClusterToken: 'etcd-cluster',
      heartbeatIntervalMs: 100,
      electionTimeoutMs: 1000,
      electionTicks: 10,
      minLeaseTtlSeconds: 2,
      snapshotCount: 100_000,
      quotaBackendBytes: 0,
      backendQuotaBytes: 2 * 1024 ** 3,
      maxRequestBytes: 1_572_864,
      maxTxnOps: 128,
      logLevel: 'info',
      preVote: false,
      initialElectionTickAdvance: true,
      strictReconfigCheck: true,
      configFile: null,
      warnings: [],
    })
  })

  it('derives data-dir and initial-cluster from --name like etcd', () => {
    const c = ok(['--name', 'infra0'])
    expect(c.dataDir).toBe('infra0.etcd')
    expect(c.initialCluster).toEqual({ infra0: ['http://localhost:2380'] })
  })

  it('is deep-frozen', () => {
    const c = ok(member)
    expect(Object.isFrozen(c)).toBe(true)
    expect(Object.isFrozen(c.initialCluster)).toBe(true)
    expect(Object.isFrozen(c.initialCluster['n2'])).toBe(true)
    expect(Object.isFrozen(c.listenPeerAddresses[0])).toBe(true)
    expect(() => {
      ;(c as { name: string }).name = 'x'
    }).toThrow()
  })

  it('resolves snapshot-count 0 and the quota', () => {
    expect(ok(['--snapshot-count=0']).snapshotCount).toBe(100_000)
    expect(ok(['--quota-backend-bytes=8589934592']).backendQuotaBytes).toBe(8 * 1024 ** 3)
    expect(ok(['--quota-backend-bytes=-1']).backendQuotaBytes).toBeNull()
  })

  it('derives election ticks and the minimum lease TTL like etcd', () => {
    const c = ok(['--heartbeat-interval=50', '--election-timeout=1234'])
    expect(c.electionTicks).toBe(24)
    expect(c.minLeaseTtlSeconds).toBe(Math.ceil((36 * 50) / 1000))
    expect(ok(['--heartbeat-interval=1000', '--election-timeout=10000']).minLeaseTtlSeconds).toBe(15)
  })
})

describe('every flag in both syntaxes', () => {
  const cases: [string, string, (c: StoreConfig) => unknown, unknown][] = [
    ['name', 'default', (c) => c.name, 'default'],
    ['data-dir', '/var/lib/x', (c) => c.dataDir, '/var/lib/x'],
    ['snapshot-count', '5000', (c) => c.snapshotCount, 5000],
    ['heartbeat-interval', '20', (c) => c.heartbeatIntervalMs, 20],
    ['election-timeout', '3000', (c) => c.electionTimeoutMs, 3000],
    ['initial-election-tick-advance', 'false', (c) => c.initialElectionTickAdvance, false],
    [
      'listen-peer-urls',
      'http://127.0.0.1:2380,http://[::1]:2380',
      (c) => c.listenPeerUrls,
      ['http://127.0.0.1:2380', 'http://[::1]:2380'],
    ],
    ['listen-client-urls', 'http://0.0.0.0:2379', (c) => c.listenClientUrls, ['http://0.0.0.0:2379']],
    ['advertise-client-urls', 'http://node1:2379', (c) => c.advertiseClientUrls, ['http://node1:2379']],
    ['quota-backend-bytes', '1024', (c) => c.backendQuotaBytes, 1024],
    ['max-txn-ops', '512', (c) => c.maxTxnOps, 512],
    ['max-request-bytes', '10485760', (c) => c.maxRequestBytes, 10_485_760],
    [
      'initial-cluster',
      'default=http://localhost:2380,b=http://b:2380',
      (c) => Object.keys(c.initialCluster),
      ['b', 'default'],
    ],
    ['initial-cluster-state', 'existing', (c) => c.initialClusterState, 'existing'],
    ['initial-cluster-token', 'tok', (c) => c.initialClusterToken, 'tok'],
    ['strict-reconfig-check', 'false', (c) => c.strictReconfigCheck, false],
    ['pre-vote', 'true', (c) => c.preVote, true],
    ['log-level', 'debug', (c) => c.logLevel, 'debug'],
  ]

  it('covers every flag of the table', () => {
    const covered = new Set([...cases.map((c) => c[0]), 'initial-advertise-peer-urls'])
    expect(STORE_FLAGS.map((f) => f.name).filter((n) => !covered.has(n))).toEqual([])
  })

  for (const [flag, value, get, expected] of cases) {
    it(`--${flag}`, () => {
      const extra = flag === 'listen-client-urls' ? ['--advertise-client-urls=http://localhost:2379'] : []
      expect(get(ok([`--${flag}=${value}`, ...extra]))).toEqual(expected)
      if (STORE_FLAGS.find((f) => f.name === flag)?.kind === 'bool') {
        // Go's flag package (and so etcd): a boolean flag never takes the next argument.
        expect(err([`--${flag}`, value])).toBe(`'${value}' is not a valid flag`)
        expect(get(ok([`-${flag}=${value}`]))).toEqual(expected)
      } else {
        expect(get(ok([`--${flag}`, value, ...extra]))).toEqual(expected)
        expect(get(ok([`-${flag}`, value, ...extra]))).toEqual(expected)
      }
    })
  }

  it('--initial-advertise-peer-urls with a matching --initial-cluster', () => {
    const c = ok([
      '--initial-advertise-peer-urls',
      'http://10.0.0.1:2380',
      '--initial-cluster=default=http://10.0.0.1:2380',
    ])
    expect(c.peerUrls).toEqual(['http://10.0.0.1:2380'])
  })

  it('boolean flags without a value, the last occurrence wins, and -- ends the flags', () => {
    expect(ok(['--pre-vote']).preVote).toBe(true)
    expect(ok(['--pre-vote', '--pre-vote=false']).preVote).toBe(false)
    expect(ok(['--pre-vote=T', '--']).preVote).toBe(true)
    expect(ok(['--name=a', '--name=b']).name).toBe('b')
  })

  it('a 3-member cluster map with several URLs per member', () => {
    const c = ok([
      ...member,
      '--initial-cluster=n1=http://127.0.1.1:2380,n2=http://127.0.1.2:2380,n2=http://127.0.2.2:2380',
    ])
    expect(c.initialCluster).toEqual({
      n1: ['http://127.0.1.1:2380'],
      n2: ['http://127.0.1.2:2380', 'http://127.0.2.2:2380'],
    })
    expect(c.listenPeerAddresses).toEqual([{ host: '127.0.1.1', port: 2380 }])
  })

  it('--help and --version', () => {
    expect(parseStoreFlags(['--version'], {})).toEqual({
      ok: true,
      exit: 'version',
      output: 'hakube-store version 0.1.0 (etcd API 3.4)\n',
    })
    expect(parseStoreFlags(['-h'], {})).toEqual({ ok: true, exit: 'help', output: storeHelpText() })
    expect(parseStoreFlags(['--help'], {})).toMatchObject({ exit: 'help' })
    expect(parseStoreFlags(['--name=a', '-help', '--bogus'], {})).toMatchObject({ exit: 'help' })
    expect(parseStoreFlags(['--version', '--name', 'x'], {})).toMatchObject({ exit: 'version' })
  })

  it('help lists every flag with its default', () => {
    const help = storeHelpText()
    for (const f of STORE_FLAGS) expect(help).toContain(`--${f.name} '${f.etcdDefault}'\n    ${f.help}`)
    expect(help).toContain('--config-file')
  })
})

describe('errors are one line naming the flag', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown flag', ['--nmae=x'], /^flag provided but not defined: --nmae$/],
    [
      'unsupported etcd flag',
      ['--wal-dir=/x'],
      /--wal-dir is an etcd 3.4 flag that hakube-store does not support/,
    ],
    ['missing argument', ['--name'], /^flag needs an argument: --name$/],
    ['positional argument', ['serve'], /^'serve' is not a valid flag$/],
    ['argument after --', ['--', 'x'], /^'x' is not a valid flag$/],
    [
      'non-numeric',
      ['--heartbeat-interval=abc'],
      /^invalid value "abc" for --heartbeat-interval: expected a non-negative integer$/,
    ],
    ['negative', ['--election-timeout', '-1'], /^invalid value "-1" for --election-timeout/],
    ['negative snapshot-count', ['--snapshot-count=-5'], /--snapshot-count/],
    ['non-numeric quota', ['--quota-backend-bytes=2G'], /--quota-backend-bytes: expected an integer/],
    ['bad boolean', ['--pre-vote=yes'], /--pre-vote: expected true or false/],
    [
      'bad enum',
      ['--log-level=trace'],
      /--log-level: expected one of debug, info, warn, error, panic, fatal/,
    ],
    ['bad state', ['--initial-cluster-state=old'], /--initial-cluster-state/],
    [
      'URL without scheme',
      ['--listen-peer-urls=127.0.0.1:2380'],
      /--listen-peer-urls: URL scheme must be http/,
    ],
    [
      'URL with a path',
      ['--listen-client-urls=http://127.0.0.1:2379/x'],
      /--listen-client-urls: URL must not contain a path/,
    ],
    [
      'URL without a port',
      ['--advertise-client-urls=http://a'],
      /--advertise-client-urls: URL address does not have the form "host:port"/,
    ],
    ['URL with a bad port', ['--advertise-client-urls=http://a:99999'], /--advertise-client-urls: URL port/],
    ['https', ['--listen-client-urls=https://127.0.0.1:2379'], /--listen-client-urls: https needs TLS flags/],
    [
      'listen host not an IP',
      ['--listen-peer-urls=http://foo:2380'],
      /^--listen-peer-urls: expected IP in URL for binding \(http:\/\/foo:2380\)$/,
    ],
    [
      'advertise host empty',
      ['--advertise-client-urls=http://:2379'],
      /^--advertise-client-urls "http:\/\/:2379" must be "host:port"/,
    ],
    ['zero heartbeat', ['--heartbeat-interval=0'], /^--heartbeat-interval must be >0 \(set to 0ms\)$/],
    [
      'election < 5 × heartbeat',
      ['--election-timeout=100'],
      /^--election-timeout\[100ms\] should be at least as 5 times as --heartbeat-interval\[100ms\]$/,
    ],
    [
      'election too long',
      ['--election-timeout=60000', '--heartbeat-interval=1000'],
      /^--election-timeout\[60000ms\] is too long, and should be set less than 50000ms$/,
    ],
    [
      'listen-client-urls without advertise-client-urls',
      ['--listen-client-urls=http://127.0.0.1:2379'],
      /^--advertise-client-urls is required when --listen-client-urls is set explicitly$/,
    ],
    [
      'name missing from initial cluster',
      ['--name=n1', '--initial-cluster=n2=http://localhost:2380'],
      /^couldn't find local name "n1" in the initial cluster configuration \(--name, --initial-cluster\)$/,
    ],
    [
      'initial cluster without =',
      ['--initial-cluster=n1'],
      /--initial-cluster: "n1" is not of the form name=url$/,
    ],
    [
      'initial cluster empty name',
      ['--initial-cluster==http://a:1'],
      /--initial-cluster: .* has an empty member name$/,
    ],
    [
      'initial cluster bad URL',
      ['--initial-cluster=default=localhost:2380'],
      /--initial-cluster: URL scheme must be/,
    ],
    ['empty initial cluster', ['--initial-cluster='], /--initial-cluster: expected name=url/],
    [
      'duplicate names with the same URL',
      ['--initial-cluster=default=http://localhost:2380,default=http://localhost:2380'],
      /^--initial-cluster .* has duplicate url http:\/\/localhost:2380$/,
    ],
    [
      'two names with one URL',
      ['--initial-cluster=default=http://localhost:2380,b=http://localhost:2380'],
      /has duplicate url http:\/\/localhost:2380$/,
    ],
    [
      'initial cluster URL not advertised',
      ['--initial-cluster=default=http://10.0.0.1:2380'],
      /^--initial-cluster has default=http:\/\/10.0.0.1:2380 but missing from --initial-advertise-peer-urls=http:\/\/localhost:2380$/,
    ],
    [
      'advertised URL not in initial cluster',
      ['--initial-advertise-peer-urls=http://localhost:2380,http://127.0.0.1:2380'],
      /^--initial-advertise-peer-urls has http:\/\/127.0.0.1:2380 but missing from --initial-cluster=default=/,
    ],
  ]
  for (const [what, argv, re] of cases) {
    it(what, () => {
      expect(err(argv)).toMatch(re)
    })
  }

  it('an existing-cluster member need not match its advertised URLs, but must be in the map', () => {
    expect(
      ok(['--initial-cluster-state=existing', '--initial-cluster=default=http://10.0.0.1:2380']).name,
    ).toBe('default')
    expect(err(['--initial-cluster-state=existing', '--initial-cluster=x=http://10.0.0.1:2380'])).toMatch(
      /local name/,
    )
  })
})

describe('environment variables', () => {
  it('ETCD_* set flags; a command-line flag wins', () => {
    const env = {
      ETCD_NAME: 'fromenv',
      ETCD_HEARTBEAT_INTERVAL: '50',
      ETCD_INITIAL_CLUSTER_STATE: 'existing',
    }
    const c = ok(['--heartbeat-interval=20'], env)
    expect(c.name).toBe('fromenv')
    expect(c.heartbeatIntervalMs).toBe(20)
    expect(c.initialClusterState).toBe('existing')
    expect(c.warnings).toContain(
      'conflicting environment variable ETCD_HEARTBEAT_INTERVAL is shadowed by corresponding command-line flag',
    )
  })

  it('empty variables are ignored, unknown ones warn', () => {
    const c = ok([], { ETCD_NAME: '', ETCD_NMAE: 'x', PATH: '/bin' })
    expect(c.name).toBe('default')
    expect(c.warnings).toEqual(['unrecognized environment variable ETCD_NMAE'])
  })

  it('a variable of an unsupported etcd flag is an error, ignored with a config file', () => {
    expect(err([], { ETCD_WAL_DIR: '/wal' })).toBe(
      'ETCD_WAL_DIR sets --wal-dir, an etcd 3.4 flag that hakube-store does not support',
    )
    expect(ok(['--config-file', writeYaml('name: a\n')], { ETCD_WAL_DIR: '/wal' }).name).toBe('a')
  })

  it('a bad variable names the variable', () => {
    expect(err([], { ETCD_ELECTION_TIMEOUT: 'x' })).toBe(
      'invalid value "x" for --election-timeout: expected a non-negative integer (from ETCD_ELECTION_TIMEOUT)',
    )
    expect(err([], { ETCD_LISTEN_CLIENT_URLS: 'http://127.0.0.1:2379' })).toMatch(
      /--advertise-client-urls is required .* \(from ETCD_LISTEN_CLIENT_URLS\)$/,
    )
  })
})

/** The seed's etcd-config.yml shape (member n2 of three). */
const yamlConfig = `# etcd configuration, as for a real etcd 3.4
name: n2
data-dir: /var/lib/etcd/n2
initial-advertise-peer-urls: http://127.0.1.2:2380
listen-peer-urls: http://127.0.1.2:2380
listen-client-urls: http://127.0.1.2:2379,http://127.0.0.1:2379
advertise-client-urls: http://127.0.1.2:2379
initial-cluster-token: hakube-etcd
initial-cluster: n1=http://127.0.1.1:2380,n2=http://127.0.1.2:2380,n3=http://127.0.1.3:2380
initial-cluster-state: new
heartbeat-interval: 250
election-timeout: 2500
`
const equivalentFlags = [
  '--name',
  'n2',
  '--data-dir=/var/lib/etcd/n2',
  '--initial-advertise-peer-urls',
  'http://127.0.1.2:2380',
  '--listen-peer-urls=http://127.0.1.2:2380',
  '--listen-client-urls=http://127.0.1.2:2379,http://127.0.0.1:2379',
  '--advertise-client-urls',
  'http://127.0.1.2:2379',
  '--initial-cluster-token=hakube-etcd',
  '--initial-cluster=n1=http://127.0.1.1:2380,n2=http://127.0.1.2:2380,n3=http://127.0.1.3:2380',
  '--initial-cluster-state',
  'new',
  '--heartbeat-interval=250',
  '--election-timeout=2500',
]

describe('config file', () => {
  it('parses to the same config as the equivalent flags', () => {
    const file = writeYaml(yamlConfig)
    const fromFile = ok(['--config-file', file])
    const fromFlags = ok(equivalentFlags)
    expect(fromFile).toEqual({ ...fromFlags, configFile: file })
    expect(fromFile.electionTicks).toBe(10)
    expect(fromFile.listenClientUrls).toEqual(['http://127.0.0.1:2379', 'http://127.0.1.2:2379'])
  })

  it('replaces all other flags and ETCD_* variables (etcd precedence)', () => {
    const file = writeYaml(yamlConfig)
    const c = ok(['--name=other', '--heartbeat-interval=10', `--config-file=${file}`], {
      ETCD_SNAPSHOT_COUNT: '7',
      ETCD_MAX_TXN_OPS: '9',
    })
    expect(c.name).toBe('n2')
    expect(c.heartbeatIntervalMs).toBe(250)
    expect(c.snapshotCount).toBe(100_000)
    expect(c.maxTxnOps).toBe(128)
    expect(c.warnings).toEqual([
      `config file ${file} in use: command-line flags ignored: --name, --heartbeat-interval`,
    ])
  })

  it('ETCD_CONFIG_FILE is used when --config-file is not given; --config-file wins', () => {
    const file = writeYaml(yamlConfig)
    expect(ok([], { ETCD_CONFIG_FILE: file, ETCD_NAME: 'x' }).name).toBe('n2')
    const other = writeYaml('name: solo\n')
    expect(ok(['--config-file', other], { ETCD_CONFIG_FILE: file }).name).toBe('solo')
  })

  it('command-line values are still checked when a config file is used', () => {
    const file = writeYaml(yamlConfig)
    expect(err(['--heartbeat-interval=x', `--config-file=${file}`])).toMatch(
      /^invalid value "x" for --heartbeat-interval/,
    )
  })

  it('keys absent from the file take etcd defaults; listen-client-urls alone keeps the default advertise URL', () => {
    const c = ok(['--config-file', writeYaml('name: solo\nlisten-client-urls: http://127.0.0.1:2379\n')])
    expect(c.initialCluster).toEqual({ solo: ['http://localhost:2380'] })
    expect(c.dataDir).toBe('solo.etcd')
    expect(c.advertiseClientUrls).toEqual(['http://localhost:2379'])
    expect(ok(['--config-file', writeYaml('')]).name).toBe('default')
    expect(ok(['--config-file', writeYaml('name:\n')]).name).toBe('default')
  })

  it('typed YAML values: booleans and numbers', () => {
    const c = ok([
      '--config-file',
      writeYaml('pre-vote: true\nsnapshot-count: 10\nquota-backend-bytes: -1\n'),
    ])
    expect(c.preVote).toBe(true)
    expect(c.snapshotCount).toBe(10)
    expect(c.backendQuotaBytes).toBeNull()
  })

  it('unsupported etcd keys are ignored with a warning', () => {
    const file = writeYaml(`${yamlConfig}enable-v2: false\nwal-dir:\nauto-compaction-retention: "1"\n`)
    const c = ok(['--config-file', file])
    expect(c.warnings).toEqual([
      `config file ${file}: key enable-v2 (an etcd 3.4 setting hakube-store does not support) ignored`,
      `config file ${file}: key auto-compaction-retention (an etcd 3.4 setting hakube-store does not support) ignored`,
    ])
  })

  const fileErrors: [string, string, RegExp][] = [
    ['malformed YAML', 'name: [n1\n', /^--config-file \S+: invalid YAML at line \d+, column \d+: /],
    ['duplicate key', 'name: a\nname: b\n', /^--config-file \S+: invalid YAML.*[Mm]ap keys must be unique/],
    ['not a mapping', '- a\n- b\n', /^--config-file \S+: expected a YAML mapping/],
    ['unknown key', 'heartbeat-intreval: 100\n', /^--config-file \S+: unknown key "heartbeat-intreval"$/],
    ['list value', 'listen-peer-urls: [http://127.0.0.1:2380]\n', /key listen-peer-urls must be a scalar/],
    [
      'fractional number',
      'heartbeat-interval: 1.5\n',
      /^invalid value 1.5 for --heartbeat-interval: .*\(config file \S+\)$/,
    ],
    [
      'string for a string key',
      'name: 12\n',
      /^invalid value 12 for --name: expected a string \(config file/,
    ],
    [
      'cross-field rule',
      'heartbeat-interval: 500\n',
      /^--election-timeout\[1000ms\] should be at least as 5 times as --heartbeat-interval\[500ms\] \(config file/,
    ],
  ]
  for (const [what, text, re] of fileErrors) {
    it(what, () => {
      const file = writeYaml(text)
      const e = err(['--config-file', file])
      expect(e).toMatch(re)
    })
  }

  it('an unreadable file names the file', () => {
    expect(err(['--config-file', join(dir, 'missing.yml')])).toBe(
      `--config-file ${join(dir, 'missing.yml')}: cannot read: ENOENT`,
    )
  })
})
