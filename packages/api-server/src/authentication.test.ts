/**
 * Goal: with --client-ca-file the api-server authenticates requests by client certificate as
 * kube-apiserver does: the user is the certificate's CN, its groups the O values plus
 * system:authenticated; no certificate is system:anonymous; a certificate that does not verify, or is
 * not for client authentication, gets 401 Unauthorized. SelfSubjectReview (v1) tells the caller who it
 * is, which `kubectl auth whoami` (1.32, 1.33) prints; discovery lists it.
 * Method: throwaway certificates made with openssl in a temporary directory (two CAs: the trusted one
 * and a stranger); the real ApiServer with discovery serving TLS on 127.0.1.139 (port 0) over the
 * memory storage, driven over HTTPS by undici and by the real kubectl.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { StatusError } from '@hakube/api'
import { createMemoryStorage, type Storage } from '@hakube/storage'
import { Agent, request } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ANONYMOUS, userFromCertificate } from './authentication.js'
import { registerDiscovery } from './discovery.js'
import { parseApiServerFlags } from './options.js'
import { ApiServer } from './server.js'
import { Kubectl, removeKubectlHomes } from './testing/kubectl.js'

const HOST = '127.0.1.139'
const silent = { debug() {}, info() {}, warn() {}, error() {} }

interface Pair {
  cert: Buffer
  key: Buffer
}

let dir = ''
const files = { ca: '', serverCert: '', serverKey: '' }
let ca: Buffer
let alice: Pair
let noClientAuth: Pair
let stranger: Pair

function ssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
}
function issue(name: string, caName: string, subject: string, ext: string): Pair {
  writeFileSync(join(dir, `${name}.ext`), `${ext}\n`)
  ssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    subject,
  )
  ssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${caName}.crt`,
    '-CAkey',
    `${caName}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '1',
    '-extfile',
    `${name}.ext`,
  )
  return { cert: readFileSync(join(dir, `${name}.crt`)), key: readFileSync(join(dir, `${name}.key`)) }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hakube-authn-'))
  for (const name of ['ca', 'other-ca'])
    ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
    )
  issue('server', 'ca', '/CN=kube-apiserver', `extendedKeyUsage=serverAuth\nsubjectAltName=IP:${HOST}`)
  alice = issue('alice', 'ca', '/O=developers/O=testers/CN=alice', 'extendedKeyUsage=clientAuth')
  noClientAuth = issue('server-only', 'ca', '/CN=mallory', 'extendedKeyUsage=serverAuth')
  stranger = issue('stranger', 'other-ca', '/O=system:masters/CN=eve', 'extendedKeyUsage=clientAuth')
  ca = readFileSync(join(dir, 'ca.crt'))
  files.ca = join(dir, 'ca.crt')
  files.serverCert = join(dir, 'server.crt')
  files.serverKey = join(dir, 'server.key')
}, 60_000)

const open: Array<{ server: ApiServer; storage: Storage }> = []
const agents: Agent[] = []
afterEach(async () => {
  for (const { server, storage } of open.splice(0)) {
    await server.shutdown()
    await storage.close()
  }
  for (const a of agents.splice(0)) await a.close()
})
afterAll(() => {
  removeKubectlHomes()
  rmSync(dir, { recursive: true, force: true })
})

async function start(clientCa: boolean): Promise<string> {
  const r = parseApiServerFlags([
    `--bind-address=${HOST}`,
    '--secure-port=0',
    `--tls-cert-file=${files.serverCert}`,
    `--tls-private-key-file=${files.serverKey}`,
    ...(clientCa ? [`--client-ca-file=${files.ca}`] : []),
  ])
  if (!r.ok || !('config' in r)) throw new Error(JSON.stringify(r))
  const storage = createMemoryStorage()
  const server = new ApiServer({ config: r.config, storage, logger: silent })
  open.push({ server, storage })
  registerDiscovery(server.app)
  return `https://${HOST}:${await server.listen()}`
}

/** POSTs a SelfSubjectReview as `client` (or with no certificate). */
async function review(
  base: string,
  client?: Pair,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const agent = new Agent({
    connect: { ca, ...(client !== undefined && { cert: client.cert, key: client.key }) },
  })
  agents.push(agent)
  const r = await request(`${base}/apis/authentication.k8s.io/v1/selfsubjectreviews`, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'SelfSubjectReview', apiVersion: 'authentication.k8s.io/v1' }),
  })
  return { status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> }
}

const userOf = (body: Record<string, unknown>) => (body['status'] as { userInfo: unknown }).userInfo

describe('--client-ca-file', () => {
  it('is read, and needs --tls-cert-file', () => {
    const r = parseApiServerFlags([
      '--tls-cert-file=s.crt',
      '--tls-private-key-file=s.key',
      '--client-ca-file=/etc/kubernetes/pki/ca.crt',
    ])
    expect(r.ok && 'config' in r && r.config.clientCaFile).toBe('/etc/kubernetes/pki/ca.crt')
    const none = parseApiServerFlags([])
    expect(none.ok && 'config' in none && none.config.clientCaFile).toBeUndefined()
    expect(parseApiServerFlags(['--client-ca-file=ca.crt'])).toEqual({
      ok: false,
      error: '--client-ca-file needs --tls-cert-file (without it hakube serves plain HTTP)',
    })
  })
})

