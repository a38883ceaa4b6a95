#!/usr/bin/env node
// `npm run bench`: runs every benchmark section and rewrites BENCHMARKS.md with medians and ratios.
// Each section runs its subject and, where one exists, the reference implementation in the same run on
// the same machine, so ratios stay meaningful on noisy machines. Flags: --runs N (default 5),
// --only <section> (the other sections of an existing BENCHMARKS.md are kept as they were), --quick
// (fewer proposals and requests, for a smoke run), --keep-logs (section lb: keep its processes' logs).
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { parseArgs } from 'node:util'
import { runRaftBench } from '@hakube/raft/testing'
import { APISERVER_CASES, benchApiServer } from '../test/bench/apiserver-bench.mjs'
import { benchLoadBalancers, CHECKS } from '../test/bench/lb-bench.mjs'
import { nodeSimSection } from '../test/bench/node-sim-bench.mjs'
import { schedulerSection } from '../test/bench/scheduler-bench.mjs'
import { startupSection } from '../test/bench/startup-bench.mjs'
import {
  benchGrpcFloor,
  benchStoreCluster,
  IMPLEMENTATIONS,
  STORE_CASES,
} from '../test/bench/store-bench.mjs'

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: 'BENCHMARKS.md' },
    'keep-logs': { type: 'boolean', default: false },
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
    "and cannot run in-process here; the store's section compares the store with a real etcd.",
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

const ms = (n) => n.toFixed(2)
const ratio = (a, b) => `${(a / b).toFixed(2)}×`

