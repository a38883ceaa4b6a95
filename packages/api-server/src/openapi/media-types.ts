/** The media types of the OpenAPI v2 protobuf document (kube-openapi's handler). */

/** The media type kubectl asks the v2 protobuf document with. */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf'
/**
 * The Content-Type of the answer, and a second spelling accepted in Accept: `@` is not a token
 * character (RFC 9110), so the header uses the dotted form, as kube-openapi's handler does.
 */
export const OPENAPI_V2_PROTOBUF_CONTENT_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf'
