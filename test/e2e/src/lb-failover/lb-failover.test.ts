import { sleep, waitFor } from '@hakube/store/testing'
import { Agent } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, isFailureStatus, MixedLoad, type Outcome, openMapped, seeded, Watcher } from './client.js'
import { FailoverCluster } from './cluster.js'

// Goal (issue 11, Done when): hakube-lb hides an api-server's failure from clients. With three
// api-servers on a 3-member hakube-store behind hakube-lb (health checks every 1 s, 3 s timeout,
// fall 2, rise 2) and a mixed load from many concurrent clients:
// 1. SIGKILL of one api-server: no GET, LIST or watch opening fails; only POSTs in flight on it fail,
//    each with a 502 Status; its watches end within 1 s and resume through the others from their last
//    resourceVersion with no event lost; it is out of rotation within interval × fall and back within
//    interval × rise of its restart; no acknowledged create is lost. `default/kubernetes` Endpoints,
//    read through the balancer, drops it and lists it again (kubernetes-endpoints.test.ts covers kill,
//    SIGTERM and restart against the api-servers directly).
// 2. SIGSTOP (hung, not dead): found by the health-check timeout; what was in flight on it ends with an
//    answer (GETs retried elsewhere, POSTs a 502 Status), never a hang; back in rotation after SIGCONT.
// 3. All three SIGKILLed: 503 Status `no healthy api-server behind the load balancer`; one restarted:
//    service resumes through the same balancer process.
// Method: real processes on 127.0.1.105-111 (store 105-107, api-servers 108-110, balancer 111 with
// /stats on :9000), clients over undici keep-alive connections, every request bounded by a client-side
// timeout, times measured on the balancer's clock (/stats lastStateChange) and printed.

// The check timeout is 3 s, not the default 1 s: on a 2-core machine shared with other test runs a
// healthy but starved api-server's /readyz (a quorum read of the store) was seen taking over 2 s, and a
// check timeout takes it out of rotation and cuts its streams as if it were hung.
const LB = { intervalMs: 1000, timeoutMs: 3000, fall: 2, rise: 2 }
/** Slack for a busy 2-core machine on top of each bound the issue states. */
const MARGIN_MS = 1500
/**
 * A watch on a dead backend ends within the 1 s plus the margin: measured 0.3-0.9 s from the
 * kill with the machine's load average near 25 (other test runs), once 1.2 s. The path the bound
 * separates it from, the health checks, takes interval × fall = 2 s and more.
 */
const WATCH_END_MS = 1000 + MARGIN_MS / 3
const LEASE_TTL_S = 3
const HOSTS = ['127.0.1.108', '127.0.1.109', '127.0.1.110'] as const
const NS = 'lbf'
const READ_NS = 'lbf-read'
const COLLECTION = `/api/v1/namespaces/${NS}/configmaps`
const SEED = Number(process.env['LB_FAILOVER_SEED'] ?? Date.now() % 1_000_000)
/** Every request's client-side bound: above the worst SIGSTOP detection (≈ 8.5 s) plus a retry. */
const CLIENT_TIMEOUT_MS = 20_000
const WATCHES = 6
/**
 * Client loops: 20 in all (7 GET, 6 LIST, 7 POST), each pausing 150-300 ms between requests, a load
 * the shared 2-core machine carries without starving the api-servers; plus 6 watches.
 */
const POST_LOOPS = 7

const log = (msg: string): void => console.log(`[lb-failover] ${msg}`)

