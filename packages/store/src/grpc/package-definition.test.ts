/**
 * The package definition built from the generated statics (package-definition.ts) is proto-loader's
 * `fromJSON` of the same descriptor: the same names in the same order, the same descriptors, method
 * paths, names and options, and serializers that write the same bytes and read the same objects, for
 * every message's defaults and for requests and responses with int64 extremes, bytes, oneofs, enums,
 * nested and repeated (packed) fields. Also: the generated files are up to date with proto/.
 */
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { MessageTypeDefinition, PackageDefinition } from '@grpc/proto-loader'
import { fromJSON } from '@grpc/proto-loader'
import { describe, expect, it } from 'vitest'
import { ETCD_PROTO_JSON } from './etcd-proto.generated.js'
import { etcdPackageDefinition } from './package-definition.js'
import { loadEtcdProto } from './proto.js'

const OPTIONS = { keepCase: true, longs: String, enums: String, bytes: Buffer, defaults: true, oneofs: true }

// loadEtcdProto first: it makes sure protobufjs has its Long class (under vitest it may not find it).
loadEtcdProto()
const ours = etcdPackageDefinition(ETCD_PROTO_JSON, OPTIONS)
const theirs = fromJSON(ETCD_PROTO_JSON, OPTIONS)

/** A definition without its functions (serializers), for structural comparison. */
function shape(def: PackageDefinition[string] | undefined): unknown {
  return JSON.parse(
    JSON.stringify(def, (_key, v: unknown) => {
      if (typeof v === 'function') return `[function]`
      if (v !== null && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer') return v
      return v
    }),
  )
}

const messageNames = Object.keys(theirs).filter((n) =>
  (theirs[n] as { format?: string }).format?.endsWith(' DescriptorProto'),
)
const msg = (def: PackageDefinition, name: string) => def[name] as MessageTypeDefinition<object, object>

describe('etcdPackageDefinition', () => {
  it('has proto-loader fromJSON names, descriptors, paths and options', () => {
    expect(Object.keys(ours)).toEqual(Object.keys(theirs))
    for (const name of Object.keys(theirs)) expect(shape(ours[name]), name).toEqual(shape(theirs[name]))
    expect(messageNames.length).toBeGreaterThan(90)
  })

  it('reads and writes every message default as proto-loader does', () => {
    for (const name of messageNames) {
      const a = msg(ours, name).deserialize(Buffer.alloc(0))
      const b = msg(theirs, name).deserialize(Buffer.alloc(0))
      expect(a, name).toEqual(b)
      expect(Buffer.from(msg(ours, name).serialize(a)), name).toEqual(
        Buffer.from(msg(theirs, name).serialize(b)),
      )
    }
  })

  const cases: Array<[string, object]> = [
    [
      'etcdserverpb.PutRequest',
      {
        key: Buffer.from('k\u0000ey'),
        value: Buffer.alloc(300, 7),
        lease: '9223372036854775807',
        prev_kv: true,
      },
    ],
    [
      'etcdserverpb.RangeResponse',
      {
        header: {
          cluster_id: '18446744073709551615',
          member_id: '1',
          revision: '-9223372036854775808',
          raft_term: '3',
        },
        kvs: [
          {
            key: Buffer.from('a'),
            create_revision: '2',
            mod_revision: '5',
            version: '2',
            value: Buffer.from('v'),
            lease: '0',
          },
        ],
        more: true,
        count: '12',
      },
    ],
    [
      'etcdserverpb.TxnRequest',
      {
        compare: [
          {
            result: 'NOT_EQUAL',
            target: 'MOD',
            key: Buffer.from('x'),
            mod_revision: '7',
            range_end: Buffer.from('y'),
          },
        ],
        success: [
          { request_put: { key: Buffer.from('x'), value: Buffer.from('1') } },
          { request_range: { key: Buffer.from('x'), sort_order: 'DESCEND', sort_target: 'VALUE' } },
        ],
        failure: [
          { request_txn: { success: [{ request_delete_range: { key: Buffer.from('z'), prev_kv: true } }] } },
        ],
      },
    ],
    [
      'etcdserverpb.WatchRequest',
      {
        create_request: {
          key: Buffer.from('/r/'),
          range_end: Buffer.from('/r0'),
          filters: ['NOPUT', 'NODELETE'],
          start_revision: '4',
          prev_kv: true,
          watch_id: '-1',
        },
      },
    ],
    [
      'etcdserverpb.WatchResponse',
      {
        watch_id: '3',
        events: [
          {
            type: 'DELETE',
            kv: { key: Buffer.from('a'), mod_revision: '9' },
            prev_kv: { key: Buffer.from('a'), value: Buffer.from('old') },
          },
          { type: 'PUT', kv: { key: Buffer.from('b') } },
        ],
        cancel_reason: 'é',
      },
    ],
    [
      'etcdserverpb.LeaseTimeToLiveResponse',
      { ID: '7587869345123456789', TTL: '-1', grantedTTL: '60', keys: [Buffer.from('a'), Buffer.alloc(0)] },
    ],
    [
      'etcdserverpb.MemberListResponse',
      {
        members: [
          {
            ID: '12345678901234567890',
            name: 's1',
            peerURLs: ['http://127.0.2.250:2380'],
            clientURLs: [],
            isLearner: true,
          },
        ],
      },
    ],
    [
      'etcdserverpb.AlarmResponse',
      {
        alarms: [
          { memberID: '1', alarm: 'NOSPACE' },
          { memberID: '2', alarm: 'CORRUPT' },
        ],
      },
    ],
    [
      'etcdserverpb.AuthRoleGrantPermissionRequest',
      { name: 'r', perm: { permType: 'READWRITE', key: Buffer.from('k'), range_end: Buffer.from('\u0000') } },
    ],
  ]
  it.each(cases)('%s: the same bytes and the same object back', (name, value) => {
    const bytes = Buffer.from(msg(ours, name).serialize(value))
    expect(bytes).toEqual(Buffer.from(msg(theirs, name).serialize(value)))
    expect(bytes.length).toBeGreaterThan(0)
    expect(msg(ours, name).deserialize(bytes)).toEqual(msg(theirs, name).deserialize(bytes))
  })

  it('serializers refuse an array as proto-loader does', () => {
    const name = 'etcdserverpb.PutRequest'
    expect(() => msg(ours, name).serialize([] as unknown as object)).toThrow(
      'Failed to serialize message: expected object with PutRequest structure, got array instead',
    )
  })

  it('the generated files are up to date with proto/', () => {
    const script = fileURLToPath(new URL('../../scripts/gen-etcd-proto.mjs', import.meta.url))
    expect(() => execFileSync(process.execPath, [script, '--check'], { stdio: 'pipe' })).not.toThrow()
  })
})
