/**
 * What legitimately differs between two runs of the README's commands, and nothing else. Both the
 * transcript's expected lines and the actual output go through `normalizeOutput`, so the README shows
 * real output and the test compares what a reader can rely on. Each rule names the value it hides and
 * why that value varies; a value outside the rule's narrow shape is left alone (and so fails the test).
 *
 * Not normalized, because the code makes them deterministic: member and cluster ids (derived from the
 * peer URLs and the cluster token, packages/store/src/server/member-id.ts), revisions of the README's
 * own writes, and every message text.
 */

/**
 * kubectl's tables: the columns a kube printer pads to the widest cell, so one longer value shifts every
 * column after it. Cells are split on runs of two or more spaces (kubectl pads with at least three and
 * prints `<none>` for an empty cell) and joined again with three.
 */
const KUBECTL_CELL_GAP = /\s{2,}/
/** A header cell: capitals, digits and the punctuation kube's column names use (`PORT(S)`, `UP-TO-DATE`). */
const HEADER_CELL = /^[A-Z][A-Z0-9() .-]*$/

/** Per column of a kubectl table: when a cell of that column is replaced, and by what. */
const KUBECTL_COLUMNS: Record<string, { shape: RegExp; placeholder: string }> = {
  // The object's age: the seconds between its creation and the `get`, as kube's HumanDuration prints them.
  AGE: { shape: /^\d+[smhdy](\d+[smh])?$/, placeholder: '<age>' },
  // A Service's address, drawn at random from --service-cluster-ip-range (default 10.96.0.0/12), as
  // kube's allocator does.
  'CLUSTER-IP': {
    shape: /^10\.(9[6-9]|10[0-9]|11[01])\.\d{1,3}\.\d{1,3}$/,
    placeholder: '<cluster-ip>',
  },
}

/**
 * etcdctl's `-w table` output: cells padded to the widest, between `|` borders.
 * `endpoint status` varies in: DB SIZE (the stored bytes, which depend on lease and member bookkeeping
 * the README does not control), RAFT TERM and the indexes (a split vote adds a term, each election an
 * entry), and which member leads (randomized election timeouts). The leader column is hidden only
 * when exactly one member says `true`, so a table without a leader, or with two, still fails.
 */
const ETCDCTL_COLUMNS: Record<string, { shape: RegExp; placeholder: string }> = {
  'DB SIZE': { shape: /^\d+(\.\d+)? (B|kB|MB|GB)$/, placeholder: '<size>' },
  'RAFT TERM': { shape: /^\d+$/, placeholder: '<term>' },
  'RAFT INDEX': { shape: /^\d+$/, placeholder: '<index>' },
  'RAFT APPLIED INDEX': { shape: /^\d+$/, placeholder: '<index>' },
}

export function normalizeOutput(text: string): string {
  // Trailing spaces are invisible in a README (and editors strip them); trailing blank lines likewise.
  const lines = text.split('\n').map((l) => l.trimEnd())
  while (lines.length > 0 && lines.at(-1) === '') lines.pop()
  return normalizeEtcdctlTables(normalizeKubectlTables(lines)).join('\n')
}

function normalizeKubectlTables(lines: readonly string[]): string[] {
  const out: string[] = []
  let columns: string[] | undefined
  for (const line of lines) {
    if (line === '') {
      columns = undefined
      out.push(line)
      continue
    }
    const cells = line.split(KUBECTL_CELL_GAP)
    if (columns === undefined) {
      if (cells.length >= 2 && cells.every((c) => HEADER_CELL.test(c))) {
        columns = cells
        out.push(cells.join('   '))
      } else out.push(line)
      continue
    }
    const header = columns
    out.push(
      cells
        .map((cell, i) => {
          const rule = KUBECTL_COLUMNS[header[i] ?? '']
          return rule?.shape.test(cell) ? rule.placeholder : cell
        })
        .join('   '),
    )
  }
  return out
}

function normalizeEtcdctlTables(lines: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < lines.length; ) {
    // A table is a run of border lines (`+---+`) and row lines (`| a | b |`); its first row is the header.
    let end = i
    while (end < lines.length && isTableLine(lines[end] ?? '')) end++
    if (end === i) {
      out.push(lines[i] ?? '')
      i++
      continue
    }
    out.push(...normalizeEtcdctlTable(lines.slice(i, end)))
    i = end
  }
  return out
}

const BORDER = /^\+[-+]+\+$/
const ROW = /^\|(.*)\|$/

function isTableLine(line: string): boolean {
  return BORDER.test(line) || ROW.test(line)
}

function normalizeEtcdctlTable(table: readonly string[]): string[] {
  const rows = table.map((l) => {
    const m = ROW.exec(l)
    return m === null ? undefined : (m[1] ?? '').split('|').map((c) => c.trim())
  })
  const header = rows.find((r) => r !== undefined) ?? []
  const data = rows.filter((r): r is string[] => r !== undefined && r !== header)
  const leaderCol = header.indexOf('IS LEADER')
  const hideLeader =
    leaderCol >= 0 &&
    data.every((r) => r[leaderCol] === 'true' || r[leaderCol] === 'false') &&
    data.filter((r) => r[leaderCol] === 'true').length === 1
  return rows.map((r) => {
    // Borders follow the cell widths; only their place in the table matters.
    if (r === undefined) return '+---+'
    if (r === header) return `| ${r.join(' | ')} |`
    const cells = r.map((cell, i) => {
      if (i === leaderCol && hideLeader) return '<leader?>'
      const rule = ETCDCTL_COLUMNS[header[i] ?? '']
      return rule?.shape.test(cell) ? rule.placeholder : cell
    })
    return `| ${cells.join(' | ')} |`
  })
}