describe('the user of a client certificate', () => {
  const verified = (subject: Record<string, string | string[]>, ext_key_usage?: string[]) => ({
    certificate: { subject, ...(ext_key_usage !== undefined && { ext_key_usage }) },
    authorized: true,
    authorizationError: undefined,
  })

  it('is the CN with the O values as groups, plus system:authenticated', () => {
    expect(userFromCertificate(verified({ CN: 'alice', O: ['dev', 'ops'] }))).toEqual({
      username: 'alice',
      groups: ['dev', 'ops', 'system:authenticated'],
    })
    expect(userFromCertificate(verified({ CN: 'bob', O: 'dev' }, ['1.3.6.1.5.5.7.3.2']))).toEqual({
      username: 'bob',
      groups: ['dev', 'system:authenticated'],
    })
    // Go's pkix keeps the last of several CommonNames.
    expect(userFromCertificate(verified({ CN: ['a', 'b'] }))).toEqual({
      username: 'b',
      groups: ['system:authenticated'],
    })
  })

  it('is anonymous without a certificate', () => {
    expect(
      userFromCertificate({ certificate: undefined, authorized: false, authorizationError: undefined }),
    ).toBe(ANONYMOUS)
  })

  it('is refused (401) when the certificate does not verify, is not for clients, or has no CN', () => {
    for (const state of [
      { certificate: { subject: { CN: 'eve' } }, authorized: false, authorizationError: 'UNABLE_TO_VERIFY' },
      verified({ CN: 'mallory' }, ['1.3.6.1.5.5.7.3.1']),
      verified({ O: 'dev' }),
    ]) {
      const r = userFromCertificate(state)
      expect(r).toBeInstanceOf(StatusError)
      expect((r as StatusError).toJSON()).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Unauthorized',
        reason: 'Unauthorized',
        code: 401,
      })
    }
  })
})

describe('SelfSubjectReview over TLS', () => {
  it('answers 201 with the certificate user, or system:anonymous without one', async () => {
    const base = await start(true)
    const mine = await review(base, alice)
    expect(mine.status).toBe(201)
    expect(mine.body).toEqual({
      kind: 'SelfSubjectReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: null },
      status: {
        userInfo: { username: 'alice', groups: ['developers', 'testers', 'system:authenticated'] },
      },
    })
    const anonymous = await review(base)
    expect(anonymous.status).toBe(201)
    expect(userOf(anonymous.body)).toEqual({
      username: 'system:anonymous',
      groups: ['system:unauthenticated'],
    })
  })

  it('refuses a certificate from another CA or not for client authentication with 401, on any path', async () => {
    const base = await start(true)
    for (const client of [stranger, noClientAuth]) {
      const r = await review(base, client)
      expect(r.status).toBe(401)
      expect(r.body).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 })
    }
    const agent = new Agent({ connect: { ca, cert: stranger.cert, key: stranger.key } })
    agents.push(agent)
    expect((await request(`${base}/api`, { dispatcher: agent })).statusCode).toBe(401)
  })

  it('without --client-ca-file asks for no certificate: everyone is anonymous', async () => {
    const base = await start(false)
    expect(userOf((await review(base, alice)).body)).toEqual(ANONYMOUS)
  })

  it('discovery lists selfsubjectreviews (create only, cluster scoped, no storage version hash)', async () => {
    const base = await start(true)
    const agent = new Agent({ connect: { ca } })
    agents.push(agent)
    const get = async (path: string, accept: string) =>
      (await (await request(`${base}${path}`, { dispatcher: agent, headers: { accept } })).body.json()) as {
        resources?: unknown
        items?: Array<{ metadata: { name?: string }; versions: Array<{ resources: unknown }> }>
      }
    expect((await get('/apis/authentication.k8s.io/v1', 'application/json')).resources).toEqual([
      {
        name: 'selfsubjectreviews',
        singularName: 'selfsubjectreview',
        namespaced: false,
        kind: 'SelfSubjectReview',
        verbs: ['create'],
      },
    ])
    const aggregated = await get(
      '/apis',
      'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json',
    )
    const group = aggregated.items?.find((i) => i.metadata.name === 'authentication.k8s.io')
    expect(group?.versions[0]?.resources).toEqual([
      {
        resource: 'selfsubjectreviews',
        responseKind: { group: 'authentication.k8s.io', version: 'v1', kind: 'SelfSubjectReview' },
        scope: 'Cluster',
        singularResource: 'selfsubjectreview',
        verbs: ['create'],
      },
    ])
  })

  for (const version of ['1.32', '1.33'] as const)
    it(`kubectl ${version} auth whoami prints the certificate user and groups`, async () => {
      const base = await start(true)
      const k = new Kubectl(base, version, { ca, cert: alice.cert, key: alice.key })
      const out = await k.ok(['auth', 'whoami'])
      expect(out.split('\n').map((l) => l.trim().split(/\s{2,}/))).toEqual([
        ['ATTRIBUTE', 'VALUE'],
        ['Username', 'alice'],
        ['Groups', '[developers testers system:authenticated]'],
        [''],
      ])
    }, 60_000)
})
