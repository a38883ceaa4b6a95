/** hakube-store's etcd 3.4 flags, ETCD_* variables and config file (precedence: parse.ts). */
export { type FlagSpec, flagToEnv, STORE_FLAGS, storeHelpText } from './flags.js'
export {
  ETCD_API_VERSION,
  parseStoreFlags,
  STORE_VERSION,
  type StoreFlagsIo,
  type StoreFlagsResult,
  storeVersionText,
} from './parse.js'
export {
  DEFAULT_QUOTA_BYTES,
  DEFAULT_SNAPSHOT_COUNT,
  type ListenAddress,
  type LogLevel,
  MAX_ELECTION_MS,
  type StoreConfig,
  storeFlagsSchema,
} from './schema.js'
