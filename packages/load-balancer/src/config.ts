/**
 * hakube-lb's command line: pflag syntax and Go durations (through @hakube/api's flag parser, as the
 * other hakube binaries), values checked by one zod schema. A bad value is one line naming the flag,
 * for the binary to print before exiting with code 2.
 */
import { isIP } from 'node:net'
import { availableParallelism } from 'node:os'
import { flag, flagUsages, parseFlags } from '@hakube/api/flags'
import { z } from 'zod'

export const LB_VERSION = 'hakube-lb v0.1.0'

export const LB_FLAGS = {
  bindAddress: flag({
    name: 'bind-address',
    type: 'string',
    default: '0.0.0.0',
    usage: 'The IP address on which to listen for --port (and --stats-port).',
  }),
  port: flag({
    name: 'port',
    type: 'int',
    default: 6443,
    usage: 'The port clients connect to (0 picks a free port).',
  }),
  backends: flag({
    name: 'backends',
    type: 'stringSlice',
    default: [],
    usage:
      'The api-servers to balance, as scheme://ip:port URLs, comma separated (the seed list with --backends-from-endpoints).',
  }),
  backendsFromEndpoints: flag({
    name: 'backends-from-endpoints',
    type: 'bool',
    default: false,
    usage:
      'Follow the default/kubernetes Endpoints through the api-servers and balance the addresses it lists.',
  }),
  mode: flag({
    name: 'mode',
    type: 'string',
    default: 'http',
    usage:
      "'http' proxies requests (failover clients do not see); 'tcp' pipes connections untouched (TLS passes through).",
  }),
  balance: flag({
    name: 'balance',
    type: 'string',
    default: 'roundrobin',
    usage: "The balancing algorithm: 'roundrobin' or 'leastconn' (http mode).",
  }),
  healthPath: flag({
    name: 'health-path',
    type: 'string',
    default: '/readyz',
    usage: 'The path of the active health check.',
  }),
  healthInterval: flag({
    name: 'health-interval',
    type: 'duration',
    default: 1000,
    usage: 'Time between two health checks of a backend.',
  }),
  healthTimeout: flag({
    name: 'health-timeout',
    type: 'duration',
    default: 1000,
    usage: 'A health check not answered 200 within this time fails.',
  }),
  fall: flag({
    name: 'fall',
    type: 'int',
    default: 2,
    usage: 'Consecutive failed checks that mark a backend down.',
  }),
  rise: flag({
    name: 'rise',
    type: 'int',
    default: 2,
    usage: 'Consecutive successful checks that mark a backend up.',
  }),
  maxConnections: flag({
    name: 'max-connections',
    type: 'int',
    default: 10000,
    usage:
      'The maximum number of client connections at once (over all --workers, each taking its share); more are refused. 0 means no limit.',
  }),
  connectTimeout: flag({
    name: 'connect-timeout',
    type: 'duration',
    default: 5000,
    usage: 'Time allowed to open a connection to a backend.',
  }),
  idleTimeout: flag({
    name: 'idle-timeout',
    type: 'duration',
    default: 60_000,
    usage:
      'An idle keep-alive connection (client side, and pooled backend side) is closed after this time. Streams in progress never time out.',
  }),
  statsPort: flag({
    name: 'stats-port',
    type: 'int',
    default: 0,
    usage: 'Port for JSON stats (/stats) and Prometheus metrics (/metrics); 0 disables.',
  }),
  shutdownGrace: flag({
    name: 'shutdown-grace',
    type: 'duration',
    default: 10_000,
    usage: 'On SIGTERM, time in-flight requests are given to finish; watches end at once.',
  }),
  tlsCertFile: flag({
    name: 'tls-cert-file',
    type: 'string',
    default: '',
    usage: 'Certificate to terminate TLS with (http mode).',
  }),
  tlsPrivateKeyFile: flag({
    name: 'tls-private-key-file',
    type: 'string',
    default: '',
    usage: 'Private key matching --tls-cert-file.',
  }),
  backendCaFile: flag({
    name: 'backend-ca-file',
    type: 'string',
    default: '',
    usage:
      'CA bundle that verifies https:// backends (in tcp mode without it, health checks do not verify certificates).',
  }),
  workers: flag({
    name: 'workers',
    type: 'string',
    default: '1',
    usage:
      "Proxy worker processes sharing the listening socket (one health checker for all); 0 or 'auto' is one per CPU.",
  }),
  logLevel: flag({
    name: 'log-level',
    type: 'string',
    default: 'info',
    usage: "pino log level: 'debug', 'info', 'warn', 'error'.",
  }),
  version: flag({
    name: 'version',
    type: 'bool',
    default: false,
    usage: 'Print version information and quit.',
  }),
}

