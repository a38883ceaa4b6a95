/** hakube-store's etcd 3.4 flags, ETCD_* variables and config file (precedence: parse.ts). */

export { parseStoreFlags, type StoreFlagsIo } from './config-file.js'
export { type FlagSpec, flagToEnv, STORE_FLAGS, storeHelpText } from './flags.js'
export {
  type ConfigFileLoader,
  ETCD_API_VERSION,
  parseStoreArgs,
  STORE_VERSION,
  type StoreFlagsResult,
  storeVersionText,
} from './parse.js'
export {
  checkStoreValues,
  DEFAULT_QUOTA_BYTES,
  DEFAULT_SNAPSHOT_COUNT,
  type ListenAddress,
  type LogLevel,
  MAX_ELECTION_MS,
  type StoreConfig,
} from './schema.js'
