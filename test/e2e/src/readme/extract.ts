/**
 * The README's fenced code blocks, as the README test runs them.
 *
 * Kinds, by the fence's info string:
 * - `sh`: a script, run as it stands; only its exit status is checked (its output is kept for failures).
 * - `console`: a transcript. A line starting with `$ ` is a command (a line ending in `\` continues it
 *   on the next line); the lines up to the next command are the output it must print.
 * - `text`: not commands (diagrams, the layout); listed by the test, never run.
 * Anything else (an untagged fence, `bash`, `yaml`...) is an error: the test cannot tell whether it was
 * meant to be run, and a command block must not be skipped silently.
 *
 * A `sh` or `console` block that is deliberately not run carries a marker on the line before its
 * fence (blank lines may sit between): `<!-- readme-test: skip (the reason) -->`.
 */

export type BlockKind = 'sh' | 'console' | 'text'

export interface ReadmeBlock {
  /** 1-based line of the opening fence, for messages. */
  line: number
  /** The fence's info string as written (`sh`, `console`, `text`, `` for none). */
  info: string
  kind: BlockKind | undefined
  /** The block's lines between the fences. */
  body: string
  /** Set when the block carries a skip marker: the reason given. */
  skipReason?: string
}

export interface ConsoleStep {
  /** The command without its `$ ` prompt, continuation lines joined as written (bash reads the `\`). */
  command: string
  /** 1-based README line of the command. */
  line: number
  /** The output lines the transcript shows. */
  expected: string[]
}

const MARKER = /^<!--\s*readme-test:\s*(.*?)\s*-->$/
const SKIP = /^skip\s*\((.+)\)$/

export function extractBlocks(markdown: string): ReadmeBlock[] {
  const lines = markdown.split('\n')
  const blocks: ReadmeBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i] ?? '')
    if (open === null) continue
    const info = open[1] ?? ''
    let end = i + 1
    while (end < lines.length && !/^```\s*$/.test(lines[end] ?? '')) end++
    if (end >= lines.length) throw new Error(`README line ${i + 1}: a code fence is never closed`)
    const block: ReadmeBlock = {
      line: i + 1,
      info,
      kind: info === 'sh' || info === 'console' || info === 'text' ? info : undefined,
      body: lines.slice(i + 1, end).join('\n'),
    }
    const marker = markerBefore(lines, i)
    if (marker !== undefined) {
      const skip = SKIP.exec(marker)
      if (skip === null)
        throw new Error(`README line ${i}: unknown readme-test marker "${marker}" (want: skip (reason))`)
      block.skipReason = skip[1]
    }
    blocks.push(block)
    i = end
  }
  return blocks
}

/** The readme-test marker on the last non-blank line before the fence at `fence`, if there is one. */
function markerBefore(lines: readonly string[], fence: number): string | undefined {
  for (let j = fence - 1; j >= 0; j--) {
    const l = (lines[j] ?? '').trim()
    if (l === '') continue
    return MARKER.exec(l)?.[1]
  }
  return undefined
}

/** Splits a console block into commands and the output each one shows. */
export function consoleSteps(block: ReadmeBlock): ConsoleStep[] {
  const lines = block.body.split('\n')
  const steps: ConsoleStep[] = []
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] ?? ''
    if (!l.startsWith('$ ')) {
      const last = steps.at(-1)
      if (last === undefined)
        throw new Error(`README line ${block.line + 1 + i}: console output before any "$ " command`)
      last.expected.push(l)
      continue
    }
    const start = i
    const command = [l.slice(2)]
    while ((lines[i] ?? '').endsWith('\\') && i + 1 < lines.length) command.push(lines[++i] ?? '')
    steps.push({ command: command.join('\n'), line: block.line + 1 + start, expected: [] })
  }
  return steps
}
