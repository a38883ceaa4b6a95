import { mergeConfig } from 'vitest/config'
import shared from '../../vitest.shared.js'

export default mergeConfig(shared, {
  test: {
    // The simulation suite is CPU-bound; one worker per core.
    maxWorkers: 2,
  },
})
