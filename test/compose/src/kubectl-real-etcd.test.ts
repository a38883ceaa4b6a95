/**
 * Goal (issue 15): the real-etcd variant passes the same kubectl suite. The whole kubectl suite of
 * test/e2e (suite.ts, shared as `@hakube/e2e/kubectl-suite`) runs once per kubectl version (1.27, 1.32,
 * 1.33) against deploy/compose/external-real-etcd.yml: 3 real etcd 3.4.23 members, 3 hakube masters
 * (api-server, scheduler, controller-manager), the balancer and 3 simulated workers, in containers.
 *
 * Method: the project `hakube-test-realetcd` on 172.28.15.0/24, kubectl (and the suite's own HTTP reads)
 * through the balancer published on 127.0.0.1:26515. The suite runs with `controllers: true`: where a
 * case's output depends on the controllers, the scheduler and the kubelets (a Deployment gets its
 * ReplicaSet and pods, pods are scheduled and Running, an empty namespace is finished by the namespace
 * controller), it expects what a real cluster prints. Measured: the time to 3 Ready nodes, and each
 * version's suite (`[compose]` lines).
 *
 * Known failure, left visible (a hakube bug, not a cluster difference): `kubectl set image` sometimes
 * exits with a 409 Conflict, because the api-server does not retry a PATCH without resourceVersion
 * when the deployment controller's status write lands in between (rest/handlers.ts guaranteedUpdate).
 */
import { execFileSync } from 'node:child_process'
import { KUBECTL_VERSIONS, removeKubectlHomes } from '@hakube/api-server/testing'
import { kubectlSuite } from '@hakube/e2e/kubectl-suite'
import { afterAll, beforeAll, describe } from 'vitest'
import { ComposeProject, ensureImages, requireDocker } from './compose.js'

const p = new ComposeProject({
  topology: 'external-real-etcd',
  name: 'realetcd',
  subnet: '172.28.15',
  lbPort: 26_515,
})
const base = `http://127.0.0.1:${p.opts.lbPort}`
const MASTERS = ['master-1', 'master-2', 'master-3']
/** Container ids of the masters (after up), for logs read where no await is possible. */
const ids = new Map<string, string>()

/**
 * The suite's failure context: the tail of each master's api-server log
 * (/var/lib/hakube/logs/HOST/apiserver.log, read with `docker exec node`: the image has no shell).
 */
function logs(): string {
  const tail =
    'const l = require("fs").readFileSync(process.argv[1], "utf8").split("\\n"); console.log(l.slice(-30).join("\\n"))'
  return MASTERS.map((m) => {
    const id = ids.get(m) ?? ''
    try {
      const file = `/var/lib/hakube/logs/${m}/apiserver.log`
      const out = execFileSync('docker', ['exec', id, 'node', '-e', tail, file], {
        encoding: 'utf8',
        timeout: 20_000,
      })
      return `--- ${m} api-server\n${out}`
    } catch (err) {
      return `--- ${m} api-server: log not read (${(err as Error).message})`
    }
  }).join('\n')
}

beforeAll(async () => {
  await requireDocker()
  await ensureImages('external-real-etcd')
  const ms = await p.up()
  for (const m of MASTERS) ids.set(m, await p.container(m))
  console.log(`[compose] ${p.project}: 3 Ready nodes ${(ms / 1000).toFixed(1)} s after up`)
}, 300_000)

afterAll(async () => {
  removeKubectlHomes()
  const r = await p.down()
  if (r.code !== 0) console.error(`${p.project}: down -v failed: ${r.stderr}`)
}, 120_000)

for (const version of KUBECTL_VERSIONS)
  describe(`kubectl ${version} through the balancer of the real-etcd topology`, () => {
    let start = 0
    beforeAll(() => {
      start = Date.now()
    })
    afterAll(() => {
      console.log(
        `[compose] ${p.project}: kubectl ${version} suite ${((Date.now() - start) / 1000).toFixed(1)} s`,
      )
    })
    kubectlSuite(version, () => ({ base, logs, controllers: true }))
  })
