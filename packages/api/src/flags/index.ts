/**
 * Command-line flags as the Kubernetes binaries take them (pflag syntax, Go durations), for
 * hakube-apiserver, -controller-manager, -scheduler and the other components.
 */
export { type BinaryFlagsResult, type BinaryOptions, runBinary } from './binary.js'
export {
  type ComponentLogLevel,
  type ComponentOptions,
  componentFlags,
  componentOptions,
} from './component.js'
export { formatGoDuration, parseGoDuration } from './go-duration.js'
export {
  type FlagDef,
  type FlagType,
  type FlagValues,
  flag,
  flagUsages,
  type ParsedFlags,
  parseFlags,
} from './pflag.js'
