import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { findEtcd } from './binaries.js'

describe('findEtcd', () => {
  it('finds an executable etcd on PATH first, and reports none when there is none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hakube-bin-'))
    try {
      expect(findEtcd({ PATH: dir }, [])).toBeUndefined()
      writeFileSync(join(dir, 'etcd'), '#!/bin/sh\n')
      expect(findEtcd({ PATH: dir }, [])).toBeUndefined() // not executable
      chmodSync(join(dir, 'etcd'), 0o755)
      expect(findEtcd({ PATH: `/nonexistent:${dir}` }, ['/usr/bin'])).toBe(join(dir, 'etcd'))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
