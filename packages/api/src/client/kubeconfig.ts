/**
 * Kubeconfig files as the Kubernetes binaries read them (client-go's `clientcmd`), turned into
 * `ApiClientOptions`: `loadKubeconfig(path, { context })` and `clientOptionsFromFlags({ kubeconfig,
 * master })` (or `apiClientFromFlags`, the client itself), the `--kubeconfig` / `--master` pair of kube-scheduler and kube-controller-manager
 * (clientcmd.BuildConfigFromFlags: `--master` overrides the kubeconfig's server).
 *
 * Read: YAML or JSON (JSON is YAML); `current-context` or the given context; the cluster's
 * `server`, `certificate-authority` / `-data`, `insecure-skip-tls-verify`, `tls-server-name`; the
 * user's `client-certificate` / `-data`, `client-key` / `-data`, `token` / `tokenFile` (a token wins
 * over a token file, as in client-go). Relative file paths are resolved against the kubeconfig's
 * directory (clientcmd's ResolvePaths). The files are read once, at load time.
 *
 * Errors: `KubeconfigError`, one line naming the file and the missing or conflicting piece, with
 * client-go's wording where it has one (`context "x" does not exist`, `no server found for cluster
 * "x"`, `... are both specified`).
 * Not supported (an error naming it rather than a silent anonymous client): `exec` and
 * `auth-provider` plugins, basic auth (`username` / `password`), impersonation, `proxy-url`. Not read:
 * the `KUBECONFIG` variable and `~/.kube/config` (the binaries pass the path explicitly, as
 * BuildConfigFromFlags does); in-cluster configuration.
 */
import { readFileSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { ApiClient, type ApiClientOptions, type TlsOptions } from './api-client.js'

/** A kubeconfig that cannot be read or used; `message` names the file and the problem. */
export class KubeconfigError extends Error {
  override readonly name = 'KubeconfigError'
}

export interface LoadKubeconfigOptions {
  /** The context to use instead of `current-context` (`--context`). */
  context?: string
  /** Overrides the cluster's server (`--master`). */
  server?: string
}

export interface ClientFlags {
  /** `--kubeconfig`: path of the kubeconfig file ('' or undefined: none). */
  kubeconfig?: string
  /** `--master`: the api-server's address; overrides the kubeconfig's server. */
  master?: string
  /** `--context`, where a binary has it. */
  context?: string
}

type Dict = Record<string, unknown>

/**
 * `clientcmd.BuildConfigFromFlags`: the kubeconfig with `--master` overriding its server, or
 * `--master` alone (no credentials, no TLS settings) when no kubeconfig is given. Throws
 * `KubeconfigError` when neither is given (we have no in-cluster configuration to fall back to).
 */
export function clientOptionsFromFlags(flags: ClientFlags): ApiClientOptions {
  const kubeconfig = flags.kubeconfig ?? ''
  const master = flags.master ?? ''
  if (kubeconfig === '') {
    if (master === '') {
      throw new KubeconfigError(
        'invalid configuration: no configuration has been provided, try setting --kubeconfig or --master',
      )
    }
    return { baseUrl: normalizeServer(master, '--master', false) }
  }
  return loadKubeconfig(kubeconfig, {
    ...(flags.context ? { context: flags.context } : {}),
    ...(master !== '' ? { server: master } : {}),
  })
}

/**
 * An ApiClient for `--kubeconfig` / `--master` (clientOptionsFromFlags), with `extra` options
 * (timeouts, user agent) on top. Throws `KubeconfigError` as clientOptionsFromFlags does.
 */
export function apiClientFromFlags(flags: ClientFlags, extra: Partial<ApiClientOptions> = {}): ApiClient {
  return new ApiClient({ ...clientOptionsFromFlags(flags), ...extra })
}

/** Reads the kubeconfig at `path` and returns the client options of its chosen context. */
export function loadKubeconfig(path: string, opts: LoadKubeconfigOptions = {}): ApiClientOptions {
  const file = resolve(path)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new KubeconfigError(`error loading config file "${path}": ${errorText(err)}`, { cause: err })
  }
  let doc: unknown
  try {
    doc = parseYaml(text)
  } catch (err) {
    throw new KubeconfigError(`error loading config file "${path}": ${errorText(err)}`, { cause: err })
  }
  return kubeconfigToOptions(doc ?? {}, { ...opts, path, dir: dirname(file) })
}

interface ParseContext extends LoadKubeconfigOptions {
  /** The file's path as given, for messages. */
  path: string
  /** The directory relative paths resolve against. */
  dir: string
}

