/** hakube-apiserver as a library: its flags and HTTP core (resource routes are registered on `app`). */

export {
  SYSTEM_NAMESPACES,
  type SystemNamespacesController,
  type SystemNamespacesOptions,
  startSystemNamespaces,
} from './bootstrap.js'
export { registerDiscovery } from './discovery.js'
export {
  desiredKubernetesService,
  type EndpointsPlan,
  MASTER_LEASES_PREFIX,
  planEndpoints,
  planKubernetesService,
} from './endpoint-reconcile.js'
export { type HealthCheck, registerHealth } from './health.js'
export {
  DEFAULT_ENDPOINT_INTERVAL_MS,
  DEFAULT_MASTER_LEASE_TTL_SECONDS,
  type EndpointReconcilerType,
  type KubernetesServiceController,
  type KubernetesServiceOptions,
  startKubernetesService,
} from './kubernetes-service.js'
export { registerOpenAPI } from './openapi/register.js'
export {
  APISERVER_FLAGS,
  type ApiServerConfig,
  type ApiServerFlagsResult,
  defaultAdvertiseAddress,
  helpText,
  KUBERNETES_VERSION,
  parseApiServerFlags,
} from './options.js'
export {
  DEFAULT_SERVICE_CLUSTER_IP_RANGE,
  type ResourceRoutesOptions,
  registerResourceRoutes,
} from './rest/index.js'
export {
  ApiServer,
  type ApiServerLogger,
  type ApiServerOptions,
  MAX_REQUEST_BODY_BYTES,
  toStatusError,
} from './server.js'
