/**
 * Import rules that `npm run lint` enforces (dependency-cruiser), beside biome's style rules:
 *
 * - no import cycle between files, type-only imports included (a cycle is a module boundary in the
 *   wrong place, whether or not it bites at run time);
 * - production code (not a `*.test.ts` file, not inside a `testing/` folder) imports neither a
 *   `testing/` folder nor vitest, so no test harness is compiled into a binary;
 * - a package imports only the packages below it in the architecture (docs/architecture.md), and only
 *   through their package entry points, never a relative path into another package.
 *
 * The layering table is the one place the architecture's dependency column is written as code.
 */

/** Which workspace packages each package's production code may import. */
const LAYERS = {
  raft: [],
  api: [],
  store: ['raft'],
  storage: ['store'],
  'api-server': ['api', 'storage'],
  'load-balancer': ['api'],
  'leader-election': ['api'],
  'node-sim': ['api'],
  scheduler: ['api', 'leader-election'],
  'controller-manager': ['api', 'leader-election'],
  cli: [
    'raft',
    'api',
    'store',
    'storage',
    'api-server',
    'load-balancer',
    'leader-election',
    'node-sim',
    'scheduler',
    'controller-manager',
  ],
}

/** Test files and test harnesses: may import anything (other packages' harnesses included). */
const TEST_CODE = '(\\.test\\.ts$|/testing/|^packages/[^/]+/test/|^test/|vitest\\.config\\.ts$)'

const layerRules = Object.entries(LAYERS).map(([pkg, allowed]) => ({
  name: `layer-${pkg}`,
  comment: `packages/${pkg} may import only ${allowed.length ? allowed.join(', ') : 'no other hakube package'} (docs/architecture.md)`,
  severity: 'error',
  from: { path: `^packages/${pkg}/src/`, pathNot: TEST_CODE },
  to: { path: `^packages/(?!(${[pkg, ...allowed].join('|')})/)[^/]+/` },
}))

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle between files: move what both sides need into a module of its own.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-testing-in-production',
      comment:
        'Production code must not import a testing/ folder: move the shared code out of testing/, or the importer into a test.',
      severity: 'error',
      from: { path: '^packages/[^/]+/src/', pathNot: TEST_CODE },
      to: { path: '/testing/' },
    },
    {
      name: 'no-vitest-in-production',
      comment: 'Production code must not import vitest (it would be compiled into dist/).',
      severity: 'error',
      from: { path: '^packages/[^/]+/src/', pathNot: TEST_CODE },
      to: { path: '(^|/)node_modules/(vitest|@vitest)/' },
    },
    {
      name: 'no-relative-import-across-packages',
      comment: "Import another package by its name ('@hakube/x'), never by a relative path into its folder.",
      severity: 'error',
      from: { path: '^packages/([^/]+)/' },
      to: { dependencyTypes: ['local'], path: '^packages/', pathNot: '^packages/$1/' },
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(packages|test)/[^/]+/(dist|coverage)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.depcruise.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['@hakube/source', 'import', 'types', 'default'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
      mainFields: ['module', 'main', 'types'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
}