/** The grpc-js floor table: a server that answers Put at once, against the two stores. */
function floorLines(floor, rows) {
  const out = [
    'The grpc-js floor: the same client and loads against a grpc-js server on the same protos that answers',
    'every Put at once (no Raft, no disk, no peers; `test/bench/grpc-floor-server.mjs`, one process on',
    '127.0.1.49). It bounds any store whose client API is grpc-js, as the design requires: its CPU per',
    "request is set against etcd's whole leader.",
    '',
    '| operation | clients | floor req/s | floor p50 ms | floor server µs/req | etcd leader µs/req | hakube leader µs/req |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ]
  for (const r of rows.filter((x) => x.op === 'put')) {
    const f = floor[`${r.op}/${r.clients}`]
    const m = (field) => median(f.map((x) => x[field]))
    out.push(
      `| put | ${r.clients} | ${fmt(m('perSecond'))} | ${ms(m('p50'))} | **${fmt(m('cpuServerUs'))}** | ` +
        `${fmt(r.m.etcd.cpuLeader)} | ${fmt(r.m.hakube.cpuLeader)} |`,
    )
  }
  out.push('')
  return out
}

/** Section: hakube-store against a real etcd 3.4, both 3-member process clusters on loopback. */
async function storeSection() {
  const perImpl = {}
  for (const impl of Object.keys(IMPLEMENTATIONS)) {
    perImpl[impl] = await benchStoreCluster(impl, { runs, quick: args.quick })
  }
  const floor = await benchGrpcFloor({ runs, quick: args.quick })
  const cases = STORE_CASES(args.quick)
  const med = (impl, key, field) => median(perImpl[impl].results[key].map((r) => r[field]))
  const rows = []
  for (const c of cases) {
    const key = `${c.op}/${c.clients}`
    const m = {}
    for (const impl of Object.keys(IMPLEMENTATIONS)) {
      m[impl] = {
        rate: med(impl, key, 'perSecond'),
        p50: med(impl, key, 'p50'),
        p99: med(impl, key, 'p99'),
        cpuLeader: med(impl, key, 'cpuLeaderUs'),
        cpuFollowers: med(impl, key, 'cpuFollowersUs'),
        cpuClient: med(impl, key, 'cpuClientUs'),
      }
    }
    rows.push({ ...c, m })
  }
  const opName = { put: 'put', range: 'range (linearizable)' }
  const lines = [
    '## Store (`hakube-store` vs etcd 3.4)',
    '',
    'Two real 3-member clusters on this machine, one after the other, started as processes with the same',
    'etcd flags and default timing (heartbeat 100 ms, election 1000 ms): hakube-store on 127.0.1.31-33 and',
    "Debian's etcd 3.4.23 on 127.0.1.41-43, ports 2379/2380, fresh temporary data dirs. One gRPC client",
    "(grpc-js over hakube's etcd v3 protos, one HTTP/2 connection, as `benchmark --conns=1`) talks to the",
    'leader found through `Maintenance.Status`. Each case is a closed loop: every client waits for its answer',
    "before the next request. Puts use sequential 8-byte keys and 256-byte values (etcd's `benchmark put",
    '--sequential-keys`); ranges read one key with `serializable: false` (a linearizable read through the',
    'leader). Each cluster is warmed up with 3,000 puts and 3,000 ranges (32 clients) first. Latency is',
    `measured per request by the client. Medians of ${runs} run${runs === 1 ? '' : 's'} per case` +
      (runs === 1 ? ' (a single run: read the figures as indicative only).' : '.'),
    '',
    '| operation | clients | requests | hakube req/s | etcd req/s | hakube/etcd req/s | hakube p50 ms | etcd p50 ms | hakube/etcd p50 | hakube p99 ms | etcd p99 ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${opName[r.op]} | ${r.clients} | ${fmt(r.requests)} | **${fmt(r.m.hakube.rate)}** | ${fmt(r.m.etcd.rate)} | ` +
        `**${ratio(r.m.hakube.rate, r.m.etcd.rate)}** | ${ms(r.m.hakube.p50)} | ${ms(r.m.etcd.p50)} | ` +
        `**${ratio(r.m.hakube.p50, r.m.etcd.p50)}** | ${ms(r.m.hakube.p99)} | ${ms(r.m.etcd.p99)} |`,
    ),
    '',
    'A throughput ratio below 1× or a p50 ratio above 1× means hakube-store is slower than etcd.',
    '',
    ...floorLines(floor, rows),
    'CPU time per request (user + system, from /proc, medians): where each implementation spends the',
    "machine's cores. The client is the same program for both; the three servers and the client share",
    'the cores, so CPU per request bounds throughput once the machine is saturated.',
    '',
    '| operation | clients | hakube leader µs | etcd leader µs | hakube/etcd | hakube followers µs (both) | etcd followers µs (both) | hakube/etcd | client µs (hakube run / etcd run) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${opName[r.op]} | ${r.clients} | ${fmt(r.m.hakube.cpuLeader)} | ${fmt(r.m.etcd.cpuLeader)} | ` +
        `**${ratio(r.m.hakube.cpuLeader, r.m.etcd.cpuLeader)}** | ${fmt(r.m.hakube.cpuFollowers)} | ` +
        `${fmt(r.m.etcd.cpuFollowers)} | **${ratio(r.m.hakube.cpuFollowers, r.m.etcd.cpuFollowers)}** | ` +
        `${fmt(r.m.hakube.cpuClient)} / ${fmt(r.m.etcd.cpuClient)} |`,
    ),
    '',
  ]
  return lines.join('\n')
}

