/**
 * The flags every hakube control-plane component shares with kube-scheduler and
 * kube-controller-manager: where the api-server is (`--kubeconfig`, `--master`), where the component
 * serves its plain-HTTP health and metrics endpoints (`--bind-address`, `--port`), `--log-level` and
 * `--version`; and their checks, each failing with one line naming the flag (the binary prints it and
 * exits 2).
 */
import { isIP } from 'node:net'
import { flag } from './pflag.js'

export type ComponentLogLevel = 'debug' | 'info' | 'warn' | 'error'
const LOG_LEVELS: readonly ComponentLogLevel[] = ['debug', 'info', 'warn', 'error']

/** The shared flags; `defaultPort` is the component's own (10259 for the scheduler, 10257 ...). */
export function componentFlags(defaultPort: number) {
  return {
    kubeconfig: flag({
      name: 'kubeconfig',
      type: 'string',
      default: '',
      usage: 'Path to kubeconfig file with authorization and master location information.',
    }),
    master: flag({
      name: 'master',
      type: 'string',
      default: '',
      usage: 'The address of the Kubernetes API server (overrides any value in kubeconfig).',
    }),
    bindAddress: flag({
      name: 'bind-address',
      type: 'string',
      default: '0.0.0.0',
      usage: 'The IP address on which to listen for the --port port (health checks and metrics).',
    }),
    port: flag({
      name: 'port',
      type: 'int',
      default: defaultPort,
      usage:
        'The port on which to serve plain HTTP /healthz, /livez, /readyz and /metrics (0 picks a free port).',
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
}

export interface ComponentOptions {
  readonly kubeconfig: string
  readonly master: string
  readonly bindAddress: string
  readonly port: number
  readonly logLevel: ComponentLogLevel
}

/** Checks the shared flags' values as the components do. */
export function componentOptions(v: {
  kubeconfig: string
  master: string
  bindAddress: string
  port: number
  logLevel: string
}): { ok: true; options: ComponentOptions } | { ok: false; error: string } {
  if (v.kubeconfig === '' && v.master === '')
    return {
      ok: false,
      error:
        'invalid configuration: no configuration has been provided, try setting --kubeconfig or --master',
    }
  if (isIP(v.bindAddress) === 0)
    return { ok: false, error: `--bind-address: ${JSON.stringify(v.bindAddress)} is not a valid IP address` }
  if (v.port < 0 || v.port > 65535) return { ok: false, error: '--port must be between 0 and 65535' }
  const logLevel = LOG_LEVELS.find((l) => l === v.logLevel)
  if (logLevel === undefined)
    return {
      ok: false,
      error: `--log-level: ${JSON.stringify(v.logLevel)} is not debug, info, warn or error`,
    }
  const { kubeconfig, master, bindAddress, port } = v
  return { ok: true, options: { kubeconfig, master, bindAddress, port, logLevel } }
}
