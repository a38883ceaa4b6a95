/**
 * @grpc/proto-loader's `fromJSON` for the etcd protos, without its start-up cost: proto-loader builds each
 * message's DescriptorProto object (and again for every method's request and response) and encodes the
 * FileDescriptorProtos through protobufjs' descriptor extension on every start, which took longer than
 * the rest of the store's gRPC set-up. Those parts depend only on the protos, so the build computes them
 * with proto-loader itself (scripts/gen-etcd-proto.mjs → etcd-proto-definition.generated.ts) and this
 * module adds what proto-loader adds at run time: the protobufjs root from the same JSON descriptor
 * (resolved as proto-loader resolves it) and, per message and method, proto-loader's serializers
 * (`fromObject` then `encode`) and deserializers (`decode` then `toObject` with the load options). The
 * result has proto-loader's shape and values (package-definition.test.ts compares the two).
 */
import type {
  EnumTypeDefinition,
  MessageTypeDefinition,
  MethodDefinition,
  Options,
  PackageDefinition,
  ServiceDefinition,
} from '@grpc/proto-loader'
import protobuf from 'protobufjs'
import { ETCD_FILE_DESCRIPTOR_PROTOS, ETCD_PROTO_STATICS } from './etcd-proto-definition.generated.js'

interface StaticMessage {
  format: string
  type: object
}

interface StaticMethod {
  path: string
  requestStream: boolean
  responseStream: boolean
  originalName: string
  options: MethodDefinition<unknown, unknown>['options']
  requestType: string
  responseType: string
}

type Serialize = (value: object) => Buffer
type Deserialize = (bytes: Buffer) => object

/** proto-loader's createSerializer. */
function serializer(cls: protobuf.Type): Serialize {
  return (arg) => {
    if (Array.isArray(arg)) {
      throw new Error(
        `Failed to serialize message: expected object with ${cls.name} structure, got array instead`,
      )
    }
    return cls.encode(cls.fromObject(arg)).finish() as Buffer
  }
}

/** proto-loader's createDeserializer. */
function deserializer(cls: protobuf.Type, options: Options): Deserialize {
  return (bytes) => cls.toObject(cls.decode(bytes), options)
}

/**
 * The package definition proto-loader's `fromJSON(json, options)` returns, for the descriptor the build
 * generated from proto/ (`json` must be that descriptor: the static parts come from it).
 */
export function etcdPackageDefinition(json: Record<string, unknown>, options: Options): PackageDefinition {
  const root = protobuf.Root.fromJSON(json)
  root.resolveAll()
  const files = ETCD_FILE_DESCRIPTOR_PROTOS.map((b) => Buffer.from(b, 'base64'))
  const statics = ETCD_PROTO_STATICS as Record<
    string,
    StaticMessage | { methods: Record<string, StaticMethod> }
  >
  const messages = new Map<string, MessageTypeDefinition<object, object>>()
  const message = (name: string): MessageTypeDefinition<object, object> => {
    let def = messages.get(name)
    if (def === undefined) {
      const s = statics[name]
      if (s === undefined || !('format' in s)) throw new Error(`proto: message ${name} missing`)
      const cls = root.lookupType(name)
      def = {
        format: s.format as MessageTypeDefinition<object, object>['format'],
        type: s.type as MessageTypeDefinition<object, object>['type'],
        fileDescriptorProtos: files,
        serialize: serializer(cls),
        deserialize: deserializer(cls, options),
      }
      messages.set(name, def)
    }
    return def
  }
  const out: PackageDefinition = {}
  for (const [name, s] of Object.entries(statics)) {
    if ('methods' in s) {
      const service: ServiceDefinition = {}
      for (const [methodName, m] of Object.entries(s.methods)) {
        const request = message(m.requestType)
        const response = message(m.responseType)
        service[methodName] = {
          path: m.path,
          requestStream: m.requestStream,
          responseStream: m.responseStream,
          requestSerialize: request.serialize,
          requestDeserialize: request.deserialize,
          responseSerialize: response.serialize,
          responseDeserialize: response.deserialize,
          originalName: m.originalName,
          requestType: request,
          responseType: response,
          options: m.options,
        }
      }
      out[name] = service
    } else if (s.format === 'Protocol Buffer 3 EnumDescriptorProto') {
      out[name] = {
        format: s.format,
        type: s.type,
        fileDescriptorProtos: files,
      } as EnumTypeDefinition
    } else out[name] = message(name)
  }
  return out
}
