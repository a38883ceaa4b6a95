/**
 * The syntax errors of Go's encoding/json decoder (scanner.go), which etcd 3.4's gateway returns as the
 * message of a request body that is not JSON: `invalid character 'b' looking for beginning of object
 * key string`, `unexpected EOF`, `invalid character '[' exceeded max depth`. JSON.parse reports the
 * same faults in V8's words; this scanner finds the first fault as Go's does and names it Go's way.
 *
 * It reads one value, as json.Decoder does (whatever follows it is the next value's business).
 */

/** Go's maxNestingDepth (encoding/json since Go 1.15). */
const MAX_DEPTH = 10_000

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r'
const isDigit = (c: string): boolean => c >= '0' && c <= '9'
const isHex = (c: string): boolean => isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')

/** Go's quoteChar: the character in single quotes, escaped as strconv.Quote escapes it. */
function quoteChar(c: string): string {
  if (c === "'") return "'\\''"
  if (c === '"') return "'\"'"
  const code = c.codePointAt(0) ?? 0
  const named: Record<string, string> = {
    '\n': '\\n',
    '\r': '\\r',
    '\t': '\\t',
    '\b': '\\b',
    '\f': '\\f',
    '\v': '\\v',
    '\u0007': '\\a',
  }
  const n = named[c]
  if (n !== undefined) return `'${n}'`
  if (c === '\\') return "'\\\\'"
  if (code < 0x20 || code === 0x7f) return `'\\x${code.toString(16).padStart(2, '0')}'`
  if (code >= 0x80 && code <= 0x9f) return `'\\u${code.toString(16).padStart(4, '0')}'`
  return `'${c}'`
}

class GoSyntaxError extends Error {}

const invalid = (c: string, context: string): GoSyntaxError =>
  new GoSyntaxError(`invalid character ${quoteChar(c)} ${context}`)

/** Go's message for the first syntax fault of the value at the start of `text`, or undefined if it has none. */
export function goJsonSyntaxError(text: string): string | undefined {
  let i = 0
  const eof = (): GoSyntaxError => new GoSyntaxError('unexpected EOF')
  const peek = (): string => {
    if (i >= text.length) throw eof()
    return text[i] as string
  }
  const skipSpace = (): void => {
    while (i < text.length && isSpace(text[i] as string)) i++
  }
  const literal = (word: string): void => {
    for (let k = 1; k < word.length; k++) {
      i++
      const c = peek()
      if (c !== word[k]) throw invalid(c, `in literal ${word} (expecting ${quoteChar(word[k] as string)})`)
    }
    i++
  }
  const string = (): void => {
    i++ // the opening quote
    for (;;) {
      const c = peek()
      if (c === '"') {
        i++
        return
      }
      if (c === '\\') {
        i++
        const e = peek()
        if (e === 'u') {
          for (let k = 0; k < 4; k++) {
            i++
            const h = peek()
            if (!isHex(h)) throw invalid(h, 'in \\u hexadecimal character escape')
          }
        } else if (!'bfnrt\\/"'.includes(e)) throw invalid(e, 'in string escape code')
      } else if (c < ' ') throw invalid(c, 'in string literal')
      i++
    }
  }
  const number = (): void => {
    if (text[i] === '-') {
      i++
      const c = peek()
      if (!isDigit(c)) throw invalid(c, 'in numeric literal')
    }
    if (text[i] === '0') i++
    else while (i < text.length && isDigit(text[i] as string)) i++
    if (text[i] === '.') {
      i++
      const c = peek()
      if (!isDigit(c)) throw invalid(c, 'after decimal point in numeric literal')
      while (i < text.length && isDigit(text[i] as string)) i++
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++
      if (peek() === '+' || peek() === '-') i++
      const c = peek()
      if (!isDigit(c)) throw invalid(c, 'in exponent of numeric literal')
      while (i < text.length && isDigit(text[i] as string)) i++
    }
    // A number at the very end of the input is complete only at top level (Decoder: EOF ends it).
  }
  // Iterative over an explicit stack, so deep nesting meets Go's depth limit, not ours.
  const stack: Array<'object' | 'array'> = []
  /** Reads a value; an object or array is opened (its first key or element read) and left on the stack. */
  const value = (): void => {
    for (;;) {
      skipSpace()
      const c = peek()
      if (c !== '{' && c !== '[') {
        if (c === '"') string()
        else if (c === '-' || isDigit(c)) number()
        else if (c === 't') literal('true')
        else if (c === 'f') literal('false')
        else if (c === 'n') literal('null')
        else throw invalid(c, 'looking for beginning of value')
        return
      }
      if (stack.length >= MAX_DEPTH) throw invalid(c, 'exceeded max depth')
      i++
      skipSpace()
      if (c === '{') {
        stack.push('object')
        if (peek() === '}') {
          i++
          stack.pop()
          return
        }
        objectKey()
      } else {
        stack.push('array')
        if (peek() === ']') {
          i++
          stack.pop()
          return
        }
      }
    }
  }
  const objectKey = (): void => {
    const k = peek()
    if (k !== '"') throw invalid(k, 'looking for beginning of object key string')
    string()
    skipSpace()
    const colon = peek()
    if (colon !== ':') throw invalid(colon, 'after object key')
    i++
  }
  try {
    value()
    // After each completed value: close containers or go on to the next element.
    while (stack.length > 0) {
      skipSpace()
      const c = peek()
      const top = stack[stack.length - 1]
      if (top === 'object') {
        if (c === '}') {
          i++
          stack.pop()
          continue
        }
        if (c !== ',') throw invalid(c, 'after object key:value pair')
        i++
        skipSpace()
        objectKey()
      } else {
        if (c === ']') {
          i++
          stack.pop()
          continue
        }
        if (c !== ',') throw invalid(c, 'after array element')
        i++
      }
      value()
    }
    return undefined
  } catch (err) {
    if (err instanceof GoSyntaxError) return err.message
    throw err
  }
}
