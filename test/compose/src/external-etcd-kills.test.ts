/**
 * Goal (issue 15, external-etcd in containers): killing one store member costs kubectl reads through
 * the balancer nothing beyond the election window, and killing a master leaves the store untouched.
 *
 * Method: one external-etcd project (3 hakube-store members etcd-1..3, 3 masters, the balancer, 3
 * workers) and a 3-pod deployment; then, in sequence:
 * 1. `docker kill` of the member that leads, while kubectl reads (every 0.5 s) and writes (every 1 s)
 *    run through the balancer without retries: no read sent later than READ_WINDOW_S (10 s) after the
 *    kill fails, writes recover (the first write from which on all worked), the two others elect a
 *    leader in a later term, the workers' kubelets keep the pods Running; `docker start` brings the
 *    member back and all 3 are healthy again.
 * 2. `docker kill` of master-1, while kubectl reads and writes (each retried once, as a client would)
 *    run through the balancer: every member keeps answering with the same leader and term throughout,
 *    and no command fails (after its retry) later than MASTER_WINDOW_S (5 s) after the kill; `docker
 *    start` brings master-1 back behind the balancer.
 * Times come from kubectl's -v=6 request log (probes.ts); each step prints a `[compose]` line.
 */
import { afterAll, beforeAll, expect, test } from 'vitest'
import {
  ComposeProject,
  ensureImages,
  type LbStats,
  type MemberStatus,
  requireDocker,
  run,
  sleep,
} from './compose.js'
import { kubectlProbe, type Probe, probeLoop, reason, recoveredAfter, seconds, timeline } from './probes.js'

const READ_WINDOW_S = Number(process.env['COMPOSE_READ_WINDOW_S'] ?? 10)
const MASTER_WINDOW_S = Number(process.env['COMPOSE_MASTER_WINDOW_S'] ?? 5)

const p = new ComposeProject({
  topology: 'external-etcd',
  name: 'extkill',
  subnet: '172.28.13',
  lbPort: 26_513,
})
const members = [1, 2, 3].map((n) => ({ service: `etcd-${n}`, host: 30 + n }))
const failed = (ps: readonly Probe[]): Probe[] => ps.filter((x) => !x.ok)
const read = (opts: { retries?: 0 | 1 } = {}) =>
  kubectlProbe(p, ['get', 'configmap', 'seed', '-o', 'jsonpath={.data.k}'], {
    ...opts,
    check: (o) => o === 'v',
  })
const write = (name: string, opts: { retries?: 0 | 1 } = {}) =>
  kubectlProbe(p, ['create', 'configmap', name, '--from-literal=k=v'], {
    ...opts,
    // A write cut in flight may have been applied: its retry then finds the configmap there.
    retryAccepts: /AlreadyExists|already exists/,
  })

beforeAll(async () => {
  await requireDocker()
  await ensureImages('external-etcd')
  const ms = await p.up()
  console.log(`[compose] ${p.project}: 3 Ready nodes ${seconds(ms)} after up`)
  // Setup writes retried: on a loaded machine the balancer may take an api-server out for a moment.
  for (const args of [
    ['create', 'configmap', 'seed', '--from-literal=k=v'],
    ['create', 'deployment', 'web', '--image=nginx', '--replicas=3'],
  ])
    await p.waitFor(`kubectl ${args.join(' ')}`, 30_000, async () => {
      const r = await p.kubectl(args)
      return r.code === 0 || /AlreadyExists|already exists/.test(r.stderr)
    })
  await p.waitFor(
    '3 Running pods of web',
    60_000,
    async () => (await p.runningPods('web').catch(() => [])).length === 3,
  )
}, 300_000)

afterAll(async () => {
  const r = await p.down()
  if (r.code !== 0) console.error(`${p.project}: down -v failed: ${r.stderr}`)
}, 120_000)

/** The web pods the workers' kubelets run (their own API, no control plane needed), Running ones. */
async function kubeletWebPods(): Promise<string[]> {
  const all = await Promise.all([1, 2, 3].map((w) => p.kubeletPods(w)))
  return all
    .flat()
    .filter((pod) => pod.name.startsWith('web-') && pod.phase === 'Running')
    .map((pod) => pod.name)
    .sort()
}

/** Each member's own status (undefined: no answer within 3 s), asked at once. */
const storeStatus = (list: readonly { host: number }[]): Promise<(MemberStatus | undefined)[]> =>
  Promise.all(list.map((m) => p.memberStatus(m.host)))

/** Every member answers, all name the same leader in the same term: that leader's id and the term. */
function agreed(st: readonly (MemberStatus | undefined)[]): { leader: string; term: number } | undefined {
  const first = st[0]
  if (first === undefined || first.leader === '' || first.leader === '0') return undefined
  const same = st.every((m) => m?.leader === first.leader && m.raftTerm === first.raftTerm)
  return same ? { leader: first.leader, term: first.raftTerm } : undefined
}

