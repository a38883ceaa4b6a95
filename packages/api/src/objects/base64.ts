/**
 * Go's `base64.StdEncoding` decoding (encoding/base64 decodeQuantum), which encoding/json applies
 * to every `[]byte` field: ConfigMap `binaryData` and Secret `data` values. Padding is required,
 * `\r` and `\n` are skipped anywhere, bits after the last full byte are ignored (not strict). The
 * error offset is Go's `CorruptInputError`, so a refusal reads `illegal base64 data at input byte N`
 * exactly as kube-apiserver's decoder reports it.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const DECODE = new Int16Array(256).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i

const PAD = 0x3d // '='
const isNewline = (b: number | undefined) => b === 0x0a || b === 0x0d

export type Base64Result = { ok: true; bytes: Buffer } | { ok: false; offset: number }

/** Decodes `text` (its UTF-8 bytes) as Go's StdEncoding.DecodeString does. */
export function decodeGoBase64(text: string): Base64Result {
  const src = Buffer.from(text, 'utf8')
  const out: number[] = []
  let si = 0
  while (si < src.length) {
    const dbuf = [0, 0, 0, 0]
    let dlen = 4
    let trailing: number | undefined
    let j = 0
    for (; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return { ok: true, bytes: Buffer.from(out) }
        // Padding is required: a quantum cut short is corrupt where it started.
        return { ok: false, offset: si - j }
      }
      const b = src[si] as number
      si++
      const v = DECODE[b] as number
      if (v >= 0) {
        dbuf[j] = v
        continue
      }
      if (isNewline(b)) {
        j--
        continue
      }
      if (b !== PAD) return { ok: false, offset: si - 1 }
      // Padding: only after two or three symbols.
      if (j === 0 || j === 1) return { ok: false, offset: si - 1 }
      if (j === 2) {
        while (si < src.length && isNewline(src[si])) si++
        if (si === src.length) return { ok: false, offset: src.length }
        if (src[si] !== PAD) return { ok: false, offset: si - 1 }
        si++
      }
      while (si < src.length && isNewline(src[si])) si++
      if (si < src.length) trailing = si
      dlen = j
      break
    }
    const val =
      ((dbuf[0] as number) << 18) |
      ((dbuf[1] as number) << 12) |
      ((dbuf[2] as number) << 6) |
      (dbuf[3] as number)
    const bytes = [(val >> 16) & 0xff, (val >> 8) & 0xff, val & 0xff]
    out.push(...bytes.slice(0, dlen - 1))
    if (trailing !== undefined) return { ok: false, offset: trailing }
  }
  return { ok: true, bytes: Buffer.from(out) }
}
