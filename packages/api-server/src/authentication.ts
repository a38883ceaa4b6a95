/**
 * Request authentication by client certificate, as kube-apiserver does it with --client-ca-file
 * (k8s.io/apiserver pkg/authentication/request/x509, with anonymous requests allowed, kube's default):
 *
 * - the TLS server asks every client for a certificate but does not require one;
 * - a certificate that verifies against the client CA (and may be used for client authentication)
 *   makes the user its subject's CommonName, with one group per Organization, plus
 *   `system:authenticated`;
 * - no certificate at all: `system:anonymous` in `system:unauthenticated`;
 * - a certificate that does not verify: 401 Unauthorized, as kube's union authenticator fails the
 *   request rather than falling back to anonymous.
 *
 * Without --client-ca-file (or without TLS) no certificate is asked for and every request is
 * anonymous. hakube has no authorization: the user is known (SelfSubjectReview, `kubectl auth
 * whoami`), nothing is refused for it.
 *
 * SelfSubjectReview (authentication.k8s.io/v1, `POST /apis/authentication.k8s.io/v1/selfsubjectreviews`)
 * answers who the server takes the caller for; it is never stored.
 */
import type { TLSSocket } from 'node:tls'
import { StatusError } from '@hakube/api'
import type { FastifyInstance, FastifyRequest } from 'fastify'

/** user.Info as the authenticators produce it (no UID or extra from certificates). */
export interface UserInfo {
  readonly username: string
  readonly groups: readonly string[]
}

export const ANONYMOUS: UserInfo = { username: 'system:anonymous', groups: ['system:unauthenticated'] }

/** x509's ExtKeyUsageClientAuth and ExtKeyUsageAny, as OIDs. */
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2'
const ANY_USAGE = '2.5.29.37.0'

/** The part of a peer certificate (tls.PeerCertificate) authentication reads. */
export interface PeerCertificateLike {
  subject?: Record<string, string | string[] | undefined>
  ext_key_usage?: string[]
}

/** What the TLS socket of a request says about its client's certificate. */
export interface ClientCertificateState {
  /** The certificate presented, or undefined when none was. */
  certificate: PeerCertificateLike | undefined
  /** True when it verified against the client CA. */
  authorized: boolean
  /** Why it did not verify (openssl's code), when it did not. */
  authorizationError: string | undefined
}

export function unauthorized(): StatusError {
  return new StatusError({ code: 401, reason: 'Unauthorized', message: 'Unauthorized' })
}

const asList = (v: string | string[] | undefined): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v]

/**
 * The user a client certificate stands for, ANONYMOUS without one, or a 401 StatusError for one that
 * does not verify or is not for client authentication. Go's pkix keeps the last CommonName of a
 * subject that has several.
 */
export function userFromCertificate(state: ClientCertificateState): UserInfo | StatusError {
  const cert = state.certificate
  if (cert === undefined) return ANONYMOUS
  if (!state.authorized) return unauthorized()
  const usages = cert.ext_key_usage
  if (usages !== undefined && !usages.includes(CLIENT_AUTH) && !usages.includes(ANY_USAGE))
    return unauthorized()
  const username = asList(cert.subject?.['CN']).at(-1) ?? ''
  // kube's x509 CommonNameUserConversion refuses a certificate without a CommonName.
  if (username === '') return unauthorized()
  return { username, groups: [...asList(cert.subject?.['O']), 'system:authenticated'] }
}

/** The client certificate state of a request's socket (plain HTTP: no certificate). */
export function clientCertificateOf(socket: unknown): ClientCertificateState {
  const tls = socket as Partial<TLSSocket>
  if (typeof tls.getPeerCertificate !== 'function')
    return { certificate: undefined, authorized: false, authorizationError: undefined }
  const peer = tls.getPeerCertificate()
  // No certificate: node answers an empty object.
  const presented = peer !== null && typeof peer === 'object' && Object.keys(peer).length > 0
  return {
    certificate: presented ? (peer as PeerCertificateLike) : undefined,
    authorized: tls.authorized === true,
    authorizationError:
      tls.authorizationError === undefined || tls.authorizationError === null
        ? undefined
        : String(tls.authorizationError),
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the request authenticated as (set by the authentication hook before any handler). */
    user: UserInfo | undefined
  }
}

/** Authentication is per connection: each socket's user is worked out once. */
const bySocket = new WeakMap<object, UserInfo | StatusError>()

/**
 * Installs the authentication filter on `app`: every request gets `req.user`, or a 401 Status when its
 * client certificate does not verify. Registered before the other onRequest hooks, as kube's
 * WithAuthentication runs before max-in-flight.
 */
export function installAuthentication(app: FastifyInstance): void {
  app.decorateRequest('user', undefined)
  app.addHook('onRequest', async (req, reply) => {
    const socket = req.raw.socket
    let user = bySocket.get(socket)
    if (user === undefined) {
      user = userFromCertificate(clientCertificateOf(socket))
      bySocket.set(socket, user)
    }
    if (user instanceof StatusError) {
      req.raw.resume()
      return reply.code(user.code).send(user.toJSON())
    }
    req.user = user
    return undefined
  })
}

/** authentication.k8s.io, served for SelfSubjectReview only. */
export const AUTHENTICATION_GROUP = 'authentication.k8s.io'

/** The SelfSubjectReview a user gets back (kube fills only status.userInfo). */
export function selfSubjectReview(user: UserInfo): object {
  return {
    kind: 'SelfSubjectReview',
    apiVersion: `${AUTHENTICATION_GROUP}/v1`,
    metadata: { creationTimestamp: null },
    status: { userInfo: { username: user.username, groups: [...user.groups] } },
  }
}

/**
 * `POST /apis/authentication.k8s.io/v1/selfsubjectreviews`: 201 with the caller's user. kubectl sends
 * the (empty) review as protobuf; nothing in it is read (kube ignores its contents too), so any body
 * is taken, unparsed, whatever its Content-Type. The answer is JSON, which kubectl also accepts.
 */
export function registerSelfSubjectReview(app: FastifyInstance): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, _body, done) => done(null, undefined))
    scope.post(`/apis/${AUTHENTICATION_GROUP}/v1/selfsubjectreviews`, async (req: FastifyRequest, reply) =>
      reply.code(201).send(selfSubjectReview(req.user ?? ANONYMOUS)),
    )
  })
}
