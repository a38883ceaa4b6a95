/**
 * What the kubectl suite (suite.ts) reads kubectl's output with, and the objects it writes: tables as
 * rows of cells, waits on a condition or on a line of a running `kubectl get -w`, manifests, and the
 * full cluster's view of a rolled-out Deployment.
 */
import type { KubectlProcess } from '@hakube/api-server/testing'
import { expect } from 'vitest'

// biome-ignore lint/suspicious/noExplicitAny: objects read back from the server, field by field
export type Json = Record<string, any>

/** The table printed by kubectl as rows of cells (columns are separated by two spaces or more). */
export function table(out: string): string[][] {
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.trim().split(/\s{2,}/))
}

/** The row whose `column`-th cell is `value`. */
export function rowOf(out: string, value: string, column = 0): string[] {
  const row = table(out).find((r) => r[column] === value)
  if (row === undefined) throw new Error(`no row with ${value} in column ${column}:\n${out}`)
  return row
}

export const AGE = /^(\d+s|\d+m(\d+s)?|\d+h(\d+m)?|\d+d(\d+h)?|\d+y(\d+d)?)$/
export const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/

/** Polls `check` until it returns a value other than undefined; throws with `what` after `timeoutMs`. */
export async function eventually<T>(
  what: string | (() => string),
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v !== undefined) return v
    if (Date.now() > deadline)
      throw new Error(`no ${typeof what === 'string' ? what : what()} after ${timeoutMs / 1000} s`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

/** Waits until a line printed by a running kubectl matches `re`; that line. */
export function lineOf(watch: KubectlProcess, re: RegExp, timeoutMs = 60_000): Promise<string> {
  return eventually(
    () => `line matching ${re} in:\n${watch.stdout}${watch.stderr}`,
    async () => watch.lines().find((l) => re.test(l)),
    timeoutMs,
  )
}

export function podManifest(name: string, ns: string, image = 'nginx:1.27'): Json {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: { containers: [{ name: 'main', image }] },
  }
}

export function deploymentManifest(name: string, image: string, replicas: number): Json {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'web', image, ports: [{ containerPort: 80 }] }] },
      },
    },
  }
}

/**
 * In `kubectl get deploy,rs,po` of a full cluster, once deployment `name` is rolled out: its
 * ReplicaSets (one per template it had: the current one holds the `replicas`, the older ones are
 * scaled to 0) and the current one's pods, Running.
 */
export function expectRolledOut(out: string, name: string, replicas: number): void {
  const n = String(replicas)
  expect(out).toMatch(/^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE$/m)
  const sets = table(out).filter((r) => r[0]?.startsWith(`replicaset.apps/${name}-`))
  const current = sets.filter((r) => r[1] === n)
  expect(current, out).toHaveLength(1)
  expect(current[0]?.slice(1, 4)).toEqual([n, n, n])
  for (const old of sets.filter((r) => r[1] !== n)) expect(old.slice(1, 4), out).toEqual(['0', '0', '0'])
  const podPrefix = `pod/${current[0]?.[0]?.slice('replicaset.apps/'.length)}-`
  const pods = table(out).filter((r) => r[0]?.startsWith(podPrefix) && r[2] === 'Running')
  expect(
    pods.map((r) => r.slice(1, 4)),
    out,
  ).toEqual(Array(replicas).fill(['1/1', 'Running', '0']))
}
