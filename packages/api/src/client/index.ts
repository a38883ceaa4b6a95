/**
 * The api-server client every hakube component uses: `ApiClient` (undici keep-alive pool, a
 * deadline on every call, typed Status errors), typed resource handles with every REST verb and
 * watch, an `Informer` (list + watch + cache + handlers, client-go's shape) and a rate-limited,
 * deduplicating `WorkQueue` (client-go's `util/workqueue`).
 *
 * Guarantees: see each file's header. In short: calls end within their timeout or throw a
 * `TransportError`; server errors throw an `ApiError` carrying the Status; informers relist on
 * 410 and re-watch on a closed stream; the queue never hands one key to two workers at once.
 * Non-guarantees: no automatic retries of calls, no protobuf, no client-side validation, no
 * auth other than a bearer token and TLS client certificates. `loadKubeconfig` /
 * `clientOptionsFromFlags` turn a kubeconfig (and `--master`) into the client's options. `EventRecorder`
 * writes core/v1 Events as client-go's tools/record does.
 */
export { ApiClient, type ApiClientOptions, type TlsOptions } from './api-client.js'
export {
  ApiError,
  apiErrorFromResponse,
  isAlreadyExists,
  isConflict,
  isGone,
  isNotFound,
  isTimeout,
  isTooManyRequests,
  reasonForCode,
  TransportError,
  type TransportErrorKind,
} from './errors.js'
export {
  type EventLogger,
  EventRecorder,
  type EventRecorderOptions,
  type EventSink,
  type EventType,
  type InvolvedObject,
} from './event-recorder.js'
export {
  type DeletedFinalStateUnknown,
  Informer,
  type InformerHandlers,
  type InformerOptions,
  isDeletedFinalStateUnknown,
  objectKey,
} from './informer.js'
export {
  apiClientFromFlags,
  type ClientFlags,
  clientOptionsFromFlags,
  KubeconfigError,
  kubeconfigToOptions,
  type LoadKubeconfigOptions,
  loadKubeconfig,
} from './kubeconfig.js'
export {
  BucketRateLimiter,
  type Clock,
  defaultControllerRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  type RateLimiter,
  systemClock,
} from './rate-limiter.js'
export type {
  CallOptions,
  HttpMethod,
  OpenStream,
  QueryValue,
  RequestOptions,
} from './request.js'
export {
  type DeleteOptions,
  type GetOptions,
  type ListOptions,
  type PatchOptions,
  type PatchType,
  patchContentTypes,
  type ResourceClient,
  type ResourceType,
  type ResourceVersionMatch,
  resourcePath,
  type WatchOptions,
  type WriteOptions,
} from './resource.js'
export {
  isStatus,
  type KubeList,
  type KubeObject,
  type ListMeta,
  type ObjectMeta,
  type StatusBody,
  type StatusCause,
  type StatusDetails,
  type WatchEvent,
  type WatchEventType,
} from './types.js'
export { type WatchStream, watchEventError } from './watch.js'
export { WatchDecoder } from './watch-decoder.js'
export { WorkQueue, type WorkQueueOptions } from './work-queue.js'
