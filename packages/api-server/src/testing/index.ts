/** Test helpers for the api-server and the suites that drive it (kubectl, HTTP). */

export {
  call,
  type Json,
  silentLogger,
  startTestServer,
  stopTestServers,
  type TestServer,
  type TestServerOptions,
} from './harness.js'
export {
  KUBECTL_VERSIONS,
  Kubectl,
  KubectlProcess,
  type KubectlResult,
  type KubectlRunOptions,
  type KubectlTls,
  type KubectlVersion,
  kubeconfigFor,
  kubectlBinary,
  removeKubectlHomes,
  useKubectlTls,
} from './kubectl.js'
