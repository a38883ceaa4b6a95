import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { InteractionEnv, parseScript, rewriteScript } from './testing/interaction.js'

// Golden interaction scripts: each command's trace must match exactly. `REWRITE=1 npx vitest run
// src/interaction.test.ts` regenerates them; commit the diff only if you understand every line of it.
const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'testdata')
const rewrite = process.env['REWRITE'] === '1'

describe('interaction scripts (testdata/*.txt)', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.txt'))
  it('finds scripts', () => {
    expect(files.length).toBeGreaterThan(0)
  })
  for (const file of files) {
    it(file, () => {
      const path = join(dir, file)
      const text = readFileSync(path, 'utf8')
      const blocks = parseScript(text)
      const env = new InteractionEnv()
      const outputs = blocks.map((b) => env.run(b))
      if (rewrite) {
        writeFileSync(path, rewriteScript(text, blocks, outputs))
        return
      }
      blocks.forEach((b, i) => {
        expect(outputs[i], `${file}:${b.line}: ${b.input}`).toBe(b.expected)
      })
    })
  }
})
