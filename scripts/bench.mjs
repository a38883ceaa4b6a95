#!/usr/bin/env node
// `npm run bench`: runs every benchmark section and rewrites BENCHMARKS.md with medians and ratios.
// Each section runs its subject and, where one exists, the reference implementation in the same run on
// the same machine, so ratios stay meaningful on noisy machines. Flags: --runs N (default 5),
// --only <section>, --quick (fewer proposals, for a smoke run).
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import os from 'node:os'
import { parseArgs } from 'node:util'
import { runRaftBench } from '@hakube/raft/testing'

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: 'BENCHMARKS.md' },
  },
})
const runs = Number(args.runs)
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`bench: --runs must be a positive integer, got ${args.runs}`)
  process.exit(2)
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}
const fmt = (n) => Math.round(n).toLocaleString('en-US')

/** Section: the Raft core alone, through a 3-member in-process cluster. */
function raftSection() {
  const cases = [
    { proposers: 1, proposals: args.quick ? 5_000 : 50_000 },
    { proposers: 100, proposals: args.quick ? 50_000 : 500_000 },
  ]
  // Warm up the JIT so the first measured run is not penalised.
  runRaftBench({ proposers: 100, proposals: 20_000 })
  const rows = []
  for (const c of cases) {
    const rates = []
    for (let i = 0; i < runs; i++) {
      const r = runRaftBench({ proposers: c.proposers, proposals: c.proposals })
      rates.push(r.perSecond)
      console.log(`raft: ${c.proposers} proposer(s), run ${i + 1}/${runs}: ${fmt(r.perSecond)} committed/s`)
    }
    rows.push({ ...c, median: median(rates), min: Math.min(...rates), max: Math.max(...rates) })
  }
  const lines = [
    '## Raft core (`@hakube/raft`)',
    '',
    'Committed proposals per second through a 3-member in-process cluster: no disk, no sockets, 256-byte',
    'payloads. Every member runs the Ready contract in order (persist to `MemoryStorage`, send, apply,',
    '`advance()`); a proposal counts when the leader has applied it. Each proposer waits for its proposal',
    'before the next; the proposals of idle proposers are batched into one `proposeBatch` per round, as the',
    'store batches client requests. No reference implementation runs in this section: etcd-io/raft is Go',
    "and cannot run in-process here; the store's section (next issue) will compare the store with a real etcd.",
    '',
    `| proposers | proposals per run | median committed/s | min | max |`,
    `|---:|---:|---:|---:|---:|`,
    ...rows.map(
      (r) =>
        `| ${r.proposers} | ${fmt(r.proposals)} | **${fmt(r.median)}** | ${fmt(r.min)} | ${fmt(r.max)} |`,
    ),
    '',
    `Batching gain (100 proposers / 1 proposer, medians): **${(rows[1].median / rows[0].median).toFixed(1)}×**.`,
    '',
  ]
  return lines.join('\n')
}

const sections = { raft: raftSection }
const selected = args.only === undefined ? Object.keys(sections) : [args.only]
for (const name of selected) {
  if (!(name in sections)) {
    console.error(`bench: unknown section ${name}; known: ${Object.keys(sections).join(', ')}`)
    process.exit(2)
  }
}

let commit = 'unknown'
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
} catch {}
const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
const header = [
  '# Benchmarks',
  '',
  'Produced by `npm run bench` (this file is rewritten by it; do not edit by hand). Medians of',
  `${runs} runs; these machines are noisy, so read medians and ratios, not single figures.`,
  '',
  `- date: ${new Date().toISOString().slice(0, 10)}, commit ${commit}`,
  `- machine: ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  `- command: \`npm run bench${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\``,
  '',
].join('\n')
const body = selected.map((name) => sections[name]()).join('\n')
writeFileSync(args.out, `${header}\n${body}`)
console.log(`bench: wrote ${args.out}`)