describe('hakube-lb failover: three api-servers on a 3-member hakube-store', () => {
  const cluster = new FailoverCluster({
    storeBase: 104,
    apiHosts: HOSTS,
    lbHost: '127.0.1.111',
    statsPort: 9000,
    leaseTtlS: LEASE_TTL_S,
    lb: LB,
  })
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 64 })
  const random = seeded(SEED)
  const base = cluster.base
  const logs = cluster.logs
  /** Every object acknowledged (201) by any experiment, read back at the end. */
  const acknowledged = new Set<string>()
  const openWatchers: Watcher[] = []

  const mustCall = async (path: string, body?: unknown, expected = body === undefined ? 200 : 201) => {
    const o = await call(agent, base, body === undefined ? 'get' : 'post', path, CLIENT_TIMEOUT_MS, body)
    expect(o.status, `${path}: ${JSON.stringify(o)}\n${logs()}`).toBe(expected)
    return o
  }
  const listNames = async (): Promise<{ rv: string; names: Set<string> }> => {
    const o = await mustCall(COLLECTION)
    return {
      rv: o.body?.metadata?.resourceVersion ?? '',
      names: new Set((o.body?.items ?? []).map((i) => i.metadata?.name ?? '')),
    }
  }
  /** The addresses `default/kubernetes` Endpoints lists, read through the balancer. */
  const endpointIps = async (): Promise<string> => {
    const o = await call(agent, base, 'get', '/api/v1/namespaces/default/endpoints/kubernetes', 5_000)
    return (o.body?.subsets?.[0]?.addresses ?? [])
      .map((a) => a.ip ?? '')
      .sort()
      .join(',')
  }
  const waitEndpoints = async (hosts: readonly string[], timeoutMs: number): Promise<number> => {
    const t0 = Date.now()
    const want = [...hosts].sort().join(',')
    let last = ''
    await waitFor(
      async () => {
        last = await endpointIps()
        return last === want ? true : undefined
      },
      timeoutMs,
      () => `endpoints ${last}, wanted ${want}\n${logs()}`,
      100,
    )
    return Date.now() - t0
  }
  const newLoad = (prefix: string) =>
    new MixedLoad({
      agent,
      base,
      getPath: `/api/v1/namespaces/${READ_NS}/configmaps/target`,
      listPath: `/api/v1/namespaces/${READ_NS}/configmaps`,
      postNamespace: NS,
      prefix,
      loops: { get: 7, list: 6, post: POST_LOOPS },
      pauseMs: [150, 300],
      timeoutMs: CLIENT_TIMEOUT_MS,
      random,
    })
  const newWatchers = (rv: string): Watcher[] => {
    const ws = Array.from(
      { length: WATCHES },
      () => new Watcher(agent, base, COLLECTION, rv, CLIENT_TIMEOUT_MS),
    )
    openWatchers.push(...ws)
    return ws
  }
  /** The host serving the most of these watches. */
  const busiest = (at: Map<Watcher, string>): string => {
    const count = (h: string) => [...at.values()].filter((u) => u === FailoverCluster.backendOf(h)).length
    return [...HOSTS].sort((a, b) => count(b) - count(a))[0] as string
  }
  const summary = (outs: readonly Outcome[]): string => {
    const lat = outs.map((o) => o.endMs - o.startMs).sort((a, b) => a - b)
    const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0
    return `${outs.length} requests, p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${lat[lat.length - 1] ?? 0} ms`
  }
  /** Checks common to both single-backend faults; returns the number of POSTs that got a 502. */
  const checkLoad = (
    load: MixedLoad,
    watchers: readonly Watcher[],
    failed: string,
    sinceMs: number,
  ): number => {
    const opens = watchers.flatMap((w) => w.opens)
    const idem = [...load.idempotent(), ...opens]
    const hung = [...load.outcomes, ...opens].filter((o) => o.timedOut)
    expect(hung, `requests that hit the client-side timeout\n${logs()}`).toEqual([])
    const failedIdem = idem.filter((o) => o.status !== 200)
    expect(failedIdem, `failed idempotent requests\n${logs()}`).toEqual([])
    const posts = load.posts()
    const failedPosts = posts.filter((o) => o.status !== 201)
    // Only a POST the balancer had sent to a backend before taking that backend out of rotation: the
    // failed one, or a survivor so starved its checks timed out (printed; not expected on a machine
    // that is not oversubscribed).
    const downs = cluster.downEvents().filter((d) => d.atMs >= sinceMs)
    let onOthers = 0
    for (const o of failedPosts) {
      expect(o.status, JSON.stringify(o)).toBe(502)
      expect(isFailureStatus(o.body, 502), JSON.stringify(o)).toBe(true)
      const named = HOSTS.map(FailoverCluster.backendOf).find((u) => o.body?.message?.includes(u))
      const down = downs.find((d) => d.backend === named && d.atMs >= o.startMs)
      expect(
        down,
        `a 502 not explained by its backend going down: ${JSON.stringify(o)}\n${logs()}`,
      ).toBeDefined()
      if (named !== FailoverCluster.backendOf(failed)) onOthers++
    }
    // Each loop has one request in flight at a time: at most one POST per loop on a backend going down.
    expect(failedPosts.length).toBeLessThanOrEqual(POST_LOOPS * downs.length)
    expect(posts.length - failedPosts.length).toBe(load.created.size)
    for (const w of watchers) expect(w.errorEvents, 'ERROR events on a watch').toEqual([])
    for (const n of load.created) acknowledged.add(n)
    log(
      `GET+LIST+watch openings: ${summary(idem)}, 0 failed; POST: ${posts.length} sent, ` +
        `${load.created.size} created (201), ${failedPosts.length} answered 502 Status (${onOthers} on a starved survivor)` +
        (failedPosts.length > 0 ? ` (${failedPosts[0]?.body?.message})` : ''),
    )
    return failedPosts.length
  }
  /** Every watcher (across its resumed streams) saw an ADDED event for every acknowledged create. */
  const waitAllSeen = async (watchers: readonly Watcher[], created: ReadonlySet<string>) => {
    await waitFor(
      async () => (watchers.every((w) => [...created].every((n) => w.added.has(n))) ? true : undefined),
      15_000,
      () =>
        `watchers missed ADDED events: ${watchers
          .map((w) =>
            [...created]
              .filter((n) => !w.added.has(n))
              .slice(0, 5)
              .join(' '),
          )
          .join(' | ')}\n${logs()}`,
    )
  }

  /** Restarts any api-server an earlier experiment left dead (so one failure does not fail the next). */
  const allRunning = async (): Promise<void> => {
    for (const h of HOSTS) {
      const p = cluster.api(h).proc
      if (p.exitCode === null && p.signalCode === null) continue
      cluster.startApi(h)
      await cluster.readyAt(h, 60_000)
      await cluster.waitState(h, 'up', 15_000)
    }
  }

  beforeAll(async () => {
    log(`seed ${SEED} (rerun with LB_FAILOVER_SEED=${SEED})`)
    const t0 = Date.now()
    const apisReadyMs = await cluster.start()
    for (const name of [NS, READ_NS]) await mustCall('/api/v1/namespaces', { metadata: { name } })
    for (const name of ['target', 'a', 'b', 'c', 'd'])
      await mustCall(`/api/v1/namespaces/${READ_NS}/configmaps`, { metadata: { name }, data: { k: name } })
    await waitEndpoints(HOSTS, 20_000)
    log(
      `set-up: store and 3 api-servers ready after ${apisReadyMs} ms, with hakube-lb and seed objects ${Date.now() - t0} ms`,
    )
  }, 150_000)

  afterAll(async () => {
    for (const w of openWatchers) w.close()
    await agent.close().catch(() => undefined)
    await cluster.destroy()
  })

  it('SIGKILL of an api-server under load: no idempotent request fails, watches resume, nothing acknowledged is lost', async () => {
    const { rv } = await listNames()
    const watchers = newWatchers(rv)
    const at = await openMapped(watchers, () => cluster.stats(), logs)
    const victim = busiest(at)
    const onVictim = watchers.filter((w) => at.get(w) === FailoverCluster.backendOf(victim))
    const elsewhere = watchers.filter((w) => !onVictim.includes(w))
    expect(onVictim.length).toBeGreaterThan(0)
    const load = newLoad('kill')
    const since = Date.now()
    load.start()
    await sleep(2_500)

    const killAt = Date.now()
    cluster.api(victim).stop()
    const down = await cluster.waitState(victim, 'down', 10_000)
    const downAt = Date.parse(down.lastStateChange)
    await waitFor(
      async () => (onVictim.every((w) => w.streams[0]?.endedMs !== undefined) ? true : undefined),
      5_000,
      () => `a watch on the killed api-server did not end\n${logs()}`,
    )
    const watchEnds = onVictim.map((w) => (w.streams[0]?.endedMs ?? 0) - killAt)
    await sleep(2_000)
    await load.stop()
    log(
      `SIGKILL ${victim}: out of rotation after ${downAt - killAt} ms (${down.lastCheckError}); ` +
        `its ${onVictim.length} watches ended after ${watchEnds.join(', ')} ms`,
    )

    expect(downAt - killAt, logs()).toBeLessThanOrEqual(LB.intervalMs * LB.fall + MARGIN_MS)
    for (const ms of watchEnds) expect(ms, logs()).toBeLessThanOrEqual(WATCH_END_MS)
    for (const w of onVictim) {
      expect(w.streams[0]?.endReason).toBe('end')
      // Reopened from its last resourceVersion through a survivor, and streaming again.
      expect(w.streams.length, JSON.stringify(w.opens)).toBeGreaterThanOrEqual(2)
      expect(w.current?.endedMs).toBeUndefined()
    }
    // Watches on the survivors go on (unless a starved survivor failed its checks: printed, not failed).
    for (const w of elsewhere) expect(w.current?.endedMs).toBeUndefined()
    log(
      `watches on the survivors: ${elsewhere.filter((w) => w.streams.length > 1).length} of ${elsewhere.length} were cut; ` +
        `state changes: ${cluster.stateChanges().length}`,
    )
    checkLoad(load, watchers, victim, since)
    // Writes went on through the survivors once the killed api-server was out of rotation.
    expect(load.posts().filter((o) => o.status === 201 && o.startMs > downAt).length).toBeGreaterThan(0)
    await waitAllSeen(watchers, load.created)
    const { names } = await listNames()
    for (const n of load.created) expect(names.has(n), `acknowledged ${n} lost`).toBe(true)
    for (const w of watchers) w.close()

    const survivors = HOSTS.filter((h) => h !== victim)
    const epGone = await waitEndpoints(survivors, LEASE_TTL_S * 1000 + (LEASE_TTL_S * 2000) / 3 + 3_000)
    log(
      `kubernetes Endpoints (through the balancer) dropped ${victim} ${Date.now() - killAt} ms after the kill`,
    )
    expect(epGone).toBeGreaterThanOrEqual(0)

    const restartAt = Date.now()
    cluster.startApi(victim)
    const readyAt = await cluster.readyAt(victim)
    const up = await cluster.waitState(victim, 'up', 15_000)
    const upAt = Date.parse(up.lastStateChange)
    log(
      `restart of ${victim}: /readyz 200 after ${readyAt - restartAt} ms, back in rotation ${upAt - readyAt} ms later`,
    )
    expect(upAt - readyAt, logs()).toBeLessThanOrEqual(LB.intervalMs * LB.rise + MARGIN_MS)
    const epBack = await waitEndpoints(HOSTS, 10_000)
    log(`kubernetes Endpoints lists ${victim} again ${epBack} ms after it was back in rotation`)
  }, 150_000)

  it('SIGSTOP of an api-server: found by the check timeout, nothing in flight hangs, back after SIGCONT', async () => {
    await allRunning()
    const { rv } = await listNames()
    const watchers = newWatchers(rv)
    const at = await openMapped(watchers, () => cluster.stats(), logs)
    const victim = busiest(at)
    const onVictim = watchers.filter((w) => at.get(w) === FailoverCluster.backendOf(victim))
    const proc = cluster.api(victim).proc
    const load = newLoad('stop')
    const since = Date.now()
    load.start()
    await sleep(1_500)

    const stopAt = Date.now()
    proc.kill('SIGSTOP')
    let down: Awaited<ReturnType<typeof cluster.waitState>>
    try {
      down = await cluster.waitState(victim, 'down', 15_000)
    } catch (err) {
      proc.kill('SIGCONT')
      throw err
    }
    const downAt = Date.parse(down.lastStateChange)
    await sleep(1_500)
    const contAt = Date.now()
    proc.kill('SIGCONT')
    // It has returned once it answers /readyz again (its store connections may need a moment).
    const readyAt = await cluster.readyAt(victim)
    const up = await cluster.waitState(victim, 'up', 15_000)
    const upAt = Date.parse(up.lastStateChange)
    // Back in rotation: the balancer sends it its share of the load again.
    const requestsAtUp = (await cluster.backendStats(victim)).requests
    const requestsAfter = await waitFor(
      async () => {
        const n = (await cluster.backendStats(victim)).requests
        return n >= requestsAtUp + 3 ? n : undefined
      },
      15_000,
      () => `${victim} is up but serves nothing\n${logs()}`,
    )
    await load.stop()

    log(
      `SIGSTOP ${victim}: out of rotation after ${downAt - stopAt} ms (${down.lastCheckError}); ` +
        `its ${onVictim.length} watches ended ${onVictim.map((w) => (w.streams[0]?.endedMs ?? 0) - downAt).join(', ')} ms after that; ` +
        `SIGCONT: /readyz 200 after ${readyAt - contAt} ms, back in rotation ${upAt - readyAt} ms later, ` +
        `then served ${requestsAfter - requestsAtUp} requests`,
    )
    // A hung process accepts connections and never answers: only the check timeout can find it, within
    // one interval (the check under way when it stopped) plus fall timed-out checks.
    expect(down.lastCheckError).toMatch(/timeout/)
    expect(downAt - stopAt, logs()).toBeLessThanOrEqual(
      LB.intervalMs + LB.fall * Math.max(LB.intervalMs, LB.timeoutMs) + MARGIN_MS,
    )
    // A check sent while it was stopped may still time out after it answers /readyz again: at most one
    // timeout, then rise checks.
    expect(upAt - readyAt, logs()).toBeLessThanOrEqual(LB.timeoutMs + LB.intervalMs * LB.rise + MARGIN_MS)
    // Its watches ended when it was taken out of rotation, and resumed elsewhere.
    for (const w of onVictim) {
      expect(w.streams[0]?.endedMs, logs()).toBeDefined()
      expect((w.streams[0]?.endedMs ?? 0) - downAt).toBeLessThanOrEqual(WATCH_END_MS)
      expect(w.streams.length, JSON.stringify(w.streams)).toBeGreaterThanOrEqual(2)
      expect(w.current?.endedMs).toBeUndefined()
    }
    checkLoad(load, watchers, victim, since)
    // Something was held by the hung process and then answered (a GET retried elsewhere or a POST's 502).
    const slowest = Math.max(...load.outcomes.map((o) => o.endMs - o.startMs))
    log(`longest request during the stop: ${slowest} ms (client-side timeout ${CLIENT_TIMEOUT_MS} ms)`)
    expect(slowest).toBeGreaterThanOrEqual(500)
    await waitAllSeen(watchers, load.created)
    const { names } = await listNames()
    for (const n of load.created) expect(names.has(n), `acknowledged ${n} lost`).toBe(true)
    for (const w of watchers) w.close()
  }, 150_000)

  it('all api-servers down: 503 Status; one back: service resumes through the same balancer', async () => {
    const lbPid = cluster.lb?.pid
    const killAt = Date.now()
    const exited = HOSTS.map((h) => {
      const p = cluster.api(h).proc
      if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve()
      return new Promise<void>((resolve) => p.once('exit', () => resolve()))
    })
    for (const h of HOSTS) cluster.api(h).stop()
    await Promise.all(exited)
    // A request racing the deaths could meet three dying connections (a 502 naming the last); once the
    // balancer knows them all down, every request gets the 503.
    for (const h of HOSTS) await cluster.waitState(h, 'down', 10_000)
    const allDownMs = Date.now() - killAt
    const paths = [
      `/api/v1/namespaces/${READ_NS}/configmaps/target`,
      `/api/v1/namespaces/${READ_NS}/configmaps`,
      `${COLLECTION}?watch=true`,
    ]
    const answers: Outcome[] = []
    for (let i = 0; i < 3; i++) {
      for (const p of paths) answers.push(await call(agent, base, 'get', p, CLIENT_TIMEOUT_MS))
      answers.push(
        await call(agent, base, 'post', COLLECTION, CLIENT_TIMEOUT_MS, { metadata: { name: `none-${i}` } }),
      )
    }
    for (const o of answers) {
      expect(o.status, JSON.stringify(o)).toBe(503)
      expect(isFailureStatus(o.body, 503), JSON.stringify(o)).toBe(true)
      expect(o.body?.reason).toBe('ServiceUnavailable')
      expect(o.body?.message).toBe('no healthy api-server behind the load balancer')
    }
    for (const b of await cluster.stats()) expect(b.state, b.url).toBe('down')
    log(
      `all api-servers killed: all out of rotation after ${allDownMs} ms; ${answers.length} requests answered 503 Status`,
    )

    const back = HOSTS[1]
    log(`restarting ${back}`)
    const restartAt = Date.now()
    cluster.startApi(back)
    const readyAt = await cluster.readyAt(back)
    const resumedAt = await waitFor(
      async () => {
        const o = await call(agent, base, 'get', paths[0] as string, CLIENT_TIMEOUT_MS)
        return o.status === 200 ? Date.now() : undefined
      },
      15_000,
      logs,
      50,
    )
    log(
      `restart of ${back}: /readyz 200 after ${readyAt - restartAt} ms; requests through the balancer succeed ${resumedAt - readyAt} ms later`,
    )
    expect(resumedAt - readyAt, logs()).toBeLessThanOrEqual(LB.intervalMs * LB.rise + MARGIN_MS)
    expect(cluster.lbRunning()).toBe(true)
    expect(cluster.lb?.pid).toBe(lbPid)

    // Nothing acknowledged in the earlier experiments was lost, and writes work again.
    const { names } = await listNames()
    for (const n of acknowledged) expect(names.has(n), `acknowledged ${n} lost`).toBe(true)
    await mustCall(COLLECTION, { metadata: { name: 'after-outage' } })
    const epMs = await waitEndpoints([back], LEASE_TTL_S * 1000 + (LEASE_TTL_S * 2000) / 3 + 3_000)
    log(
      `kubernetes Endpoints lists only ${back} ${epMs} ms later; ${acknowledged.size} acknowledged creates all read back`,
    )
  }, 150_000)
})