export type BalanceAlgorithm = 'roundrobin' | 'leastconn'

export interface LbConfig {
  readonly bindAddress: string
  readonly port: number
  readonly backends: readonly URL[]
  readonly backendsFromEndpoints: boolean
  readonly mode: 'http' | 'tcp'
  readonly balance: BalanceAlgorithm
  readonly healthPath: string
  readonly healthIntervalMs: number
  readonly healthTimeoutMs: number
  readonly fall: number
  readonly rise: number
  /** 0: no limit. */
  readonly maxConnections: number
  readonly connectTimeoutMs: number
  readonly idleTimeoutMs: number
  /** 0: no stats server. */
  readonly statsPort: number
  readonly shutdownGraceMs: number
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined
  readonly backendCaFile: string | undefined
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error'
  /**
   * Proxy processes. 1: this process serves alone (no cluster module loaded). More: a primary runs the
   * health checks and the stats server, and that many workers (node:cluster) proxy (cluster-*.ts).
   */
  readonly workers: number
}

/** The most --workers takes (a typo such as 1000 would fork a thousand processes). */
export const MAX_WORKERS = 64

const port = (name: string) =>
  z
    .number()
    .int()
    .min(0, `--${name} must be between 0 and 65535`)
    .max(65535, `--${name} must be between 0 and 65535`)
const positiveMs = (name: string) => z.number().positive(`--${name} must be greater than 0`)

function backendUrl(s: string, ctx: z.RefinementCtx): URL {
  let u: URL | undefined
  try {
    u = new URL(s)
  } catch {
    u = undefined
  }
  if (
    u === undefined ||
    (u.protocol !== 'http:' && u.protocol !== 'https:') ||
    u.hostname === '' ||
    u.pathname !== '/'
  ) {
    ctx.addIssue({
      code: 'custom',
      message: `--backends: ${JSON.stringify(s)} is not a scheme://host:port URL`,
    })
    return z.NEVER
  }
  return u
}

