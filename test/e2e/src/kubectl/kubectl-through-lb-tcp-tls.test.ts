import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import {
  KUBECTL_VERSIONS,
  Kubectl,
  type KubectlTls,
  removeKubectlHomes,
  useKubectlTls,
} from '@hakube/api-server/testing'
import { memberLogs, StoreProcessCluster } from '@hakube/store/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiServerProcess } from '../apiserver.js'
import { kubectlSuite } from './suite.js'
import { TestPki, trustInFetch, waitReady } from './tls.js'

// Goal (issue 11): kubectl through hakube-lb behaves exactly as against an api-server directly, in
// TCP mode with TLS too; and the balancer terminating TLS itself in HTTP mode serves kubectl as well.
// Method: a throwaway CA and serving certificate (openssl, temporary directory; SANs: the api-servers
// and both balancer addresses). A 3-member hakube-store on 127.0.1.124-126, three hakube-apiserver
// processes serving TLS on 127.0.1.127-129 (etcd3 backend, all three members), hakube-lb --mode tcp on
// 127.0.1.130:6443 in front of them: kubectl dials the balancer and completes its TLS handshake with an
// api-server, verifying it with the CA from its kubeconfig. The whole kubectl suite (`get -w` included)
// runs once per kubectl version through it; the balancer's stats must show every api-server used and
// no error. Then hakube-lb in HTTP mode on 127.0.1.138:6443 terminates TLS with the same certificate
// and speaks TLS to the https:// api-servers (--backend-ca-file): a smoke subset with kubectl 1.33.
// The api-servers run with --client-ca-file and kubectl presents kubeadm's admin certificate: through
// the tcp balancer `kubectl auth whoami` (1.32, 1.33) names its CN and O (the certificate reached the
// api-server untouched); through the TLS-terminating one it is system:anonymous.
// Last, one api-server is SIGKILLed and kubectl through either balancer keeps working.

const TIMING = { heartbeatMs: 100, electionMs: 1000 }
const LB_MAIN = fileURLToPath(new URL('../../../../packages/load-balancer/dist/main.js', import.meta.url))
const API_HOSTS = ['127.0.1.127', '127.0.1.128', '127.0.1.129']
const TCP_HOST = '127.0.1.130'
const TERMINATING_HOST = '127.0.1.138'
const LATEST = KUBECTL_VERSIONS[KUBECTL_VERSIONS.length - 1] ?? '1.33'

interface BackendStats {
  url: string
  state: string
  requests: number
  errors: number
}

