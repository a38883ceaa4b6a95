/** Goal: hakube-lb's flags parse with defaults and Go durations; every bad value is one line naming the flag. */
import { availableParallelism } from 'node:os'
import { describe, expect, it } from 'vitest'
import { helpText, parseLbFlags } from './config.js'

describe('parseLbFlags', () => {
  it('fills the defaults', () => {
    const r = parseLbFlags(['--backends', 'http://127.0.0.1:6443,https://10.0.0.2:6443'])
    if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
    expect(r.config).toMatchObject({
      bindAddress: '0.0.0.0',
      port: 6443,
      mode: 'http',
      balance: 'roundrobin',
      healthPath: '/readyz',
      healthIntervalMs: 1000,
      healthTimeoutMs: 1000,
      fall: 2,
      rise: 2,
      statsPort: 0,
      tls: undefined,
      backendCaFile: undefined,
      logLevel: 'info',
      workers: 1,
    })
    expect(r.config.backends.map((u) => u.origin)).toEqual(['http://127.0.0.1:6443', 'https://10.0.0.2:6443'])
    expect(Object.isFrozen(r.config)).toBe(true)
  })

  it('reads every flag', () => {
    const r = parseLbFlags([
      '--bind-address=127.0.1.150',
      '--port=0',
      '--backends=http://a:1',
      '--balance=leastconn',
      '--health-path=/healthz',
      '--health-interval=250ms',
      '--health-timeout=1.5s',
      '--fall=3',
      '--rise=1',
      '--max-connections=5',
      '--connect-timeout=2s',
      '--idle-timeout=1m',
      '--stats-port=9000',
      '--shutdown-grace=0',
      '--tls-cert-file=c',
      '--tls-private-key-file=k',
      '--backend-ca-file=ca',
      '--log-level=debug',
      '--backends-from-endpoints',
    ])
    if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
    expect(r.config).toMatchObject({
      bindAddress: '127.0.1.150',
      port: 0,
      balance: 'leastconn',
      healthPath: '/healthz',
      healthIntervalMs: 250,
      healthTimeoutMs: 1500,
      fall: 3,
      rise: 1,
      maxConnections: 5,
      connectTimeoutMs: 2000,
      idleTimeoutMs: 60_000,
      statsPort: 9000,
      shutdownGraceMs: 0,
      tls: { certFile: 'c', keyFile: 'k' },
      backendCaFile: 'ca',
      logLevel: 'debug',
      backendsFromEndpoints: true,
    })
  })

  it.each([
    [[], '--backends must list at least one api-server'],
    [['--backends=foo'], '--backends: "foo" is not a scheme://host:port URL'],
    [['--backends=ftp://a:1'], '--backends: "ftp://a:1" is not a scheme://host:port URL'],
    [['--backends=http://a:1/api'], '--backends: "http://a:1/api" is not a scheme://host:port URL'],
    [['--backends=http://a:1', '--fall=0'], '--fall must be at least 1'],
    [['--backends=http://a:1', '--rise=0'], '--rise must be at least 1'],
    [['--backends=http://a:1', '--port=70000'], '--port must be between 0 and 65535'],
    [['--backends=http://a:1', '--balance=random'], `--balance: "random" is not 'roundrobin' or 'leastconn'`],
    [['--backends=http://a:1', '--mode=udp'], `--mode: "udp" is not 'http' or 'tcp'`],
    [
      ['--backends=http://a:1', '--bind-address=localhost'],
      '--bind-address: "localhost" is not a valid IP address',
    ],
    [['--backends=http://a:1', '--health-interval=0'], '--health-interval must be greater than 0'],
    [
      ['--backends=http://a:1', '--health-interval=5'],
      'invalid argument "5" for "--health-interval" flag: time: missing unit in duration "5"',
    ],
    [
      ['--backends=http://a:1', '--tls-cert-file=c'],
      '--tls-cert-file and --tls-private-key-file must be given together',
    ],
    [
      ['--backends=http://a:1', '--mode=tcp', '--balance=leastconn'],
      '--mode tcp balances only --balance roundrobin',
    ],
    [
      ['--backends=http://a:1', '--workers=-1'],
      `--workers: "-1" is not 'auto' or a number of processes from 0 to 64`,
    ],
    [
      ['--backends=http://a:1', '--workers=65'],
      `--workers: "65" is not 'auto' or a number of processes from 0 to 64`,
    ],
    [['--backends=http://a:1', '--nope'], 'unknown flag: --nope'],
    [['--backends=http://a:1', 'extra'], 'unexpected argument "extra"'],
  ])('%j fails: %s', (argv, error) => {
    expect(parseLbFlags(argv)).toEqual({ ok: false, error })
  })

  it('takes --workers as a count, 0 and auto meaning one per CPU', () => {
    const workers = (v: string): unknown => {
      const r = parseLbFlags(['--backends=http://a:1', `--workers=${v}`])
      return r.ok && 'config' in r ? r.config.workers : r
    }
    expect(workers('3')).toBe(3)
    expect(workers('0')).toBe(availableParallelism())
    expect(workers('auto')).toBe(availableParallelism())
  })

  it('answers --help and --version', () => {
    const h = parseLbFlags(['--help'])
    expect(h).toMatchObject({ ok: true, exit: 'help' })
    expect(helpText()).toMatch(
      /--health-interval duration +Time between two health checks of a backend\. \(default 1s\)/,
    )
    expect(parseLbFlags(['--version'])).toEqual({ ok: true, exit: 'version', output: 'hakube-lb v0.1.0' })
  })
})
