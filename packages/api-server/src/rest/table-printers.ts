/**
 * The columns and cells kube-apiserver prints for each kind (pkg/printers/internalversion/printers.go,
 * 1.32), as pure functions of an object and the current time: the api-server always generates the wide
 * form (GenerateOptions{Wide: true}) and kubectl drops the priority > 0 columns unless `-o wide`.
 *
 * Cells follow kube's types: `integer` columns carry numbers, everything else strings. Ages are
 * duration.HumanDuration of `now - timestamp` ("45s", "5m3s", "3h4m", "2d3h", "<unknown>" for no
 * timestamp, "<invalid>" for one more than a second in the future).
 *
 * Non-guarantee: objects are read leniently (a missing or mistyped field reads as empty), so a cell
 * may differ from kube's for objects kube's validation would have refused.
 *
 * This file holds the registry of printers by kind, the default printer, and the printers of events
 * and of the small kinds (a name, one or two cells and an age); the bigger groups are in
 * table-printers-pods.ts, table-printers-apps.ts and table-printers-services.ts, all built from
 * table-cells.ts.
 */
import {
  age,
  ageCol,
  at,
  CREATED_DESC,
  col,
  int,
  list,
  map,
  name,
  nameCol,
  type PrintedRow,
  type Printer,
  str,
  timeOf,
  translateTimestampSince,
} from './table-cells.js'
import { DEPLOYMENT_PRINTER, REPLICA_SET_PRINTER } from './table-printers-apps.js'
import { NODE_PRINTER, POD_PRINTER } from './table-printers-pods.js'
import { ENDPOINTS_PRINTER, SERVICE_PRINTER } from './table-printers-services.js'

// ---------------------------------------------------------------------------------------------
// Events.

const eventColumns = [
  col('Last Seen', 'string', 'The time at which the most recent occurrence of this event was recorded.'),
  col('Type', 'string', 'Type of this event (Normal, Warning), new types could be added in the future'),
  col(
    'Reason',
    'string',
    "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
  ),
  col('Object', 'string', 'The object that this event is about.'),
  col(
    'Subobject',
    'string',
    'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: "spec.containers{name}" (where "name" refers to the name of the container that triggered the event) or if no container name is specified "spec.containers[2]" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.',
    1,
  ),
  col(
    'Source',
    'string',
    'The component reporting this event. Should be a short machine understandable string.',
    1,
  ),
  col('Message', 'string', 'A human-readable description of the status of this operation.'),
  col(
    'First Seen',
    'string',
    'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)',
    1,
  ),
  col('Count', 'string', 'The number of times this event has occurred.', 1),
  nameCol(1),
]

function printEvent(ev: unknown, nowMs: number): PrintedRow {
  let firstSeen = translateTimestampSince(at(ev, 'firstTimestamp'), nowMs)
  if (timeOf(at(ev, 'firstTimestamp')) === undefined)
    firstSeen = translateTimestampSince(at(ev, 'eventTime'), nowMs)
  let lastSeen = translateTimestampSince(at(ev, 'lastTimestamp'), nowMs)
  if (timeOf(at(ev, 'lastTimestamp')) === undefined) lastSeen = firstSeen
  let count = int(ev, 'count')
  if (at(ev, 'series') !== undefined && at(ev, 'series') !== null) {
    lastSeen = translateTimestampSince(at(ev, 'series', 'lastObservedTime'), nowMs)
    count = int(ev, 'series', 'count')
  } else if (count === 0) count = 1 // singleton events of the events.k8s.io API carry no count
  const kind = str(ev, 'involvedObject', 'kind').toLowerCase()
  const target =
    str(ev, 'involvedObject', 'name') !== '' ? `${kind}/${str(ev, 'involvedObject', 'name')}` : kind
  const component = str(ev, 'source', 'component') || str(ev, 'reportingComponent')
  const host = str(ev, 'source', 'host') || str(ev, 'reportingInstance')
  return {
    cells: [
      lastSeen,
      str(ev, 'type'),
      str(ev, 'reason'),
      target,
      str(ev, 'involvedObject', 'fieldPath'),
      host === '' ? component : `${component}, ${host}`,
      str(ev, 'message').trim(),
      firstSeen,
      count,
      str(ev, 'metadata', 'name'),
    ],
  }
}

// ---------------------------------------------------------------------------------------------
// The small kinds.

const namespaceColumns = [nameCol(), col('Status', 'string', 'The status of the namespace'), ageCol()]
const secretColumns = [
  nameCol(),
  col(
    'Type',
    'string',
    'Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types',
  ),
  col(
    'Data',
    'string',
    "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
  ),
  ageCol(),
]
const serviceAccountColumns = [
  nameCol(),
  col(
    'Secrets',
    'string',
    'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a "kubernetes.io/enforce-mountable-secrets" annotation set to "true". The "kubernetes.io/enforce-mountable-secrets" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret',
  ),
  ageCol(),
]
const configMapColumns = [
  nameCol(),
  col(
    'Data',
    'string',
    "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
  ),
  ageCol(),
]
const leaseColumns = [
  nameCol(),
  col(
    'Holder',
    'string',
    'holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.',
  ),
  ageCol(),
]

const PRINTERS: Readonly<Record<string, Printer>> = Object.freeze({
  Pod: POD_PRINTER,
  Node: NODE_PRINTER,
  Deployment: DEPLOYMENT_PRINTER,
  ReplicaSet: REPLICA_SET_PRINTER,
  Service: SERVICE_PRINTER,
  Endpoints: ENDPOINTS_PRINTER,
  Event: { columns: eventColumns, print: printEvent },
  Namespace: {
    columns: namespaceColumns,
    print: (o, now) => ({ cells: [name(o), str(o, 'status', 'phase'), age(o, now)] }),
  },
  Secret: {
    columns: secretColumns,
    print: (o, now) => ({
      cells: [name(o), str(o, 'type'), Object.keys(map(o, 'data')).length, age(o, now)],
    }),
  },
  ServiceAccount: {
    columns: serviceAccountColumns,
    print: (o, now) => ({ cells: [name(o), list(o, 'secrets').length, age(o, now)] }),
  },
  ConfigMap: {
    columns: configMapColumns,
    print: (o, now) => ({
      cells: [
        name(o),
        Object.keys(map(o, 'data')).length + Object.keys(map(o, 'binaryData')).length,
        age(o, now),
      ],
    }),
  },
  Lease: {
    columns: leaseColumns,
    print: (o, now) => ({ cells: [name(o), str(o, 'spec', 'holderIdentity'), age(o, now)] }),
  },
})

/**
 * rest.NewDefaultTableConvertor (k8s.io/apiserver pkg/registry/rest/table.go), for a kind without a
 * printer: Name and `Created At` as an RFC 3339 date.
 */
export const DEFAULT_PRINTER: Printer = Object.freeze({
  columns: [nameCol(), col('Created At', 'date', CREATED_DESC)],
  print: (o: unknown) => {
    const t = timeOf(at(o, 'metadata', 'creationTimestamp'))
    // Go formats the zero time as 0001-01-01T00:00:00Z.
    const created =
      t === undefined ? '0001-01-01T00:00:00Z' : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z')
    return { cells: [name(o), created] }
  },
})

/** The printer for a kind (kube's printers.go handler), or the default table convertor's. */
export function printerFor(kind: string): Printer {
  return PRINTERS[kind] ?? DEFAULT_PRINTER
}
