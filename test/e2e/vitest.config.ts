import { mergeConfig } from 'vitest/config'
import shared from '../../vitest.shared.js'

export default mergeConfig(shared, {
  test: {
    // Whole clusters of real processes: one file at a time, generous timeouts.
    maxWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
