import { mergeConfig } from 'vitest/config'
import shared from '../../vitest.shared.js'

export default mergeConfig(shared, {
  test: {
    // Whole clusters of containers: one file at a time. A project comes up in ~45 s on a quiet 2-core
    // machine (up to ~2 min under load), hence the hook timeout.
    maxWorkers: 1,
    globalSetup: ['./src/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 240_000,
  },
})