/** Section: hakube-apiserver (etcd3 backend) over a 3-member hakube-store, against the Kubernetes SLOs. */
async function apiserverSection() {
  const { stored, results } = await benchApiServer({ runs, quick: args.quick })
  const cases = APISERVER_CASES(args.quick)
  const MUTATION = { limitMs: 1_000, label: '≤ 1 s (mutating call, single object)' }
  const READ = { limitMs: 1_000, label: '≤ 1 s (read, scope=resource)' }
  const rows = [
    ['create pod', 1, 'create1', 'req/s', MUTATION],
    ['create pod', 32, 'create32', 'req/s', MUTATION],
    ['get pod', 1, 'get1', 'req/s', READ],
    ['get pod', 32, 'get32', 'req/s', READ],
    [
      `list pods in the namespace (${fmt(stored)} items)`,
      1,
      'listNamespace',
      'lists/s',
      {
        limitMs: 5_000,
        label: '≤ 5 s (read, scope=namespace)',
      },
    ],
    [
      `list pods, all namespaces (${fmt(stored)} items)`,
      1,
      'listCluster',
      'lists/s',
      {
        limitMs: 30_000,
        label: '≤ 30 s (read, scope=cluster)',
      },
    ],
    ['watch: create → ADDED delay, one create at a time', 1, 'watchDelay', 'events/s', undefined],
    ['watch: create → ADDED delay, events/s while creating', 32, 'watchThroughput', 'events/s', undefined],
  ]
    .filter(([, , key]) => results[key].length > 0)
    .map(([op, clients, key, unit, slo]) => {
      const rs = results[key]
      const worst = Math.max(...rs.map((r) => r.p99))
      const verdict =
        slo === undefined
          ? 'no SLO (streaming)'
          : `${slo.label}: **${worst <= slo.limitMs ? 'PASS' : 'FAIL'}**`
      return (
        `| ${op} | ${clients} | ${fmt(median(rs.map((r) => r.count)))} | **${fmt(median(rs.map((r) => r.perSecond)))}** ${unit} | ` +
        `${ms(median(rs.map((r) => r.p50)))} | ${ms(median(rs.map((r) => r.p99)))} | ${ms(worst)} | ${verdict} |`
      )
    })
  const lines = [
    '## API server (`hakube-apiserver`, etcd3 backend, 3-member hakube-store)',
    '',
    'One hakube-apiserver process on 127.0.1.220:6443 with `--storage-backend=etcd3` and `--etcd-servers`',
    'listing the three members of a real hakube-store cluster (processes on 127.0.1.221-223, heartbeat',
    '100 ms, election 1000 ms, fresh data dirs). The client is one undici keep-alive pool (up to 64',
    'connections) over plain HTTP; every case is a closed loop (each client waits for its answer before',
    `the next request) and latency is measured per request by the client. Pods have one container,`,
    `labels and resource requests; the server adds its defaults. Creates (${fmt(cases.create1)} with 1 client,`,
    `${fmt(cases.create32)} with 32 clients, per run) fill namespace \`bench\`, and unmeasured creates fill it up to`,
    `${fmt(stored)} pods before the reads. Gets read a pseudo-random stored pod. Lists read every pod, without`,
    `\`limit\` and without \`resourceVersion\` (a quorum read): ${cases.lists} per run. Watches: a watch is open on`,
    '`bench-watch` from its current resourceVersion; the delay runs from sending a create to its ADDED',
    `event arriving (${fmt(cases.watchDelay)} creates one after the other; then ${fmt(cases.watchThroughput)} by 32 clients, whose`,
    'events/s is the count over the time from the first create to the last ADDED event); the namespace is',
    'emptied after each run. Warm-up: 32 clients create and read back pods in `bench-watch` first.',
    `Medians of ${runs} run${runs === 1 ? '' : 's'} per case` +
      (runs === 1 ? ' (a single run: read the figures as indicative only).' : '.'),
    '',
    'SLO: the Kubernetes SIG Scalability SLOs (p99 ≤ 1 s for mutating calls on single objects and for',
    'single-object reads; ≤ 5 s for namespace-scoped and ≤ 30 s for cluster-scoped lists). They are',
    'defined per cluster-day at a churn of at most 20 objects/s, far below the load here; the verdict',
    "applies the limit to the worst run's p99. Watch (streaming) calls have no latency SLO.",
    '',
    '| operation | clients | requests per run | median throughput | p50 ms | p99 ms | worst-run p99 ms | Kubernetes SLO (p99) |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
    ...rows,
    '',
  ]
  return lines.join('\n')
}

