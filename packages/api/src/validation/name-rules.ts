/**
 * String rules of k8s.io/apimachinery pkg/util/validation/validation.go (v0.32): each returns the
 * list of messages Kubernetes would report (empty when valid), word for word.
 */

const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?'
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`
const DNS1035_LABEL_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?'
const QNAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'
const LABEL_VALUE_FMT = `(${QNAME_FMT})?`
const CONFIG_MAP_KEY_FMT = '[-._a-zA-Z0-9]+'
const PERCENT_FMT = '[0-9]+%'

const anchored = (fmt: string) => new RegExp(`^${fmt}$`)
const dns1123LabelRe = anchored(DNS1123_LABEL_FMT)
const dns1123SubdomainRe = anchored(DNS1123_SUBDOMAIN_FMT)
const dns1035LabelRe = anchored(DNS1035_LABEL_FMT)
const qnameRe = anchored(QNAME_FMT)
const labelValueRe = anchored(LABEL_VALUE_FMT)
const configMapKeyRe = anchored(CONFIG_MAP_KEY_FMT)
const percentRe = anchored(PERCENT_FMT)

/** `must be no more than N characters` */
export const maxLenError = (n: number) => `must be no more than ${n} characters`
/** `must be between lo and hi, inclusive` */
export const inclusiveRangeError = (lo: number, hi: number) => `must be between ${lo} and ${hi}, inclusive`
export const EMPTY_ERROR = 'must be non-empty'
export const IS_NEGATIVE_ERROR = 'must be greater than or equal to 0'
export const FIELD_IMMUTABLE = 'field is immutable'

/** validation.RegexError: `msg (e.g. 'a' or 'b', regex used for validation is 'fmt')`. */
export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${fmt}')`
}

/** Byte length, as Go's len(string). */
const byteLen = (s: string) => Buffer.byteLength(s, 'utf8')

export function isDNS1123Label(value: string): string[] {
  const errs: string[] = []
  if (byteLen(value) > 63) errs.push(maxLenError(63))
  if (!dns1123LabelRe.test(value)) {
    if (dns1123SubdomainRe.test(value)) errs.push('must not contain dots')
    else
      errs.push(
        regexError(
          "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
          DNS1123_LABEL_FMT,
          'my-name',
          '123-abc',
        ),
      )
  }
  return errs
}

export function isDNS1123Subdomain(value: string): string[] {
  const errs: string[] = []
  if (byteLen(value) > 253) errs.push(maxLenError(253))
  if (!dns1123SubdomainRe.test(value)) {
    errs.push(
      regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        DNS1123_SUBDOMAIN_FMT,
        'example.com',
      ),
    )
  }
  return errs
}

export function isDNS1035Label(value: string): string[] {
  const errs: string[] = []
  if (byteLen(value) > 63) errs.push(maxLenError(63))
  if (!dns1035LabelRe.test(value)) {
    errs.push(
      regexError(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
        DNS1035_LABEL_FMT,
        'my-name',
        'abc-123',
      ),
    )
  }
  return errs
}

const QNAME_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"

/** Label keys, annotation keys (lower-cased first), finalizers: `[prefix/]name`. */
export function isQualifiedName(value: string): string[] {
  const errs: string[] = []
  const parts = value.split('/')
  let name: string
  if (parts.length === 1) {
    name = parts[0]!
  } else if (parts.length === 2) {
    const prefix = parts[0]!
    name = parts[1]!
    if (prefix.length === 0) errs.push(`prefix part ${EMPTY_ERROR}`)
    else for (const m of isDNS1123Subdomain(prefix)) errs.push(`prefix part ${m}`)
  } else {
    return [
      `a qualified name ${regexError(QNAME_MSG, QNAME_FMT, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ]
  }
  if (name.length === 0) errs.push(`name part ${EMPTY_ERROR}`)
  else if (byteLen(name) > 63) errs.push(`name part ${maxLenError(63)}`)
  if (!qnameRe.test(name))
    errs.push(`name part ${regexError(QNAME_MSG, QNAME_FMT, 'MyName', 'my.name', '123-abc')}`)
  return errs
}

export function isValidLabelValue(value: string): string[] {
  const errs: string[] = []
  if (byteLen(value) > 63) errs.push(maxLenError(63))
  if (!labelValueRe.test(value)) {
    errs.push(
      regexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        LABEL_VALUE_FMT,
        'MyValue',
        'my_value',
        '12345',
      ),
    )
  }
  return errs
}

export function isValidPortNum(port: number): string[] {
  return port >= 1 && port <= 65535 ? [] : [inclusiveRangeError(1, 65535)]
}

export function isValidPortName(port: string): string[] {
  const errs: string[] = []
  if (port.length > 15) errs.push(maxLenError(15))
  if (!/^[-a-z0-9]+$/.test(port))
    errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)')
  if (!/[a-z]/.test(port)) errs.push('must contain at least one letter (a-z)')
  if (port.includes('--')) errs.push('must not contain consecutive hyphens')
  if (port.length > 0 && (port.startsWith('-') || port.endsWith('-')))
    errs.push('must not begin or end with a hyphen')
  return errs
}

/** IsRelaxedEnvVarName (RelaxedEnvironmentVariableValidation, beta and on by default in 1.32). */
export function isRelaxedEnvVarName(value: string): string[] {
  const errs: string[] = []
  if (value.length === 0) errs.push(`environment variable name ${EMPTY_ERROR}`)
  for (const ch of value) {
    const c = ch.codePointAt(0)!
    if (c > 0x7e || c < 0x20 || ch === '=') {
      errs.push(
        "a valid environment variable name must consist only of printable ASCII characters other than '='",
      )
      break
    }
  }
  return errs
}

export function isConfigMapKey(value: string): string[] {
  const errs: string[] = []
  if (byteLen(value) > 253) errs.push(maxLenError(253))
  if (!configMapKeyRe.test(value)) {
    errs.push(
      regexError(
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
        CONFIG_MAP_KEY_FMT,
        'key.name',
        'KEY_NAME',
        'key-name',
      ),
    )
  }
  if (value === '.') errs.push("must not be '.'")
  else if (value === '..') errs.push("must not be '..'")
  else if (value.startsWith('..')) errs.push("must not start with '..'")
  return errs
}

export function isValidPercent(value: string): string[] {
  if (percentRe.test(value)) return []
  return [
    regexError(
      "a valid percent string must be a numeric string followed by an ending '%'",
      PERCENT_FMT,
      '1%',
      '93%',
    ),
  ]
}

/** Loose IPv4/IPv6 check (netutils.ParseIPSloppy accepts leading zeros in IPv4). */
export function isValidIP(value: string): boolean {
  if (/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(value)) {
    return value.split('.').every((p) => Number(p) <= 255)
  }
  return value.includes(':') && /^[0-9a-fA-F:.]+$/.test(value) && value.split('::').length <= 2
}

/** ValidateNameFunc of apimachinery pkg/api/validation/generic.go: with `prefix`, a trailing '-' is masked. */
export type NameRule = (name: string, prefix: boolean) => string[]

const maskTrailingDash = (name: string) =>
  name.length > 1 && name.endsWith('-') ? `${name.slice(0, -2)}a` : name

export const nameIsDNSSubdomain: NameRule = (n, prefix) =>
  isDNS1123Subdomain(prefix ? maskTrailingDash(n) : n)
export const nameIsDNSLabel: NameRule = (n, prefix) => isDNS1123Label(prefix ? maskTrailingDash(n) : n)
export const nameIsDNS1035Label: NameRule = (n, prefix) => isDNS1035Label(prefix ? maskTrailingDash(n) : n)