async function membersHealthy(): Promise<boolean> {
  const health = await Promise.all(
    members.map((m) =>
      fetch(`http://${p.address(m.host)}:2379/health`, { signal: AbortSignal.timeout(2_000) }).then(
        (r) => r.ok,
        () => false,
      ),
    ),
  )
  return health.every(Boolean) && agreed(await storeStatus(members)) !== undefined
}

/** Each backend's state and last change (s from t0), and its last check error: for the reports. */
async function lbBackends(t0: number): Promise<string> {
  let st: LbStats
  try {
    st = await p.lbStats()
  } catch (err) {
    return `(balancer stats: ${String(err)})`
  }
  return st.backends
    .map(
      (b) =>
        `${b.url.replace(/^http:\/\/|:6443$/g, '')} ${b.state} since ${!b.lastStateChange ? 'start' : seconds(Date.parse(b.lastStateChange) - t0)}` +
        (b.lastCheckError === null ? '' : ` (${b.lastCheckError})`),
    )
    .join(', ')
}

/** `docker kill` of a service's container; returns when it was sent (the container id looked up first). */
async function kill(service: string): Promise<number> {
  const id = await p.container(service)
  const at = Date.now()
  const r = await run('docker', ['kill', id])
  if (r.code !== 0) throw new Error(`docker kill ${service}: ${r.stderr}`)
  return at
}

test('kill the store leader: reads fail only within the election window, writes recover, a new leader in a later term, pods stay Running', async () => {
  await p.waitFor('3 healthy store members that agree on a leader', 30_000, membersHealthy)
  const before = agreed(await storeStatus(members))!
  const victim = await p.storeLeader(members)
  const survivors = members.filter((m) => m.service !== victim)
  const pods = await kubeletWebPods()
  expect(pods).toHaveLength(3)

  const reads = probeLoop(500, 2, () => read())
  const writes = probeLoop(1_000, 2, (i) => write(`kill1-w-${i}`))
  await sleep(1_500)
  const killedAt = await kill(victim)

  // The survivors' view: a leader among them, in a later term.
  let elected: { at: number; leader: string; term: number } | undefined
  while (elected === undefined && Date.now() - killedAt < 20_000) {
    const st = await storeStatus(survivors)
    const a = agreed(st)
    if (a !== undefined && a.term > before.term && a.leader !== before.leader)
      elected = { at: Date.now(), ...a }
    else await sleep(200)
  }
  // The probes go on until the read window is over, a read sent after it worked, and writes work
  // again (at most 40 s).
  const readsAfterWindow = () =>
    reads.results().filter((x) => x.ok && x.sent > killedAt + READ_WINDOW_S * 1000)
  while (
    Date.now() - killedAt < READ_WINDOW_S * 1000 + 2_000 ||
    (Date.now() - killedAt < 40_000 && readsAfterWindow().length === 0)
  )
    await sleep(250)
  for (let i = 0; Date.now() - killedAt < 40_000; i++) {
    const w = await write(`kill1-check-${i}`)
    if (w.ok) break
    await sleep(500)
  }
  await sleep(2_000)
  const [readProbes, writeProbes] = await Promise.all([reads.stop(), writes.stop()])
  const podsAfter = await kubeletWebPods()
  const backends = await lbBackends(killedAt)

  const failedReads = failed(readProbes).filter((x) => x.sent >= killedAt - 2_000)
  const lastReadFailure = Math.max(0, ...failedReads.map((x) => x.answered - killedAt))
  const late = failedReads.filter((x) => x.sent > killedAt + READ_WINDOW_S * 1000)
  const writesBack = recoveredAfter(writeProbes, killedAt)
  const slowestRead = Math.max(
    ...readProbes.filter((x) => x.sent >= killedAt).map((x) => x.answered - x.sent),
  )
  console.log(
    `[compose] ${p.project}: store leader ${victim} killed (term ${before.term}): new leader among the others in term ` +
      `${elected?.term ?? '-'} seen ${seconds(elected && elected.at - killedAt)} after the kill; ` +
      `${failedReads.length}/${readProbes.length} kubectl reads failed` +
      (failedReads.length === 0 ? '' : `, the last answered ${seconds(lastReadFailure)} after the kill`) +
      ` (${late.length} sent after the ${READ_WINDOW_S} s window), slowest read after the kill ${seconds(slowestRead)}; ` +
      `writes: ${failed(writeProbes).length}/${writeProbes.length} failed, working from ${seconds(writesBack)} after the kill on; ` +
      `kubelets' web pods Running: ${podsAfter.length}\n` +
      `[compose]   balancer's backends (s from the kill): ${backends}\n` +
      `[compose]   reads (sent+duration s from the kill, ! failed): ${timeline(readProbes, killedAt, -2_000, 40_000)}\n` +
      `[compose]   writes: ${timeline(writeProbes, killedAt, -2_000, 40_000)}` +
      failed([...readProbes, ...writeProbes])
        .map((x) => `\n[compose]   failed at ${seconds(x.sent - killedAt)}: ${reason(x)}`)
        .join(''),
  )

  // The member back first (so that a failed check leaves the next step a whole store), then the checks.
  const startedAt = Date.now()
  await p.docker('start', victim)
  const back = await p.waitFor(`${victim} back and 3 healthy members`, 60_000, membersHealthy)
  console.log(
    `[compose] ${p.project}: ${victim} started again: 3 healthy members ${seconds(Date.now() - startedAt)} after docker start (${seconds(back)} waiting)`,
  )
  expect(late.map((x) => `+${seconds(x.sent - killedAt)}: ${x.output}`)).toEqual([])
  expect(readsAfterWindow().length, 'no read sent after the window worked').toBeGreaterThan(0)
  expect(elected, 'no new store leader among the survivors within 20 s').toBeDefined()
  expect(writesBack, timeline(writeProbes, killedAt, -1_000, 40_000)).toBeDefined()
  expect(podsAfter).toEqual(pods)
}, 180_000)

