/** hakube-apiserver as a library: its flags and HTTP core (resource routes are registered on `app`). */

export { registerDiscovery } from './discovery.js'
export { type HealthCheck, registerHealth } from './health.js'
export {
  APISERVER_FLAGS,
  type ApiServerConfig,
  type ApiServerFlagsResult,
  helpText,
  KUBERNETES_VERSION,
  parseApiServerFlags,
} from './options.js'
export { registerResourceRoutes } from './rest/index.js'
export {
  ApiServer,
  type ApiServerLogger,
  type ApiServerOptions,
  MAX_REQUEST_BODY_BYTES,
  toStatusError,
} from './server.js'