/** Section: hakube-lb against HAProxy in front of the same three api-servers, alternating. */
async function lbSection() {
  const {
    versions,
    cases,
    results,
    failover,
    restCpuMsPerSecond: rest,
  } = await benchLoadBalancers({
    runs,
    quick: args.quick,
    keepLogs: args['keep-logs'],
  })
  const m = (rs, field) => median(rs.map((r) => r[field]))
  const opName = {
    get: 'GET one pod',
    list: `LIST ${fmt(cases.pods)} pods`,
  }
  const rows = cases.throughput.map((c) => {
    const h = results[c.key].hakube
    const x = results[c.key].haproxy
    return {
      ...c,
      h: { rate: m(h, 'perSecond'), p50: m(h, 'p50'), p99: m(h, 'p99'), cpu: m(h, 'cpuUsPerRequest') },
      x: { rate: m(x, 'perSecond'), p50: m(x, 'p50'), p99: m(x, 'p99'), cpu: m(x, 'cpuUsPerRequest') },
      errors: [h, x].map((rs) => rs.reduce((a, r) => a + r.statusErrors + r.socketErrors, 0)),
    }
  })
  const label = (r) => `${r.mode} | ${opName[r.op]} | ${r.conns}`
  // A case where one proxy answered nothing (every backend out of rotation the whole time) has no ratio.
  const ratio = (a, b) => (a > 0 && b > 0 ? `${(a / b).toFixed(2)}×` : '—')
  const httpRatios = rows
    .filter((r) => r.mode === 'http')
    .map((r) => (r.x.rate > 0 ? r.h.rate / r.x.rate : 1))
  const worstRatio = Math.min(...httpRatios)
  const errorsOf = (r) => r.statusErrors + r.socketErrors
  const fo = (name) => {
    const rs = failover[name]
    const detected = rs.filter((r) => r.detectMs !== undefined)
    const up = rs.filter((r) => r.upMs !== undefined)
    return {
      total: rs.reduce((a, r) => a + errorsOf(r), 0),
      perRun: rs.map(errorsOf),
      status: rs.reduce((a, r) => a + r.statusErrors, 0),
      socket: rs.reduce((a, r) => a + r.socketErrors, 0),
      requests: m(rs, 'requests'),
      detect: detected.length === 0 ? undefined : m(detected, 'detectMs'),
      detectMax: detected.length === 0 ? undefined : Math.max(...detected.map((r) => r.detectMs)),
      missed: rs.length - detected.length,
      up: up.length === 0 ? undefined : m(up, 'upMs'),
      max: m(rs, 'max'),
    }
  }
  const fh = fo('hakube')
  const fx = fo('haproxy')
  const optMs = (v) => (v === undefined ? 'never' : fmt(v))
  const foRow = (name, f) =>
    `| ${name} | **${f.total}** (${f.perRun.join(', ')}) | ${f.status} | ${f.socket} | ${fmt(f.requests)} | ` +
    `**${optMs(f.detect)}** | ${optMs(f.detectMax)}${f.missed > 0 ? ` (${f.missed} run(s) not seen down)` : ''} | ` +
    `${optMs(f.up)} | ${fmt(f.max)} |`
  const plural = runs === 1 ? '' : 's'
  const lines = [
    '## Load balancer (`hakube-lb` vs HAProxy)',
    '',
    'Both proxies run at once in front of the same three hakube-apiserver processes (etcd3 backend,',
    `127.0.1.224-226:6443) over a real 3-member hakube-store (127.0.1.216-218, heartbeat 100 ms, election`,
    `1000 ms), in one run: hakube-lb on 127.0.1.227 (\`--mode http\` on 6443 and a second process with`,
    `\`--mode tcp\` on 6444) and ${versions.haproxy.replace(/ - https.*/, '')} (Debian's package, ${versions.threads} threads, its`,
    'default) on 127.0.1.228 with an http frontend on 6443 and a tcp one on 6444. HAProxy is configured as',
    "kubeadm's HA guide does (`retries 1`, `option redispatch`, `option httpchk`, `http-check expect",
    "status 200`, `balance roundrobin`, servers with `check`) and with hakube-lb's settings where the two",
    `must agree: \`GET /readyz\` every ${CHECKS.intervalS} s with a ${CHECKS.timeoutS} s timeout, fall ${CHECKS.fall}, rise ${CHECKS.rise}, connect timeout`,
    `${CHECKS.connectS} s, idle timeouts ${CHECKS.idleS} s; hakube-lb runs with \`--balance roundrobin --health-interval ${CHECKS.intervalS}s`,
    `--fall ${CHECKS.fall} --rise ${CHECKS.rise}\`. The load generator is ${versions.wrk} (one thread, keep-alive connections,`,
    `closed loop), ${cases.seconds} s per case; each case runs on one proxy and then on the other, the order swapped`,
    `every run. GET reads one pod; LIST reads the namespace's ${fmt(cases.pods)} pods (a quorum read each time). The`,
    "proxy's CPU per request is its user + system time from /proc over the case divided by the requests",
    `(HAProxy's one process holds both its frontends). Medians of ${runs} run${plural}` +
      (runs === 1 ? ' (a single run: read the figures as indicative only).' : '.'),
    '',
    '| mode | request | connections | hakube-lb req/s | HAProxy req/s | hakube/HAProxy req/s | hakube-lb p50 ms | HAProxy p50 ms | hakube/HAProxy p50 | hakube-lb p99 ms | HAProxy p99 ms | hakube/HAProxy p99 | errors, all runs (hakube-lb / HAProxy) |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${label(r)} | **${fmt(r.h.rate)}** | ${fmt(r.x.rate)} | **${ratio(r.h.rate, r.x.rate)}** | ` +
        `${ms(r.h.p50)} | ${ms(r.x.p50)} | **${ratio(r.h.p50, r.x.p50)}** | ${ms(r.h.p99)} | ${ms(r.x.p99)} | ` +
        `${ratio(r.h.p99, r.x.p99)} | ${r.errors[0]} / ${r.errors[1]} |`,
    ),
    '',
    'Req/s counts answered requests only (a status above 399 is not throughput). The errors column counts',
    'error answers and socket errors with every api-server running: on a loaded machine a `/readyz` check can',
    'take longer than its 1 s timeout, and a proxy then takes a live api-server out of rotation for a while;',
    "with all three out, HAProxy answers 503 to everything, while hakube-lb's http mode keeps sending requests",
    'to those still answering others. In tcp mode hakube-lb takes a check timeout for a hung backend and',
    'cuts its connections (the socket errors of the tcp row).',
    '',
    `Goal (at least 0.8× HAProxy's throughput in http mode): worst http ratio **${worstRatio.toFixed(2)}×**, ` +
      `**${worstRatio >= 0.8 ? 'MET' : 'NOT MET'}**. The api-servers, the store and both proxies share the`,
    "machine's two cores, so the proxy's own cost shows in throughput only as far as it takes CPU from the",
    'api-servers; the CPU per request below is the direct measure of it.',
    '',
    '| mode | request | connections | hakube-lb CPU µs/req | HAProxy CPU µs/req | hakube/HAProxy |',
    '|---|---|---:|---:|---:|---:|',
    ...rows.map(
      (r) => `| ${label(r)} | ${fmt(r.h.cpu)} | ${fmt(r.x.cpu)} | **${ratio(r.h.cpu, r.x.cpu)}** |`,
    ),
    '',
    `At rest (health checks only, ${cases.seconds} s before the runs), CPU per second: hakube-lb ${rest.hakube.toFixed(1)} ms`,
    `(http process), ${rest.hakubeTcp.toFixed(1)} ms (tcp process); HAProxy ${rest.haproxy.toFixed(1)} ms (one process, both`,
    'frontends). Where the api-servers manage only a few requests per second, this share dominates the CPU',
    'per request above.',
    '',
    `Failover (http mode): ${cases.failoverConns} keep-alive connections send GETs of one pod for ${cases.failoverSeconds} s; ${(cases.killAtMs / 1000).toFixed(0)} s in, one`,
    'api-server gets SIGKILL (the same one under both proxies in a run, another one each run). Client-visible',
    "errors are wrk's error answers (status above 399, e.g. HAProxy's 502/503) plus its socket errors",
    '(connections cut, reads that found the connection closed, timeouts). Time to mark down runs from the',
    "SIGKILL to the proxy's own view showing the server down (hakube-lb's `/stats` JSON, HAProxy's `show",
    'stat` on its stats socket, each polled every 10 ms). The api-server is then restarted; back up is the',
    "time from its `/readyz` answering 200 to the proxy showing it up (rise × interval at most, plus a check's",
    'phase). Max latency is the slowest request of the run (median over runs).',
    '',
    `| proxy | client-visible errors, all ${runs} run${plural} (per run) | error answers | socket errors | requests per run | time to mark down ms (median) | worst ms | back up after ready ms | max latency ms |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    foRow('hakube-lb', fh),
    foRow('HAProxy', fx),
    '',
    `Goal (strictly fewer client-visible errors than HAProxy on failover): ${fh.total} against ${fx.total}, ` +
      `**${fh.total < fx.total ? 'MET' : 'NOT MET'}**.`,
    '',
  ]
  return lines.join('\n')
}

const sections = { raft: raftSection, store: storeSection, apiserver: apiserverSection, lb: lbSection }
/** The `## ` heading each section's text starts with (to find it again in an existing BENCHMARKS.md). */
const headings = {
  raft: '## Raft core',
  store: '## Store',
  apiserver: '## API server',
  lb: '## Load balancer',
}
// Section: each binary's time from spawn to serving, against etcd's (test/bench/startup-bench.mjs).
sections.startup = () => startupSection({ runs })
headings.startup = '## Start-up'
// Section: one hakube-node-sim with 5,000 nodes (test/bench/node-sim-bench.mjs).
sections['node-sim'] = () => nodeSimSection({ runs, quick: args.quick })
headings['node-sim'] = '## Node simulator'
// Section: hakube-scheduler's pods/s bound with 1,000 nodes, memory and etcd3 (test/bench/scheduler-bench.mjs).
sections.scheduler = () => schedulerSection({ runs, quick: args.quick })
headings.scheduler = '## Scheduler'
// Section: a Deployment of 1,000 replicas on 100 simulated nodes through the whole control plane, memory
// and etcd3 (test/bench/controller-manager-bench.mjs).
sections['controller-manager'] = async () =>
  (await import('../test/bench/controller-manager-bench.mjs')).controllerManagerSection({
    runs,
    quick: args.quick,
  })
headings['controller-manager'] = '## Controller manager'
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
  `${runs} run${runs === 1 ? '' : 's'}; these machines are noisy, so read medians and ratios, not single figures.`,
  '',
  `- date: ${new Date().toISOString().slice(0, 10)}, commit ${commit}`,
  `- machine: ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  `- command: \`npm run bench${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\``,
  '',
].join('\n')
const fresh = {}
for (const name of selected) fresh[name] = await sections[name]()

// With --only, keep the text of every other section from the existing file (split at `## ` headings).
const previous = []
if (args.only !== undefined && existsSync(args.out)) {
  const text = readFileSync(args.out, 'utf8')
  const parts = text.split(/^(?=## )/m).slice(1)
  for (const part of parts) {
    const name = Object.keys(headings).find((n) => part.startsWith(headings[n]))
    previous.push({ name, text: `${part.trimEnd()}\n` })
  }
}
const body = []
for (const name of Object.keys(sections)) {
  if (name in fresh) body.push(fresh[name])
  else {
    const old = previous.find((p) => p.name === name)
    if (old !== undefined) body.push(old.text)
  }
}
// Sections of the old file this script no longer knows: kept at the end, untouched.
for (const p of previous) if (p.name === undefined) body.push(p.text)
const partial =
  args.only === undefined
    ? ''
    : `\nOnly the \`${args.only}\` section was rerun by the command above; the other sections are kept from earlier runs.\n`
writeFileSync(args.out, `${header}${partial}\n${body.join('\n')}`)
console.log(`bench: wrote ${args.out}`)