test('kill a master: the store is unaffected (same leader and term), kubectl needs at most one retry', async () => {
  await p.waitFor('3 healthy store members that agree on a leader', 30_000, membersHealthy)
  const before = agreed(await storeStatus(members))!
  const lbBefore = await p.lbStats()

  const reads = probeLoop(500, 2, () => read({ retries: 1 }))
  const writes = probeLoop(1_000, 2, (i) => write(`kill2-w-${i}`, { retries: 1 }))
  await sleep(1_500)
  const killedAt = await kill('master-1')
  // kubectl works past the window (not merely: nothing was tried there).
  const afterWindow = (ps: readonly Probe[]) =>
    ps.filter((x) => x.ok && x.sent > killedAt + MASTER_WINDOW_S * 1000)
  // The store, as its members see it, every ~0.5 s for 8 s, and until reads and writes sent after the
  // window have worked (at most 30 s: kubectl is slow on a loaded machine).
  const samples: (MemberStatus | undefined)[][] = []
  while (
    Date.now() - killedAt < 8_000 ||
    (Date.now() - killedAt < 30_000 &&
      (afterWindow(reads.results()).length < 2 || afterWindow(writes.results()).length < 1))
  ) {
    samples.push(await storeStatus(members))
    await sleep(500)
  }
  const [readProbes, writeProbes] = await Promise.all([reads.stop(), writes.stop()])
  const lbAfter = await p.lbStats()

  const all = [...readProbes, ...writeProbes].filter((x) => x.sent >= killedAt - 2_000)
  const retried = all.filter((x) => x.attempts > 1)
  const failures = failed(all)
  const late = failures.filter((x) => x.sent > killedAt + MASTER_WINDOW_S * 1000)
  const changed = samples.filter((st) => {
    const a = agreed(st)
    return a?.leader !== before.leader || a.term !== before.term
  })
  const master1 = lbAfter.backends.find((b) => b.url.includes(`${p.address(11)}:`))
  console.log(
    `[compose] ${p.project}: master-1 killed: store leader and term (${before.term}) unchanged in ${samples.length - changed.length}/${samples.length} ` +
      `samples of all 3 members over ${seconds(Date.now() - killedAt)}; kubectl through the balancer: ${readProbes.length} reads and ${writeProbes.length} writes, ` +
      `${retried.length} needed a retry, ${failures.length} failed after it (${late.length} sent later than ${MASTER_WINDOW_S} s after the kill); ` +
      `balancer retries ${(lbAfter.counters['retries'] ?? 0) - (lbBefore.counters['retries'] ?? 0)}, master-1's backend ${master1?.state ?? '?'}\n` +
      `[compose]   balancer's backends (s from the kill): ${await lbBackends(killedAt)}\n` +
      `[compose]   reads (sent+duration s from the kill, r retried, ! failed): ${timeline(readProbes, killedAt, -2_000, 30_000)}\n` +
      `[compose]   writes: ${timeline(writeProbes, killedAt, -2_000, 30_000)}` +
      all
        .filter((x) => x.attempts > 1 || !x.ok)
        .map(
          (x) =>
            `\n[compose]   ${x.ok ? 'retried' : 'failed'} at ${seconds(x.sent - killedAt)}: ${reason(x)}`,
        )
        .join(''),
  )
  expect(changed).toEqual([])
  expect(late.map((x) => `+${seconds(x.sent - killedAt)}: ${x.output}`)).toEqual([])
  expect(afterWindow(readProbes).length, 'no read sent after the window').toBeGreaterThan(0)
  expect(afterWindow(writeProbes).length, 'no write sent after the window').toBeGreaterThan(0)
  expect(await p.running('master-1')).toBe(false)

  const startedAt = Date.now()
  await p.docker('start', 'master-1')
  await p.waitFor('master-1 up behind the balancer', 90_000, async () => {
    const b = (await p.lbStats().catch(() => undefined))?.backends.find((x) =>
      x.url.includes(`${p.address(11)}:`),
    )
    return b?.state === 'up'
  })
  console.log(
    `[compose] ${p.project}: master-1 started again: up behind the balancer ${seconds(Date.now() - startedAt)} after docker start`,
  )
  expect(agreed(await storeStatus(members))).toEqual(before)
}, 180_000)
