import { describe, expect, it } from 'vitest'
import { consoleSteps, extractBlocks } from './extract.js'
import { normalizeOutput } from './normalize.js'

// Goal: the README test compares what a reader can rely on and nothing less. Method: pairs of outputs
// that differ only in what legitimately varies must normalize equal; pairs that differ in anything else
// (a changed line, a value outside a rule's shape, a table without a leader) must not.

const same = (a: string, b: string) => normalizeOutput(a) === normalizeOutput(b)

const status = (leaders: [string, string], size: string, term: string) =>
  [
    '+-----------------+---------------+---------+-----------+-----------+------------+--------+',
    '|    ENDPOINT     |      ID       | DB SIZE | IS LEADER | RAFT TERM | RAFT INDEX | ERRORS |',
    '+-----------------+---------------+---------+-----------+-----------+------------+--------+',
    `| 127.0.1.11:2379 | 26b5bcf905c3e | ${size} | ${leaders[0]} | ${term} | 7 |        |`,
    `| 127.0.1.12:2379 | 151b82150214a | ${size} | ${leaders[1]} | ${term} | 7 |        |`,
    '+-----------------+---------------+---------+-----------+-----------+------------+--------+',
  ].join('\n')

describe('normalizeOutput', () => {
  it('hides ages and cluster IPs in kubectl tables, whatever width they give the columns', () => {
    const a = 'NAME   TYPE        CLUSTER-IP      AGE\nweb    ClusterIP   10.108.183.21   0s'
    const b = 'NAME   TYPE        CLUSTER-IP     AGE\nweb    ClusterIP   10.96.0.7      2m10s'
    expect(same(a, b)).toBe(true)
  })

  it('keeps every other cell, and values outside the rule (an address outside the service range)', () => {
    const a = 'NAME   TYPE        CLUSTER-IP      AGE\nweb    ClusterIP   10.108.183.21   0s'
    expect(same(a, a.replace('web ', 'web2'))).toBe(false)
    expect(same(a, a.replace('ClusterIP', 'NodePort '))).toBe(false)
    expect(same(a, a.replace('10.108.183.21', '192.168.0.1  '))).toBe(false)
    expect(same(a, a.replace('0s', 'soon'))).toBe(false)
  })

  it('hides size, term, index and which member leads in etcdctl tables, but not ids or a missing leader', () => {
    const a = status(['     true', '    false'], '  40 B', '        2')
    expect(same(a, status(['    false', '     true'], ' 1.2 kB', '        3'))).toBe(true)
    expect(same(a, status(['    false', '    false'], '  40 B', '        2'))).toBe(false)
    expect(same(a, status(['     true', '     true'], '  40 B', '        2'))).toBe(false)
    expect(same(a, a.replace('26b5bcf905c3e', '26b5bcf905c3f'))).toBe(false)
  })

  it('fails on a changed, added or missing line anywhere else', () => {
    const a = 'Member    151b82150214a removed from cluster    3ef22ee724f1d'
    expect(same(a, a.replace('3ef22ee724f1d', 'ccef296bfd68d'))).toBe(false)
    expect(same('name\njohn', 'name\njohn\nextra')).toBe(false)
    expect(same('name\njohn', 'name')).toBe(false)
    // Only trailing spaces and trailing blank lines are free.
    expect(same('name  \njohn\n\n', 'name\njohn')).toBe(true)
    expect(same('name\n\njohn', 'name\njohn')).toBe(false)
  })
})

describe('extractBlocks and consoleSteps', () => {
  const md = [
    '```text',
    'a diagram',
    '```',
    '<!-- readme-test: skip (CI runs it) -->',
    '',
    '```sh',
    'npm ci',
    '```',
    '```console',
    '$ echo a \\',
    '    b',
    'a b',
    '$ true',
    '```',
    '```bash',
    'ls',
    '```',
  ].join('\n')

  it('reads each fence with its kind, line and skip reason; an unknown tag has no kind', () => {
    const blocks = extractBlocks(md)
    expect(blocks.map((b) => [b.line, b.info, b.kind, b.skipReason])).toEqual([
      [1, 'text', 'text', undefined],
      [6, 'sh', 'sh', 'CI runs it'],
      [9, 'console', 'console', undefined],
      [15, 'bash', undefined, undefined],
    ])
  })

  it('splits a transcript into commands (with continuation lines) and their expected output', () => {
    const block = extractBlocks(md)[2]
    expect(block === undefined ? [] : consoleSteps(block)).toEqual([
      { command: 'echo a \\\n    b', line: 10, expected: ['a b'] },
      { command: 'true', line: 13, expected: [] },
    ])
  })

  it('refuses a marker it does not understand and an unclosed fence', () => {
    expect(() => extractBlocks('<!-- readme-test: skipp -->\n```sh\nls\n```')).toThrow(
      /unknown readme-test marker/,
    )
    expect(() => extractBlocks('```sh\nls\n')).toThrow(/never closed/)
  })
})
