/**
 * Goal: command lines parse as pflag parses them for the Kubernetes binaries, with pflag's error texts,
 * and Go durations read and print as Go's time package does.
 */
import { describe, expect, it } from 'vitest'
import { formatGoDuration, parseGoDuration } from './go-duration.js'
import { flag, flagUsages, parseFlags } from './pflag.js'

const defs = {
  servers: flag({ name: 'etcd-servers', type: 'stringSlice', default: [], usage: 'List of etcd servers.' }),
  port: flag({ name: 'secure-port', type: 'int', default: 6443, usage: 'The port.' }),
  elect: flag({ name: 'leader-elect', type: 'bool', default: true, usage: 'Elect a leader.' }),
  timeout: flag({ name: 'request-timeout', type: 'duration', default: 60_000, usage: 'A timeout.' }),
  bind: flag({ name: 'bind-address', type: 'string', default: '0.0.0.0', usage: 'The address.' }),
  v: flag({ name: 'v', shorthand: 'v', type: 'int', default: 0, usage: 'Log level.' }),
}

describe('parseFlags', () => {
  it('reads --a=b, --a b, booleans, shorthands, slices and positional arguments', () => {
    const r = parseFlags(defs, [
      '--etcd-servers=http://a:2379,http://b:2379',
      '--etcd-servers',
      'http://c:2379',
      '--secure-port',
      '7443',
      '--leader-elect=false',
      '--request-timeout=1m30s',
      '-v=4',
      'extra',
      '--',
      '--not-a-flag',
    ])
    if (!r.ok || r.help) throw new Error(JSON.stringify(r))
    expect(r.values).toEqual({
      servers: ['http://a:2379', 'http://b:2379', 'http://c:2379'],
      port: 7443,
      elect: false,
      timeout: 90_000,
      bind: '0.0.0.0',
      v: 4,
    })
    expect([...r.set].sort()).toEqual(['elect', 'port', 'servers', 'timeout', 'v'])
    expect(r.args).toEqual(['extra', '--not-a-flag'])
  })

  it('keeps defaults, and a bare boolean means true', () => {
    const r = parseFlags(defs, ['--leader-elect'])
    expect(r.ok && !r.help && r.values).toMatchObject({ port: 6443, elect: true, timeout: 60_000 })
  })

  it.each([
    [
      ['--secure-port=abc'],
      'invalid argument "abc" for "--secure-port" flag: strconv.ParseInt: parsing "abc": invalid syntax',
    ],
    [
      ['--leader-elect=maybe'],
      'invalid argument "maybe" for "--leader-elect" flag: strconv.ParseBool: parsing "maybe": invalid syntax',
    ],
    [
      ['--request-timeout=5x'],
      'invalid argument "5x" for "--request-timeout" flag: time: unknown unit "x" in duration "5x"',
    ],
    [
      ['--request-timeout=10'],
      'invalid argument "10" for "--request-timeout" flag: time: missing unit in duration "10"',
    ],
    [['--secure-port'], 'flag needs an argument: --secure-port'],
    [['--nope=1'], 'unknown flag: --nope'],
    [['-x'], "unknown shorthand flag: 'x' in -x"],
  ])("%j fails with pflag's text", (argv, error) => {
    expect(parseFlags(defs, argv)).toEqual({ ok: false, error })
  })

  it('recognises --help and -h', () => {
    expect(parseFlags(defs, ['--help'])).toEqual({ ok: true, help: true })
    expect(parseFlags(defs, ['-h'])).toEqual({ ok: true, help: true })
  })

  it('prints usages sorted, with types and non-zero defaults', () => {
    const u = flagUsages(defs).split('\n')
    expect(u[0]).toMatch(/^ {6}--bind-address string +The address\. \(default "0\.0\.0\.0"\)$/)
    expect(u.find((l) => l.includes('--request-timeout'))).toMatch(
      /--request-timeout duration +A timeout\. \(default 1m0s\)$/,
    )
    expect(u.find((l) => l.includes('--v '))).toMatch(/^ {2}-v, --v int +Log level\.$/)
  })
})

describe('Go durations', () => {
  it.each([
    ['0', 0],
    ['300ms', 300],
    ['1.5s', 1500],
    ['1m0s', 60_000],
    ['1h2m3s', 3_723_000],
    ['-2s', -2000],
    ['500us', 0.5],
  ])('parses %s', (text, ms) => {
    expect(parseGoDuration(text)).toBe(ms)
  })
  it.each([
    ['', 'time: invalid duration ""'],
    ['abc', 'time: invalid duration "abc"'],
    ['.s', 'time: invalid duration ".s"'],
  ])('refuses %j', (text, msg) => {
    expect(() => parseGoDuration(text)).toThrow(msg)
  })
  it.each([
    [0, '0s'],
    [300, '300ms'],
    [1500, '1.5s'],
    [60_000, '1m0s'],
    [15_000, '15s'],
    [3_723_000, '1h2m3s'],
  ])('formats %d ms as %s', (ms, text) => {
    expect(formatGoDuration(ms)).toBe(text)
  })
})
