/**
 * Kubeconfig loading: what each field becomes in ApiClientOptions, relative paths against the
 * file's directory, `--master` / `--context`, and an error naming the file and the piece for each
 * broken or unsupported input. Files live in a temp dir removed afterwards.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiClientFromFlags, clientOptionsFromFlags, KubeconfigError, loadKubeconfig } from './kubeconfig.js'

let dir: string
const CA = '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n'
const CERT = '-----BEGIN CERTIFICATE-----\ncert\n-----END CERTIFICATE-----\n'
const KEY = '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n'
const b64 = (s: string): string => Buffer.from(s).toString('base64')

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hakube-kubeconfig-'))
  mkdirSync(join(dir, 'pki'))
  writeFileSync(join(dir, 'pki', 'ca.crt'), CA)
  writeFileSync(join(dir, 'pki', 'client.crt'), CERT)
  writeFileSync(join(dir, 'pki', 'client.key'), KEY)
  writeFileSync(join(dir, 'token'), 'file-token\n')
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function write(name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

const twoContexts = `apiVersion: v1
kind: Config
current-context: plain
clusters:
- name: http
  cluster:
    server: http://127.0.2.1:6443
- name: tls
  cluster:
    server: https://127.0.2.2:6443
    certificate-authority: pki/ca.crt
    tls-server-name: kubernetes
contexts:
- name: plain
  context: { cluster: http, user: anonymous }
- name: secure
  context: { cluster: tls, user: admin }
users:
- name: anonymous
  user: {}
- name: admin
  user:
    client-certificate: pki/client.crt
    client-key: unused.key
`

describe('loadKubeconfig', () => {
  it('reads the current context: server only, no credentials', () => {
    const path = write('plain.yaml', twoContexts)
    expect(loadKubeconfig(path)).toEqual({ baseUrl: 'http://127.0.2.1:6443' })
  })

  it('reads a chosen context with files relative to the kubeconfig', () => {
    const path = write('secure.yaml', twoContexts.replace(/client-key: .*/, 'client-key: ./pki/client.key'))
    const opts = loadKubeconfig(path, { context: 'secure' })
    expect(opts.baseUrl).toBe('https://127.0.2.2:6443')
    expect(opts.tls?.ca?.toString()).toBe(CA)
    expect(opts.tls?.cert?.toString()).toBe(CERT)
    expect(opts.tls?.key?.toString()).toBe(KEY)
    expect(opts.tls?.serverName).toBe('kubernetes')
    expect(opts.bearerToken).toBeUndefined()
  })

  it('reads -data fields, insecure-skip-tls-verify and a token (JSON too)', () => {
    const doc = {
      'current-context': 'c',
      clusters: [
        { name: 'k', cluster: { server: 'https://127.0.2.3:6443', 'insecure-skip-tls-verify': true } },
      ],
      contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
      users: [
        {
          name: 'u',
          user: { 'client-certificate-data': b64(CERT), 'client-key-data': b64(KEY), token: 'abc' },
        },
      ],
    }
    const opts = loadKubeconfig(write('data.json', JSON.stringify(doc)))
    expect(opts.tls?.insecureSkipTlsVerify).toBe(true)
    expect(opts.tls?.ca).toBeUndefined()
    expect(opts.tls?.cert?.toString()).toBe(CERT)
    expect(opts.tls?.key?.toString()).toBe(KEY)
    expect(opts.bearerToken).toBe('abc')
  })

  it('reads tokenFile relative to the kubeconfig; token wins over tokenFile', () => {
    const base = `current-context: c
clusters: [{ name: k, cluster: { server: "http://127.0.2.1:6443" } }]
contexts: [{ name: c, context: { cluster: k, user: u } }]
`
    const fromFile = write('tf.yaml', `${base}users: [{ name: u, user: { tokenFile: token } }]\n`)
    expect(loadKubeconfig(fromFile).bearerToken).toBe('file-token')
    const both = write('tf2.yaml', `${base}users: [{ name: u, user: { tokenFile: token, token: inline } }]\n`)
    expect(loadKubeconfig(both).bearerToken).toBe('inline')
  })

  it('explains every broken kubeconfig naming the file and the piece', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['nocontext.yaml', 'clusters: []\n', /no context chosen/],
      ['badcontext.yaml', 'current-context: nope\ncontexts: []\n', /context "nope" does not exist/],
      [
        'nocluster.yaml',
        'current-context: c\ncontexts: [{ name: c, context: { cluster: k } }]\n',
        /cluster "k" \(context "c"\) does not exist/,
      ],
      [
        'noserver.yaml',
        'current-context: c\ncontexts: [{ name: c, context: { cluster: k } }]\nclusters: [{ name: k, cluster: {} }]\n',
        /no server found for cluster "k"/,
      ],
      [
        'nouser.yaml',
        'current-context: c\ncontexts: [{ name: c, context: { cluster: k, user: u } }]\nclusters: [{ name: k, cluster: { server: "http://a:1" } }]\n',
        /user "u" \(context "c"\) does not exist/,
      ],
      ['notyaml.yaml', 'a: [\n', /error loading config file ".*notyaml.yaml"/],
      ['scalar.yaml', '42\n', /not a kubeconfig/],
    ]
    for (const [name, text, message] of cases) {
      const path = write(name, text)
      expect(() => loadKubeconfig(path), name).toThrow(KubeconfigError)
      expect(() => loadKubeconfig(path), name).toThrow(message)
      expect(() => loadKubeconfig(path), name).toThrow(name)
    }
    expect(() => loadKubeconfig(join(dir, 'missing.yaml'))).toThrow(
      /error loading config file ".*missing.yaml": no such file or directory/,
    )
  })

  it('rejects conflicting and unsupported user and cluster settings', () => {
    const head = `current-context: c
contexts: [{ name: c, context: { cluster: k, user: u } }]
`
    const okCluster = 'clusters: [{ name: k, cluster: { server: "https://a:1" } }]\n'
    const cases: Array<[string, RegExp]> = [
      [
        `clusters: [{ name: k, cluster: { server: "https://a:1", certificate-authority: pki/ca.crt, certificate-authority-data: ${b64(CA)} } }]\nusers: [{ name: u, user: {} }]\n`,
        /certificate-authority-data and certificate-authority are both specified for cluster "k"/,
      ],
      [
        'clusters: [{ name: k, cluster: { server: "https://a:1", certificate-authority: pki/ca.crt, insecure-skip-tls-verify: true } }]\nusers: [{ name: u, user: {} }]\n',
        /root certificates file with the insecure flag/,
      ],
      [
        `${okCluster}users: [{ name: u, user: { client-certificate: pki/client.crt } }]\n`,
        /client-key-data or client-key must be specified for user "u"/,
      ],
      [
        `${okCluster}users: [{ name: u, user: { client-key: nothere.key } }]\n`,
        /unable to read client-key .*nothere.key/,
      ],
      [
        `${okCluster}users: [{ name: u, user: { exec: { command: x } } }]\n`,
        /exec of user "u" is not supported/,
      ],
      [
        `${okCluster}users: [{ name: u, user: { username: a, password: b } }]\n`,
        /username of user "u" is not supported/,
      ],
      [`${okCluster}users: [{ name: u, user: { tokenFile: nothere } }]\n`, /unable to read tokenFile/],
    ]
    cases.forEach(([tail, message], i) => {
      const path = write(`conflict-${i}.yaml`, head + tail)
      expect(() => loadKubeconfig(path), `case ${i}`).toThrow(message)
    })
  })
})

