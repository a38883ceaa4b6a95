/**
 * Loads hakube-store's etcd v3 proto definitions (`packages/store/proto`) as @grpc/proto-loader's
 * `fromJSON` would, from their JSON descriptor generated at build time (etcd-proto.generated.ts,
 * scripts/gen-etcd-proto.mjs): the same definitions, without parsing the .proto files on each start or
 * finding them on disk, and with the parts that depend only on the protos computed at build time too
 * (package-definition.ts).
 *
 * Options chosen for exactness at the edge: int64/uint64 decode as decimal strings (`longs: String`, no
 * precision loss for lease ids), enums as their names, bytes as Buffers, proto field names kept
 * (`keepCase`), defaults filled in for absent scalar fields, and oneofs name their set member.
 */
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { type GrpcObject, loadPackageDefinition, type ServiceDefinition } from '@grpc/grpc-js'
import type { MessageTypeDefinition, PackageDefinition } from '@grpc/proto-loader'
import protobuf from 'protobufjs'
import { ETCD_PROTO_JSON } from './etcd-proto.generated.js'
import { GogoUnmarshal } from './gogo-unmarshal.js'
import { etcdPackageDefinition } from './package-definition.js'

/** Where the .proto files live (same relative path from src/grpc and dist/grpc); the descriptor's source. */
export const PROTO_DIR = fileURLToPath(new URL('../../proto', import.meta.url))

export interface EtcdProto {
  packageDefinition: PackageDefinition
  services: {
    KV: ServiceDefinition
    Watch: ServiceDefinition
    Lease: ServiceDefinition
    Cluster: ServiceDefinition
    Maintenance: ServiceDefinition
    Auth: ServiceDefinition
  }
  /** Descriptor of a message by its full name (`etcdserverpb.RangeRequest`), for the JSON gateway. */
  message(fullName: string): MessageTypeDefinition<unknown, unknown>
}

let cached: EtcdProto | undefined

/**
 * A request message that did not decode. grpc-js would answer such a call itself with Internal "Error
 * deserializing request"; the services answer instead as etcd's grpc-go does (see grpc-services.ts), so
 * the request deserializers return this rather than throw.
 */
export class UndecodableRequest {
  constructor(readonly reason: string) {}
}

/** protobufjs' decoding errors in gogoproto's words (for what the gogoproto walk let through). */
function goProtoReason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err)
  if (/index out of range/.test(msg)) return 'unexpected EOF'
  const wire = /invalid wire type (\d+)/.exec(msg)
  if (wire !== null) return `proto: illegal wireType ${wire[1]}`
  return `proto: ${msg}`
}

/**
 * The service with request deserializers that never throw: bytes etcd's gogoproto code refuses (see
 * gogo-unmarshal.ts), or protobufjs cannot decode, become an {@link UndecodableRequest} with etcd's words.
 */
function tolerant(def: ServiceDefinition, gogo: GogoUnmarshal): ServiceDefinition {
  const out: Record<string, unknown> = {}
  for (const [name, m] of Object.entries(def)) {
    const requestType = (m as { requestType?: { type?: { name?: string } } }).requestType?.type?.name
    const full = `etcdserverpb.${requestType ?? ''}`
    out[name] = {
      ...m,
      requestDeserialize: (bytes: Buffer): unknown => {
        const refused = requestType === undefined ? undefined : gogo.check(full, bytes)
        if (refused !== undefined) return new UndecodableRequest(refused)
        try {
          return m.requestDeserialize(bytes)
        } catch (err) {
          // gogoproto accepted these bytes: what protobufjs cannot read (a key longer than 32 bits,
          // unknown fields it trips on) is read again in the form gogoproto would have kept.
          if (requestType !== undefined) {
            try {
              return m.requestDeserialize(Buffer.from(gogo.canonical(full, bytes)))
            } catch {}
          }
          return new UndecodableRequest(goProtoReason(err))
        }
      },
    }
  }
  return out as ServiceDefinition
}

/** The largest uint64, which a double cannot hold. */
const MAX_UINT64 = '18446744073709551615'

/** Whether protobufjs reads and writes a uint64 without going through a double. */
function int64Exact(): boolean {
  const t = protobuf.Root.fromJSON({
    nested: { P: { fields: { v: { type: 'uint64', id: 1 } } } },
  }).lookupType('P')
  const back = t.toObject(t.decode(t.encode(t.fromObject({ v: MAX_UINT64 })).finish()), { longs: String })
  return back['v'] === MAX_UINT64
}

/**
 * NB: protobufjs finds Long.js with a CommonJS `require` that fails under some loaders (vitest's among
 * them); it then decodes int64 through doubles and loses precision (lease ids are random 63-bit
 * numbers). Checked with a round trip first: where protobufjs found it (plain Node, and a bundle, whose
 * protobufjs is not the one in node_modules), nothing is touched. Otherwise hand protobufjs the Long
 * class proto-loader depends on; if that did not fix it, fail rather than serve lease ids through doubles.
 */
function ensureLongPrecision(): void {
  if (int64Exact()) return
  const requireFromLoader = createRequire(createRequire(import.meta.url).resolve('@grpc/proto-loader'))
  const long = requireFromLoader('long') as { default?: unknown; fromNumber?: unknown }
  // The ESM/CJS interop may wrap the class in a namespace object.
  const LongClass = typeof long.fromNumber === 'function' ? long : long.default
  const pb = protobuf as unknown as { util: { Long: unknown }; configure(): void }
  if (pb.util.Long !== LongClass) {
    pb.util.Long = LongClass
    pb.configure()
  }
  if (!int64Exact()) throw new Error('proto: protobufjs has no Long class: int64 fields would lose precision')
}

export function loadEtcdProto(): EtcdProto {
  if (cached !== undefined) return cached
  ensureLongPrecision()
  // keepCase is the generator's parse option (the descriptor keeps the proto field names).
  const packageDefinition = etcdPackageDefinition(ETCD_PROTO_JSON, {
    keepCase: true,
    longs: String,
    enums: String,
    bytes: Buffer,
    defaults: true,
    oneofs: true,
  })
  const grpcObject = loadPackageDefinition(packageDefinition)
  const pkg = grpcObject['etcdserverpb'] as GrpcObject
  const gogo = new GogoUnmarshal(packageDefinition)
  const service = (name: string): ServiceDefinition => {
    const ctor = pkg[name] as { service?: ServiceDefinition } | undefined
    if (ctor?.service === undefined) throw new Error(`proto: service etcdserverpb.${name} missing`)
    return tolerant(ctor.service, gogo)
  }
  cached = {
    packageDefinition,
    services: {
      KV: service('KV'),
      Watch: service('Watch'),
      Lease: service('Lease'),
      Cluster: service('Cluster'),
      Maintenance: service('Maintenance'),
      Auth: service('Auth'),
    },
    message(fullName) {
      const def = packageDefinition[fullName] as MessageTypeDefinition<unknown, unknown> | undefined
      if (def === undefined || !('type' in def)) throw new Error(`proto: message ${fullName} missing`)
      return def
    },
  }
  return cached
}
