/**
 * External-etcd topology in containers: two of the three store members killed (`docker kill`), so the
 * store has no quorum. kubectl writes through the balancer fail with an error (not a hang past their
 * request timeout), the workloads keep running on the workers (read from the workers' kubelet API, which
 * needs no control plane), and once one member is started again (`docker start`: a quorum of 2) writes
 * work again (within 60 s; measured), with the same pods still Running.
 */
import { afterAll, beforeAll, expect, test } from 'vitest'
import { ComposeProject, ensureImages, requireDocker, sleep } from './compose.js'

const p = new ComposeProject({
  topology: 'external-etcd',
  name: 'store-quorum',
  subnet: '172.28.12',
  lbPort: 26_512,
})

beforeAll(async () => {
  await requireDocker()
  await ensureImages('external-etcd')
  const ms = await p.up()
  console.log(`${p.project}: 3 Ready nodes ${(ms / 1000).toFixed(1)} s after up`)
}, 300_000)

afterAll(async () => {
  const r = await p.down()
  if (r.code !== 0) console.error(`${p.project}: down -v failed: ${r.stderr}`)
}, 120_000)

async function workloadPods(): Promise<string[]> {
  const all = await Promise.all([1, 2, 3].map((w) => p.kubeletPods(w)))
  return all
    .flat()
    .filter((pod) => pod.name.startsWith('web-') && pod.phase === 'Running')
    .map((pod) => pod.name)
    .sort()
}

test('two of three store members down: writes fail clearly, pods keep running; one back: writes recover', async () => {
  const created = await p.kubectl(['create', 'deployment', 'web', '--image=nginx', '--replicas=3'])
  expect(created.code, created.stderr).toBe(0)
  await p.waitFor('3 Running pods of web', 45_000, async () => (await p.runningPods('web')).length === 3)
  const before = (await p.runningPods('web')).sort()
  expect(await workloadPods()).toEqual(before)

  const downAt = Date.now()
  await Promise.all([p.docker('kill', 'etcd-2'), p.docker('kill', 'etcd-3')])
  console.log(`${p.project}: killed etcd-2 and etcd-3`)
  await sleep(2_000)

  // A write fails, and says why, within its request timeout (5 s) plus kubectl's own start.
  const w = await p.kubectl(['create', 'configmap', 'no-quorum', '--from-literal=a=b'], 5_000)
  console.log(
    `${p.project}: write without quorum: exit ${w.code} after ${(w.ms / 1000).toFixed(1)} s: ${w.stderr.trim()}`,
  )
  expect(w.code).not.toBe(0)
  expect(w.ms).toBeLessThan(15_000)
  expect(w.stderr).toMatch(/timeout|timed out|deadline|unavailable|quorum|etcd|Error from server/i)

  // The workers keep their pods Running, control plane or not.
  await sleep(5_000)
  expect(await workloadPods()).toEqual(before)

  const backAt = Date.now()
  await p.docker('start', 'etcd-2')
  let recovered: number | undefined
  const failures: string[] = []
  for (let i = 0; recovered === undefined && Date.now() - backAt < 60_000; i++) {
    const t = Date.now()
    const r = await p.kubectl(['create', 'configmap', `back-${i}`, '--from-literal=a=b'], 2_000)
    if (r.code === 0) recovered = Date.now() - backAt
    else failures.push(`+${((t - backAt) / 1000).toFixed(1)} s: ${r.stderr.trim().split('\n').pop()}`)
    await sleep(Math.max(0, 1_000 - (Date.now() - t)))
  }
  console.log(
    `${p.project}: store without quorum for ${((backAt - downAt) / 1000).toFixed(1)} s; after docker start etcd-2, ` +
      `first write ok at +${((recovered ?? Number.NaN) / 1000).toFixed(1)} s (${failures.length} failed before:\n  ${failures.join('\n  ')})`,
  )
  // Recovery takes 3 to 31 s here: a surviving api-server's readiness can keep failing while etcd-3's
  // address is dead (deploy/README.md explains why); the bound is the loop's 60 s.
  expect(recovered, failures.join('\n')).toBeDefined()
  expect((await p.runningPods('web')).sort()).toEqual(before)
  expect(await workloadPods()).toEqual(before)
}, 180_000)
