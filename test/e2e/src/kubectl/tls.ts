/**
 * Throwaway certificates for the TLS e2e tests, made with openssl at test time in a temporary
 * directory (no key is ever committed): a CA, one serving certificate whose SANs are every address a
 * client may dial (each api-server, and the balancer, which in TCP mode hands the api-server's own
 * certificate through, as kubeadm puts the load balancer's address in the api-server's certificate),
 * and client certificates whose subject carries the user (CN) and groups (O), as kube reads them.
 *
 * Node's fetch (which the kubectl suite uses to read back what the server stored) is made to trust the
 * CA through undici's global dispatcher.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitFor } from '@hakube/store/testing'
import { Agent, type Dispatcher, getGlobalDispatcher, setGlobalDispatcher } from 'undici'

/** A certificate and its key: the files (for the binaries' flags) and the PEM (for clients). */
export interface CertPair {
  certFile: string
  keyFile: string
  cert: Buffer
  key: Buffer
}

export interface ClientIdentity {
  /** The user name (the certificate's CN). */
  user: string
  /** The groups (one O each). */
  groups: readonly string[]
}

export class TestPki {
  readonly dir: string
  readonly caFile: string
  readonly ca: Buffer
  /** The serving certificate (SANs: every IP given to the constructor). */
  readonly serving: CertPair
  private readonly caKeyFile: string

  /** Makes the CA and a serving certificate for `ips` (takes a few hundred ms of openssl). */
  constructor(ips: readonly string[]) {
    this.dir = mkdtempSync(join(tmpdir(), 'hakube-e2e-tls-'))
    this.caFile = join(this.dir, 'ca.crt')
    this.caKeyFile = join(this.dir, 'ca.key')
    this.ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      this.caKeyFile,
      '-out',
      this.caFile,
      '-days',
      '1',
      '-subj',
      '/CN=hakube-e2e-ca',
    )
    this.ca = readFileSync(this.caFile)
    this.serving = this.issue(
      'serving',
      '/CN=kube-apiserver',
      [
        'basicConstraints=CA:FALSE',
        'keyUsage=digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        `subjectAltName=${ips.map((ip) => `IP:${ip}`).join(',')}`,
      ].join('\n'),
    )
  }

  /** A client certificate for `who` (extendedKeyUsage clientAuth), signed by the CA. */
  client(name: string, who: ClientIdentity): CertPair {
    const subject = [...who.groups.map((g) => `/O=${g}`), `/CN=${who.user}`].join('')
    return this.issue(
      name,
      subject,
      'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth',
    )
  }

  /** Deletes every key and certificate. */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true })
  }

  private issue(name: string, subject: string, extensions: string): CertPair {
    const keyFile = join(this.dir, `${name}.key`)
    const certFile = join(this.dir, `${name}.crt`)
    const csr = join(this.dir, `${name}.csr`)
    const ext = join(this.dir, `${name}.ext`)
    writeFileSync(ext, `${extensions}\n`)
    this.ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', subject)
    this.ssl(
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      this.caFile,
      '-CAkey',
      this.caKeyFile,
      '-CAcreateserial',
      '-out',
      certFile,
      '-days',
      '1',
      '-extfile',
      ext,
    )
    return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) }
  }

  private ssl(...args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: 'pipe' })
  }
}

/**
 * Makes the global fetch verify https:// servers with `ca` (and present `client`, if given);
 * returns the function that puts the previous dispatcher back.
 */
export function trustInFetch(ca: Buffer, client?: CertPair): () => Promise<void> {
  const previous: Dispatcher = getGlobalDispatcher()
  const agent = new Agent({
    connect: { ca, ...(client !== undefined && { cert: client.cert, key: client.key }) },
  })
  setGlobalDispatcher(agent)
  return async () => {
    setGlobalDispatcher(previous)
    await agent.destroy()
  }
}

/** Waits until `GET base/readyz` answers 200 and kube-system exists (an api-server serving TLS). */
export async function waitReady(base: string, timeoutMs: number, logs: () => string): Promise<void> {
  await waitFor(
    async () => {
      try {
        if ((await fetch(`${base}/readyz`)).status !== 200) return undefined
        return (await fetch(`${base}/api/v1/namespaces/kube-system`)).status === 200 ? true : undefined
      } catch {
        return undefined
      }
    },
    timeoutMs,
    logs,
  )
}