/** hakube-lb as a child process, its output kept for failure messages. */
class Balancer {
  readonly proc: ChildProcess
  readonly output: string[] = []
  constructor(
    readonly host: string,
    args: readonly string[],
  ) {
    this.proc = spawn(
      process.execPath,
      [LB_MAIN, `--bind-address=${host}`, '--port=6443', '--stats-port=9000', ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    this.proc.stdout?.on('data', (b: Buffer) => this.output.push(b.toString()))
    this.proc.stderr?.on('data', (b: Buffer) => this.output.push(b.toString()))
  }
  get base(): string {
    return `https://${this.host}:6443`
  }
  async backends(): Promise<BackendStats[]> {
    const stats = (await (await fetch(`http://${this.host}:9000/stats`)).json()) as {
      backends: BackendStats[]
    }
    return stats.backends
  }
  stop(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL')
  }
}

describe('kubectl over TLS through hakube-lb (tcp mode, and TLS-terminating http mode)', () => {
  let pki: TestPki | undefined
  /** kubeadm's admin.conf identity: the client certificate kubectl presents. */
  let admin: () => KubectlTls = () => {
    throw new Error('no certificates yet')
  }
  let restoreFetch: (() => Promise<void>) | undefined
  let store: StoreProcessCluster | undefined
  const apis: ApiServerProcess[] = []
  let tcp: Balancer | undefined
  let terminating: Balancer | undefined
  const apiBases = API_HOSTS.map((h) => `https://${h}:6443`)
  const tcpBase = `https://${TCP_HOST}:6443`
  const terminatingBase = `https://${TERMINATING_HOST}:6443`
  // The balancers last: failure messages show the tail.
  const logs = () =>
    [
      store === undefined ? '' : memberLogs(store),
      ...apis.map((a) => `--- api-server ${a.host}\n${a.logs()}`),
      `--- hakube-lb http+tls\n${terminating?.output.join('') ?? ''}`,
      `--- hakube-lb tcp\n${tcp?.output.join('') ?? ''}`,
    ].join('\n')

  beforeAll(async () => {
    if (!existsSync(LB_MAIN)) throw new Error(`${LB_MAIN} is missing: build first (npm run build)`)
    pki = new TestPki([...API_HOSTS, TCP_HOST, TERMINATING_HOST])
    const cert = pki.client('admin', { user: 'kubernetes-admin', groups: ['kubeadm:cluster-admins'] })
    const ca = pki.ca
    admin = () => ({ ca, cert: cert.cert, key: cert.key })
    restoreFetch = trustInFetch(pki.ca)
    const tlsFlags = [
      `--tls-cert-file=${pki.serving.certFile}`,
      `--tls-private-key-file=${pki.serving.keyFile}`,
    ]
    store = new StoreProcessCluster(3, 123, TIMING)
    store.startAll()
    for (const host of API_HOSTS)
      apis.push(
        new ApiServerProcess(host, [
          `--etcd-servers=${store.clientUrls.join(',')}`,
          '--request-timeout=5s',
          ...tlsFlags,
          `--client-ca-file=${pki.caFile}`,
        ]),
      )
    // Generous: on the shared 2-core machine, starting seven node processes at once has taken over 30 s.
    await Promise.all(apiBases.map((b) => waitReady(b, 120_000, logs)))
    const common = [
      `--backends=${apiBases.join(',')}`,
      `--backend-ca-file=${pki.caFile}`,
      // In tcp mode a backend marked down for a check timeout has its piped connections cut (as a
      // hung one must), which kubectl sees as `EOF`; on this shared 2-core machine a TLS check can
      // take over a second, so the timeout is generous. A killed api-server is found at once anyway:
      // the refused connection marks it down and the client's connection goes to the next one.
      '--health-interval=1s',
      '--health-timeout=5s',
    ]
    tcp = new Balancer(TCP_HOST, ['--mode=tcp', ...common])
    terminating = new Balancer(TERMINATING_HOST, ['--mode=http', ...common, ...tlsFlags])
    // Through the tcp balancer the api-server's own certificate answers; through the other, the balancer's.
    await waitReady(tcpBase, 60_000, logs)
    await waitReady(terminatingBase, 60_000, logs)
    useKubectlTls(tcpBase, admin())
    useKubectlTls(terminatingBase, admin())
  }, 300_000)
  afterAll(async () => {
    tcp?.stop()
    terminating?.stop()
    for (const a of apis) a.stop()
    store?.destroy()
    removeKubectlHomes()
    useKubectlTls(tcpBase, undefined)
    useKubectlTls(terminatingBase, undefined)
    await restoreFetch?.()
    pki?.remove()
  })

  it('kubectl without the CA refuses the api-server certificate (TLS is really in use)', async () => {
    // The admin certificate is no CA: nothing it signs verifies the api-server.
    const k = new Kubectl(tcpBase, LATEST, { ...admin(), ca: admin().cert })
    const r = await k.run(['get', 'namespaces', '-o', 'name'], { timeoutMs: 60_000 })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/certificate signed by unknown authority|x509/)
  })

  describe('tcp mode', () => {
    for (const version of KUBECTL_VERSIONS)
      describe(`kubectl ${version}`, () => kubectlSuite(version, () => ({ base: tcpBase, logs })))

    for (const version of ['1.32', '1.33'] as const)
      it(`kubectl ${version} auth whoami: the client certificate reached the api-server untouched`, async () => {
        const out = await new Kubectl(tcpBase, version).ok(['auth', 'whoami'])
        expect(out.split('\n').map((l) => l.trim().split(/\s{2,}/))).toEqual([
          ['ATTRIBUTE', 'VALUE'],
          ['Username', 'kubernetes-admin'],
          ['Groups', '[kubeadm:cluster-admins system:authenticated]'],
          [''],
        ])
      })

    it('spread the suite over every api-server, each up and error-free', async () => {
      const backends = (await tcp?.backends()) ?? []
      expect(backends.map((b) => b.url).sort()).toEqual([...apiBases].sort())
      for (const b of backends) {
        expect(b.state, b.url).toBe('up')
        // Round robin over connections: each api-server took a large share of the suite's kubectl runs.
        expect(b.requests, `${b.url}: ${JSON.stringify(backends)}`).toBeGreaterThan(30)
        expect(b.errors, `${b.url}: ${JSON.stringify(backends)}\n${logs().slice(-4000)}`).toBe(0)
      }
      console.log(`tcp balancer stats after the suite: ${JSON.stringify(backends)}`)
    })
  })

  describe('http mode terminating TLS, https:// backends', () => {
    let k: Kubectl
    const ns = 'tls-term'
    beforeAll(() => {
      k = new Kubectl(terminatingBase, LATEST)
    })

    it('get, create and apply', async () => {
      const names = await k.ok(['get', 'namespaces', '-o', 'name'])
      expect(names).toContain('namespace/kube-system\n')
      expect(await k.ok(['create', 'namespace', ns])).toBe(`namespace/${ns} created\n`)
      const manifest = k.file(
        'cm.yaml',
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ${ns}\ndata:\n  mode: one\n`,
      )
      expect(await k.ok(['apply', '-f', manifest])).toBe('configmap/settings created\n')
      k.file(
        'cm.yaml',
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: ${ns}\ndata:\n  mode: two\n`,
      )
      expect(await k.ok(['apply', '-f', manifest])).toBe('configmap/settings configured\n')
      expect(await k.ok(['get', 'configmap', 'settings', '-n', ns, '-o', 'jsonpath={.data.mode}'])).toBe(
        'two',
      )
    })

    it('get -w prints later changes as new rows', async () => {
      const watch = k.start(['get', 'configmaps', '-n', ns, '-w', '-o', 'name'])
      try {
        const first = await watch.waitForLines(1)
        expect(first).toContain('configmap/settings')
        expect(await k.ok(['create', 'configmap', 'later', '-n', ns])).toBe('configmap/later created\n')
        const lines = await watch.waitForLines(first.length + 1)
        expect(lines.slice(first.length)).toEqual(['configmap/later'])
      } finally {
        await watch.stop()
      }
    })

    it('auth whoami: the balancer ends the TLS, so the api-server sees no client certificate', async () => {
      const out = await k.ok(['auth', 'whoami'])
      expect(out.split('\n').map((l) => l.trim().split(/\s{2,}/))).toEqual([
        ['ATTRIBUTE', 'VALUE'],
        ['Username', 'system:anonymous'],
        ['Groups', '[system:unauthenticated]'],
        [''],
      ])
    })

    it('reached the api-servers over TLS, every one up and error-free', async () => {
      const backends = (await terminating?.backends()) ?? []
      expect(backends.map((b) => b.url).sort()).toEqual([...apiBases].sort())
      for (const b of backends) {
        expect(b.state, b.url).toBe('up')
        expect(b.requests, `${b.url}: ${JSON.stringify(backends)}`).toBeGreaterThan(0)
        expect(b.errors, `${b.url}: ${JSON.stringify(backends)}`).toBe(0)
      }
    })
  })

  it('kubectl goes on working through either balancer when an api-server is killed', async () => {
    apis[0]?.stop()
    for (const base of [tcpBase, terminatingBase]) {
      const k = new Kubectl(base, LATEST)
      for (let i = 0; i < 10; i++) {
        const r = await k.run(['get', 'namespaces', 'kube-system', '-o', 'name'])
        expect(r.stderr, logs()).toBe('')
        expect(r.stdout).toBe('namespace/kube-system\n')
        const name = `after-kill-${base === tcpBase ? 'tcp' : 'http'}-${i}`
        const c = await k.run(['create', 'configmap', name, '-n', 'default', '-o', 'name'])
        expect(c.stderr, logs()).toBe('')
        expect(c.stdout).toBe(`configmap/${name}\n`)
      }
    }
  }, 180_000)
})
