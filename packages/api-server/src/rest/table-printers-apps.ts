/**
 * Table printers of the apps/v1 workloads (printers.go printDeployment, printReplicaSet, 1.32).
 */
import {
  ageCol,
  at,
  CONTAINERS_DESC,
  col,
  containerCells,
  formatLabelSelector,
  IMAGES_DESC,
  int,
  nameCol,
  type PrintedRow,
  type Printer,
  selectorString,
  str,
  translateTimestampSince,
} from './table-cells.js'

// ---------------------------------------------------------------------------------------------
// Workloads.

const deploymentColumns = [
  nameCol(),
  col('Ready', 'string', 'Number of the pod with ready state'),
  col(
    'Up-to-date',
    'string',
    'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
  ),
  col(
    'Available',
    'string',
    'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
  ),
  ageCol(),
  col('Containers', 'string', CONTAINERS_DESC, 1),
  col('Images', 'string', IMAGES_DESC, 1),
  col(
    'Selector',
    'string',
    'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.',
    1,
  ),
]

/** `spec.replicas` as the internal object has it after v1 defaulting (1 when unset). */
const desiredReplicas = (o: unknown): number => {
  const v = at(o, 'spec', 'replicas')
  return typeof v === 'number' ? v : 1
}

function printDeployment(d: unknown, nowMs: number): PrintedRow {
  const [names, images] = containerCells(at(d, 'spec', 'template', 'spec'))
  return {
    cells: [
      str(d, 'metadata', 'name'),
      `${int(d, 'status', 'readyReplicas')}/${desiredReplicas(d)}`,
      int(d, 'status', 'updatedReplicas'),
      int(d, 'status', 'availableReplicas'),
      translateTimestampSince(at(d, 'metadata', 'creationTimestamp'), nowMs),
      names,
      images,
      selectorString(at(d, 'spec', 'selector'), '<invalid>'),
    ],
  }
}

const replicaSetColumns = [
  nameCol(),
  col(
    'Desired',
    'integer',
    'Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller',
  ),
  col(
    'Current',
    'integer',
    'Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller',
  ),
  col('Ready', 'integer', 'The number of ready replicas for this replica set.'),
  ageCol(),
  col('Containers', 'string', CONTAINERS_DESC, 1),
  col('Images', 'string', IMAGES_DESC, 1),
  col(
    'Selector',
    'string',
    'Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors',
    1,
  ),
]

function printReplicaSet(rs: unknown, nowMs: number): PrintedRow {
  const [names, images] = containerCells(at(rs, 'spec', 'template', 'spec'))
  return {
    cells: [
      str(rs, 'metadata', 'name'),
      desiredReplicas(rs),
      int(rs, 'status', 'replicas'),
      int(rs, 'status', 'readyReplicas'),
      translateTimestampSince(at(rs, 'metadata', 'creationTimestamp'), nowMs),
      names,
      images,
      formatLabelSelector(at(rs, 'spec', 'selector')),
    ],
  }
}

export const DEPLOYMENT_PRINTER: Printer = { columns: deploymentColumns, print: printDeployment }
export const REPLICA_SET_PRINTER: Printer = { columns: replicaSetColumns, print: printReplicaSet }
