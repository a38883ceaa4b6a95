/**
 * Goal: generated container logs honour the kubelet's log options (tail, since, timestamps) and end
 * with the exit line once a run ended. Method: fixed runs and clocks.
 */
import { describe, expect, it } from 'vitest'
import { formatLine, type LogRun, linesUntil, parseLogQuery, selectLines } from './container-logs.js'

const T0 = Date.UTC(2026, 11, 7, 17, 0, 0)
const run: LogRun = {
  namespace: 'default',
  pod: 'web',
  container: 'c',
  image: 'nginx',
  node: 'n1',
  restartCount: 0,
  startMs: T0,
  end: undefined,
}

describe('container logs', () => {
  it('one start line, then a line per interval; an ended run ends with its exit code', () => {
    const lines = linesUntil(run, T0 + 10_500, 5000)
    expect(lines.map((l) => l.ms - T0)).toEqual([0, 5000, 10_000])
    expect(lines[0]?.text).toContain('started container c (image nginx) of pod default/web on node n1')
    const ended = linesUntil({ ...run, end: { ms: T0 + 7000, exitCode: 3 } }, T0 + 60_000, 5000)
    expect(ended.map((l) => l.text.slice(0, 40))).toHaveLength(3)
    expect(ended.at(-1)?.text).toBe('hakube-node-sim: container c exited with code 3')
  })

  it('tailLines, sinceSeconds, timestamps', () => {
    const now = T0 + 30_000
    const lines = linesUntil(run, now, 5000)
    const q = parseLogQuery(new URLSearchParams('tailLines=2&timestamps=true'), now)
    if (typeof q === 'string') throw new Error(q)
    const tail = selectLines(lines, q)
    expect(tail.map((l) => formatLine(l, q.timestamps))).toEqual([
      `2026-12-07T17:00:25.000000000Z ${lines[5]?.text}\n`,
      `2026-12-07T17:00:30.000000000Z ${lines[6]?.text}\n`,
    ])
    const since = parseLogQuery(new URLSearchParams('sinceSeconds=12'), now)
    if (typeof since === 'string') throw new Error(since)
    expect(selectLines(lines, since)).toHaveLength(3)
    expect(parseLogQuery(new URLSearchParams('tailLines=x'), now)).toBe('tailLines: invalid value "x"')
  })
})