/** The parsed document to client options (exported for tests of in-memory documents). */
export function kubeconfigToOptions(doc: unknown, ctx: ParseContext): ApiClientOptions {
  const where = `in kubeconfig "${ctx.path}"`
  const fail = (message: string): never => {
    throw new KubeconfigError(`invalid configuration ${where}: ${message}`)
  }
  if (!isDict(doc)) return fail('the file is not a kubeconfig (expected a mapping at the top level)')
  const contextName = ctx.context ?? str(doc['current-context'])
  if (contextName === undefined || contextName === '') {
    return fail('no context chosen: current-context is not set and no --context was given')
  }
  const context = namedEntry(doc, 'contexts', 'context', contextName, fail)
  if (context === undefined) return fail(`context "${contextName}" does not exist`)
  const clusterName = str(context['cluster']) ?? ''
  if (clusterName === '') return fail(`context "${contextName}" names no cluster`)
  const cluster = namedEntry(doc, 'clusters', 'cluster', clusterName, fail)
  if (cluster === undefined && ctx.server === undefined) {
    return fail(`cluster "${clusterName}" (context "${contextName}") does not exist`)
  }
  const userName = str(context['user']) ?? ''
  const user = userName === '' ? {} : namedEntry(doc, 'users', 'user', userName, fail)
  if (user === undefined) return fail(`user "${userName}" (context "${contextName}") does not exist`)

  const server = ctx.server ?? str(cluster?.['server']) ?? ''
  if (server === '') return fail(`no server found for cluster "${clusterName}"`)
  const options: ApiClientOptions = { baseUrl: '' }

  const readPem = (owner: string, dataKey: string, fileKey: string, entry: Dict): Buffer | undefined => {
    const data = str(entry[dataKey])
    const filePath = str(entry[fileKey])
    if (data && filePath) {
      return fail(`${dataKey} and ${fileKey} are both specified for ${owner}; use one`)
    }
    if (data) {
      const bytes = Buffer.from(data, 'base64')
      if (bytes.length === 0) fail(`${dataKey} of ${owner} is not base64`)
      return bytes
    }
    if (filePath) return readRelative(filePath, `${fileKey} of ${owner}`, ctx, where)
    return undefined
  }

  const tls: TlsOptions = {}
  if (cluster !== undefined) {
    const owner = `cluster "${clusterName}"`
    const ca = readPem(owner, 'certificate-authority-data', 'certificate-authority', cluster)
    const insecure = cluster['insecure-skip-tls-verify'] === true
    if (ca !== undefined && insecure) {
      fail(`specifying a root certificates file with the insecure flag is not allowed (${owner})`)
    }
    if (ca !== undefined) tls.ca = ca
    if (insecure) tls.insecureSkipTlsVerify = true
    const serverName = str(cluster['tls-server-name'])
    if (serverName) tls.serverName = serverName
    if (str(cluster['proxy-url'])) fail(`proxy-url of ${owner} is not supported`)
  }

  const owner = `user "${userName}"`
  for (const key of ['exec', 'auth-provider', 'username', 'password', 'as', 'as-groups']) {
    if (user[key] !== undefined && user[key] !== null) {
      fail(`${key} of ${owner} is not supported (use a token or a client certificate)`)
    }
  }
  const cert = readPem(owner, 'client-certificate-data', 'client-certificate', user)
  const key = readPem(owner, 'client-key-data', 'client-key', user)
  if (cert !== undefined && key === undefined) {
    fail(
      `client-key-data or client-key must be specified for ${owner} to use the clientCert authentication method`,
    )
  }
  if (key !== undefined && cert === undefined) {
    fail(
      `client-cert-data or client-cert must be specified for ${owner} to use the clientCert authentication method`,
    )
  }
  if (cert !== undefined) tls.cert = cert
  if (key !== undefined) tls.key = key
  if (Object.keys(tls).length > 0) options.tls = tls
  const serverOwner = ctx.server !== undefined ? '--master' : `cluster "${clusterName}"`
  options.baseUrl = normalizeServer(server, serverOwner, options.tls !== undefined, where)

  const token = str(user['token'])
  const tokenFile = str(user['tokenFile'])
  if (token) options.bearerToken = token
  else if (tokenFile) {
    const value = readRelative(tokenFile, `tokenFile of ${owner}`, ctx, where).toString('utf8').trim()
    if (value === '') fail(`tokenFile of ${owner} is empty`)
    options.bearerToken = value
  }
  return options
}

/** The entry `name` of a named list (`clusters`, `contexts`, `users`), or undefined. */
function namedEntry(
  doc: Dict,
  listKey: string,
  itemKey: string,
  name: string,
  fail: (message: string) => never,
): Dict | undefined {
  const list = doc[listKey]
  if (list === undefined || list === null) return undefined
  if (!Array.isArray(list)) return fail(`${listKey} is not a list`)
  for (const item of list) {
    if (isDict(item) && item['name'] === name) {
      const value = item[itemKey]
      if (value === undefined || value === null) return {}
      if (!isDict(value)) return fail(`${listKey} entry "${name}": ${itemKey} is not a mapping`)
      return value
    }
  }
  return undefined
}

function readRelative(filePath: string, what: string, ctx: ParseContext, where: string): Buffer {
  const full = isAbsolute(filePath) ? filePath : resolve(ctx.dir, filePath)
  try {
    return readFileSync(full)
  } catch (err) {
    throw new KubeconfigError(
      `invalid configuration ${where}: unable to read ${what} "${full}": ${errorText(err)}`,
      {
        cause: err,
      },
    )
  }
}

/**
 * client-go accepts a bare `host:port` and picks the scheme (rest.DefaultServerURL): https when TLS
 * is configured (a CA, a client certificate or insecure-skip-tls-verify), else http.
 */
function normalizeServer(server: string, what: string, defaultTls: boolean, where?: string): string {
  const scheme = defaultTls ? 'https' : 'http'
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(server) ? server : `${scheme}://${server}`
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    throw new KubeconfigError(
      `invalid configuration${where ? ` ${where}` : ''}: server "${server}" of ${what} is not a URL`,
    )
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new KubeconfigError(
      `invalid configuration${where ? ` ${where}` : ''}: server "${server}" of ${what} is not http(s)`,
    )
  }
  return withScheme.replace(/\/+$/, '')
}

function isDict(value: unknown): value is Dict {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return 'no such file or directory'
    if (code === 'EACCES') return 'permission denied'
    return err.message.split('\n')[0] ?? err.message
  }
  return String(err)
}