const ConfigSchema = z
  .object({
    bindAddress: z.string().refine((s) => isIP(s) !== 0, {
      error: (i) => `--bind-address: ${JSON.stringify(i.input)} is not a valid IP address`,
    }),
    port: port('port'),
    backends: z.array(z.string().transform(backendUrl)),
    backendsFromEndpoints: z.boolean(),
    mode: z.enum(['http', 'tcp'], {
      error: (i) => `--mode: ${JSON.stringify(i.input)} is not 'http' or 'tcp'`,
    }),
    balance: z.enum(['roundrobin', 'leastconn'], {
      error: (i) => `--balance: ${JSON.stringify(i.input)} is not 'roundrobin' or 'leastconn'`,
    }),
    healthPath: z.string().startsWith('/', '--health-path must start with /'),
    healthInterval: positiveMs('health-interval'),
    healthTimeout: positiveMs('health-timeout'),
    fall: z.number().int().min(1, '--fall must be at least 1'),
    rise: z.number().int().min(1, '--rise must be at least 1'),
    maxConnections: z.number().int().min(0, '--max-connections can not be negative'),
    connectTimeout: positiveMs('connect-timeout'),
    idleTimeout: positiveMs('idle-timeout'),
    statsPort: port('stats-port'),
    shutdownGrace: z.number().min(0, '--shutdown-grace can not be negative'),
    tlsCertFile: z.string(),
    tlsPrivateKeyFile: z.string(),
    backendCaFile: z.string(),
    workers: z.string().transform((s, ctx) => {
      if (s === 'auto') return 0
      const n = /^\d+$/.test(s) ? Number(s) : Number.NaN
      if (!Number.isInteger(n) || n > MAX_WORKERS) {
        ctx.addIssue({
          code: 'custom',
          message: `--workers: ${JSON.stringify(s)} is not 'auto' or a number of processes from 0 to ${MAX_WORKERS}`,
        })
        return z.NEVER
      }
      return n
    }),
    logLevel: z.enum(['debug', 'info', 'warn', 'error'], {
      error: (i) => `--log-level: ${JSON.stringify(i.input)} is not debug, info, warn or error`,
    }),
  })
  .superRefine((v, ctx) => {
    if (v.backends.length === 0)
      ctx.addIssue({ code: 'custom', message: '--backends must list at least one api-server' })
    if ((v.tlsCertFile === '') !== (v.tlsPrivateKeyFile === ''))
      ctx.addIssue({
        code: 'custom',
        message: '--tls-cert-file and --tls-private-key-file must be given together',
      })
    if (v.mode === 'tcp' && v.tlsCertFile !== '')
      ctx.addIssue({ code: 'custom', message: '--mode tcp passes TLS through; it takes no --tls-cert-file' })
    if (v.mode === 'tcp' && v.balance !== 'roundrobin')
      ctx.addIssue({ code: 'custom', message: '--mode tcp balances only --balance roundrobin' })
  })

export type LbFlagsResult =
  | { ok: true; config: LbConfig }
  | { ok: true; exit: 'help' | 'version'; output: string }
  | { ok: false; error: string }

export function parseLbFlags(argv: readonly string[]): LbFlagsResult {
  const r = parseFlags(LB_FLAGS, argv)
  if (!r.ok) return r
  if (r.help) return { ok: true, exit: 'help', output: helpText() }
  if (r.values.version) return { ok: true, exit: 'version', output: LB_VERSION }
  if (r.args.length > 0) return { ok: false, error: `unexpected argument ${JSON.stringify(r.args[0])}` }
  const parsed = ConfigSchema.safeParse(r.values)
  if (!parsed.success) return { ok: false, error: parsed.error.issues[0]?.message ?? 'invalid flags' }
  const v = parsed.data
  return {
    ok: true,
    config: Object.freeze({
      bindAddress: v.bindAddress,
      port: v.port,
      backends: v.backends,
      backendsFromEndpoints: v.backendsFromEndpoints,
      mode: v.mode,
      balance: v.balance,
      healthPath: v.healthPath,
      healthIntervalMs: v.healthInterval,
      healthTimeoutMs: v.healthTimeout,
      fall: v.fall,
      rise: v.rise,
      maxConnections: v.maxConnections,
      connectTimeoutMs: v.connectTimeout,
      idleTimeoutMs: v.idleTimeout,
      statsPort: v.statsPort,
      shutdownGraceMs: v.shutdownGrace,
      tls: v.tlsCertFile === '' ? undefined : { certFile: v.tlsCertFile, keyFile: v.tlsPrivateKeyFile },
      backendCaFile: v.backendCaFile === '' ? undefined : v.backendCaFile,
      logLevel: v.logLevel,
      workers: v.workers === 0 ? Math.min(MAX_WORKERS, availableParallelism()) : v.workers,
    }),
  }
}

export function helpText(): string {
  return `hakube-lb balances the api-servers behind one address (kubeadm's control-plane endpoint).

Usage:
  hakube-lb --backends URL,URL,... [flags]

Flags:
${flagUsages(LB_FLAGS)}`
}