describe('clientOptionsFromFlags', () => {
  it('--master overrides the kubeconfig server and keeps its credentials', () => {
    const path = write(
      'master.yaml',
      'current-context: c\ncontexts: [{ name: c, context: { cluster: k, user: u } }]\nclusters: [{ name: k, cluster: { server: "http://127.0.2.1:1" } }]\nusers: [{ name: u, user: { token: t } }]\n',
    )
    expect(clientOptionsFromFlags({ kubeconfig: path, master: 'http://127.0.2.4:6443' })).toEqual({
      baseUrl: 'http://127.0.2.4:6443',
      bearerToken: 't',
    })
    expect(clientOptionsFromFlags({ kubeconfig: path })).toEqual({
      baseUrl: 'http://127.0.2.1:1',
      bearerToken: 't',
    })
  })

  it('--master alone; a bare host:port defaults to http without TLS settings', () => {
    expect(clientOptionsFromFlags({ master: '127.0.2.5:8080' })).toEqual({ baseUrl: 'http://127.0.2.5:8080' })
    expect(clientOptionsFromFlags({ master: 'https://127.0.2.5:6443/' })).toEqual({
      baseUrl: 'https://127.0.2.5:6443',
    })
  })

  it('apiClientFromFlags builds the client (extra options on top)', async () => {
    const client = apiClientFromFlags({ master: 'http://127.0.2.5:8080' }, { requestTimeoutMs: 1_000 })
    expect(client.isClosed()).toBe(false)
    await client.close()
    expect(() => apiClientFromFlags({})).toThrow(KubeconfigError)
  })

  it('neither flag, or a bad --master, is a clear error', () => {
    expect(() => clientOptionsFromFlags({})).toThrow(/no configuration has been provided/)
    expect(() => clientOptionsFromFlags({ master: 'ftp://x' })).toThrow(
      /server "ftp:\/\/x" of --master is not http/,
    )
  })
})
