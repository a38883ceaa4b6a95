// Status texts from k8s.io/apimachinery pkg/api/errors/errors.go (v0.32) and what kubectl printed
// against a real api-server (shared/reference/kubectl-wire.md §7).
import { describe, expect, it } from 'vitest'
import {
  alreadyExists,
  badRequest,
  conflict,
  forbidden,
  gone,
  internalError,
  invalid,
  methodNotSupported,
  namespaceTerminating,
  notFound,
  requestEntityTooLarge,
  StatusError,
  serverTimeout,
  serviceUnavailable,
  timeout,
  tooManyRequests,
  tooOldResourceVersion,
  unsupportedMediaType,
} from './status.js'
import { invalid as fieldInvalid, required } from './validation/field-errors.js'

const pods = { group: '', resource: 'pods' }
const deployments = { group: 'apps', resource: 'deployments' }

describe('Status constructors', () => {
  it.each([
    [notFound(pods, 'nginx'), 404, 'NotFound', 'pods "nginx" not found'],
    [notFound(deployments, 'web'), 404, 'NotFound', 'deployments.apps "web" not found'],
    [alreadyExists(pods, 'nginx'), 409, 'AlreadyExists', 'pods "nginx" already exists'],
    [
      conflict(pods, 'x'),
      409,
      'Conflict',
      'Operation cannot be fulfilled on pods "x": the object has been modified; please apply your changes to the latest version and try again',
    ],
    [badRequest('bad'), 400, 'BadRequest', 'bad'],
    [
      methodNotSupported(pods, 'create'),
      405,
      'MethodNotAllowed',
      'create is not supported on resources of kind "pods"',
    ],
    [
      unsupportedMediaType(['application/json', 'application/yaml']),
      415,
      'UnsupportedMediaType',
      'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml',
    ],
    [
      requestEntityTooLarge('limit is 3145728'),
      413,
      'RequestEntityTooLarge',
      'Request entity too large: limit is 3145728',
    ],
    [tooManyRequests(1), 429, 'TooManyRequests', 'Too many requests, please try again later.'],
    [gone('gone'), 410, 'Gone', 'gone'],
    [tooOldResourceVersion(5, 100), 410, 'Expired', 'too old resource version: 5 (100)'],
    [
      timeout('request did not complete within 1m0s'),
      504,
      'Timeout',
      'Timeout: request did not complete within 1m0s',
    ],
    [
      serverTimeout(pods, 'get', 2),
      500,
      'ServerTimeout',
      'The get operation against pods could not be completed at this time, please try again.',
    ],
    [serviceUnavailable('storage unavailable'), 503, 'ServiceUnavailable', 'storage unavailable'],
    [forbidden(pods, 'x', 'no'), 403, 'Forbidden', 'pods "x" is forbidden: no'],
    [forbidden(pods, '', 'no'), 403, 'Forbidden', 'pods is forbidden: no'],
    [internalError('boom'), 500, 'InternalError', 'Internal error occurred: boom'],
  ])('%#: %s', (err, code, reason, message) => {
    expect(err).toBeInstanceOf(StatusError)
    expect(err.code).toBe(code)
    expect(err.reason).toBe(reason)
    expect(err.message).toBe(message)
    expect(err.toJSON()).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      code,
      reason,
      message,
    })
  })

  it('NotFound details name the resource as kind, with the group for non-core groups', () => {
    expect(notFound(pods, 'nginx').status.details).toEqual({ name: 'nginx', kind: 'pods' })
    expect(notFound(deployments, 'web').status.details).toEqual({
      name: 'web',
      group: 'apps',
      kind: 'deployments',
    })
  })

  it('carries retryAfterSeconds only when positive (Go omitempty)', () => {
    expect(tooManyRequests(3).retryAfterSeconds).toBe(3)
    expect(timeout('x').status.details).toEqual({})
  })

  it('Invalid: message aggregates field errors; causes carry reason, body and field', () => {
    const one = invalid({ group: '', kind: 'Pod' }, 'x', [required('spec.containers')])
    expect(one.code).toBe(422)
    expect(one.message).toBe('Pod "x" is invalid: spec.containers: Required value')
    expect(one.status.details).toEqual({
      name: 'x',
      kind: 'Pod',
      causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers' }],
    })
    const two = invalid({ group: 'apps', kind: 'Deployment' }, 'web', [
      required('spec.selector'),
      fieldInvalid('spec.replicas', -1, 'must be greater than or equal to 0'),
      required('spec.selector'),
    ])
    expect(two.message).toBe(
      'Deployment.apps "web" is invalid: [spec.selector: Required value, spec.replicas: Invalid value: -1: must be greater than or equal to 0]',
    )
    expect(two.status.details?.group).toBe('apps')
    expect(invalid({ group: '', kind: 'Pod' }, 'x', []).message).toBe('Pod "x" is invalid')
  })

  it('NamespaceTerminating is a Forbidden with a cause', () => {
    const e = namespaceTerminating(pods, 'p', 'ns1')
    expect(e.message).toBe(
      'pods "p" is forbidden: unable to create new content in namespace ns1 because it is being terminated',
    )
    expect(e.status.details?.causes?.[0]?.reason).toBe('NamespaceTerminating')
  })

  it('fromStatus round-trips a wire body and rejects non-Status bodies', () => {
    const back = StatusError.fromStatus(JSON.parse(JSON.stringify(notFound(pods, 'a'))))
    expect(back?.message).toBe('pods "a" not found')
    expect(back?.code).toBe(404)
    expect(StatusError.fromStatus({ kind: 'Pod' })).toBeUndefined()
  })
})
