import { defineConfig } from 'vitest/config'

/**
 * Shared vitest settings for every workspace. The `@hakube/source` export condition makes
 * `import '@hakube/x'` resolve to the package's TypeScript source, so tests never wait for a build.
 */
export const sourceConditions = ['@hakube/source', 'import', 'module', 'node', 'default']

export default defineConfig({
  resolve: { conditions: sourceConditions },
  ssr: { resolve: { conditions: sourceConditions, externalConditions: ['@hakube/source'] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
  },
})
