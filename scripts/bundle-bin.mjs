#!/usr/bin/env node
/**
 * Bundles a binary's entry point for a fast start: `node ../../scripts/bundle-bin.mjs` in a package
 * whose build has just run tsc. Reads src/main.ts (workspace packages through their `@hakube/source`
 * TypeScript, npm packages from node_modules) and writes dist/main.js plus dist/chunks/*.js over tsc's
 * unbundled dist/main.js; the rest of dist/ (the library, types) stays tsc's.
 *
 * Why: unbundled, a binary loads ~700 files (each resolved, read and compiled on its own) before it
 * answers anything; bundled it reads a few. main.ts imports only the flags and loads its server half with
 * `await import('./serve.js')`, which esbuild splits into a chunk: `--help` and `--version` never read it.
 *
 * Everything is bundled, @grpc/grpc-js, @grpc/proto-loader and protobufjs included: the store's protos
 * load from a descriptor compiled into its code (src/grpc/etcd-proto.generated.ts), and protobufjs finds
 * Long.js through the `require` the banner defines (src/grpc/proto.ts checks int64 precision at load).
 * Loaded from node_modules one file at a time, grpc-js and proto-loader cost more than the rest of a
 * store's start.
 *
 * Some npm packages load, when imported, code a server uses only on request; the bundle defers it (the
 * `lazy-requires` plugin below rewrites a few `require`s of theirs into requires on first use, the
 * build failing if their text is no longer found): prom-client's index (its Pushgateway loads https and
 * zlib, its AggregatorRegistry cluster) and its CPU metric (OpenTelemetry, for exemplars only), fastify's
 * default schema compilers (ajv, fast-json-stringify: used only by routes with a JSON schema), its
 * plugin version check (semver, for plugins that name a fastify version) and its https and http2
 * servers (Node's tls and http2 modules, for servers with those options), and pino's transports
 * (thread-stream, worker threads). Their exports and behaviour are the same.
 *
 * The output depends only on the sources (no paths, times or hashes of anything else), so builds stay
 * byte-reproducible (scripts/repeat-build.mjs). An unbundled dist/main.js (tsc run alone, as some tests
 * do) still works: it imports dist/serve.js.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { build } from 'esbuild'

/**
 * `require`s loaded on first use instead of at import: file (path end) → [text, replacement]. Those of
 * fastify's schema compilers stay out of the bundle (EXTERNAL: ajv and fast-json-stringify, ~370 kB a
 * start would compile for nothing) and load from node_modules if a route ever has a schema.
 */
const LAZY_REQUIRES = [
  [
    '/node_modules/prom-client/index.js',
    [
      [
        "exports.Pushgateway = require('./lib/pushgateway');",
        "Object.defineProperty(exports, 'Pushgateway', { enumerable: true, get: () => require('./lib/pushgateway') });",
      ],
      [
        "exports.AggregatorRegistry = require('./lib/cluster');",
        "Object.defineProperty(exports, 'AggregatorRegistry', { enumerable: true, get: () => require('./lib/cluster') });",
      ],
    ],
  ],
  [
    '/node_modules/prom-client/lib/metrics/processCpuTotal.js',
    [
      [
        "const OtelApi = require('@opentelemetry/api');",
        "const OtelApi = { get trace() { return require('@opentelemetry/api').trace }, get context() { return require('@opentelemetry/api').context } };",
      ],
    ],
  ],
  [
    '/node_modules/fastify/lib/server.js',
    [
      [
        "const https = require('node:https')",
        "const https = { createServer: (...a) => require('node:https').createServer(...a) }",
      ],
      [
        "const http2 = require('node:http2')",
        "const http2 = { createServer: (...a) => require('node:http2').createServer(...a), createSecureServer: (...a) => require('node:http2').createSecureServer(...a) }",
      ],
    ],
  ],
  [
    '/node_modules/fastify/lib/plugin-utils.js',
    [
      [
        "const semver = require('semver')",
        "const semver = { gt: (...a) => require('semver').gt(...a), coerce: (...a) => require('semver').coerce(...a), satisfies: (...a) => require('semver').satisfies(...a) }",
      ],
    ],
  ],
  [
    '/node_modules/pino/lib/transport.js',
    [
      [
        "const ThreadStream = require('thread-stream')",
        "function ThreadStream (...args) { return new (require('thread-stream'))(...args) }",
      ],
    ],
  ],
  [
    '/node_modules/@fastify/ajv-compiler/index.js',
    [
      [
        "const ValidatorCompiler = require('./lib/validator-compiler')",
        "function ValidatorCompiler (...args) { return new (require('@fastify/ajv-compiler/lib/validator-compiler.js'))(...args) }",
      ],
      [
        "const SerializerCompiler = require('./lib/serializer-compiler')",
        "function SerializerCompiler (...args) { return new (require('@fastify/ajv-compiler/lib/serializer-compiler.js'))(...args) }",
      ],
      [
        "module.exports.StandaloneValidator = require('./standalone')",
        "Object.defineProperty(module.exports, 'StandaloneValidator', { enumerable: true, get: () => require('@fastify/ajv-compiler/standalone.js') })",
      ],
    ],
  ],
  [
    '/node_modules/@fastify/fast-json-stringify-compiler/standalone.js',
    [
      [
        "const fastJsonStringify = require('fast-json-stringify')",
        "const fastJsonStringify = (...args) => require('fast-json-stringify')(...args)",
      ],
    ],
  ],
]

const EXTERNAL = [
  '@fastify/ajv-compiler/lib/validator-compiler.js',
  '@fastify/ajv-compiler/lib/serializer-compiler.js',
  '@fastify/ajv-compiler/standalone.js',
  'fast-json-stringify',
]

/** esbuild plugin: applies LAZY_REQUIRES (a text not found fails the build: the package changed) and EXTERNAL. */
const lazyRequires = {
  name: 'lazy-requires',
  setup(b) {
    // Exactly these paths (esbuild's `external` option would take their packages' other files too).
    b.onResolve({ filter: /^(@fastify\/ajv-compiler|fast-json-stringify)/ }, (args) =>
      EXTERNAL.includes(args.path) ? { path: args.path, external: true } : undefined,
    )
    b.onLoad({ filter: /[\\/]node_modules[\\/](prom-client|@fastify|fastify|pino)[\\/]/ }, (args) => {
      const path = args.path.replaceAll('\\', '/')
      const entry = LAZY_REQUIRES.find(([end]) => path.endsWith(end))
      if (entry === undefined) return undefined
      let contents = readFileSync(args.path, 'utf8')
      for (const [text, replacement] of entry[1]) {
        if (!contents.includes(text)) throw new Error(`bundle-bin: ${entry[0]} no longer contains: ${text}`)
        contents = contents.replace(text, replacement)
      }
      return { contents, loader: 'js', resolveDir: dirname(args.path) }
    })
  },
}

const pkgDir = process.cwd()
const dist = join(pkgDir, 'dist')
const result = await build({
  absWorkingDir: pkgDir,
  entryPoints: { main: 'src/main.ts' },
  outdir: dist,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  conditions: ['@hakube/source'],
  // CommonJS packages inside an ES module bundle call require() (Node's built-ins among others).
  banner: {
    js: "import { createRequire as __hakubeCreateRequire } from 'node:module';\nconst require = __hakubeCreateRequire(import.meta.url);",
  },
  // Whitespace and comments out (names kept, for stack traces even without source maps): Node reads, decodes
  // and compiles every byte of a chunk before running it, and the server chunks' dependencies carry
  // megabytes of doc comments; this halves the bytes and the compile time of a start.
  minifyWhitespace: true,
  // Maps to the TypeScript sources as tsc's are (for --enable-source-maps), without the sources' text.
  sourcemap: true,
  sourcesContent: false,
  logLevel: 'warning',
  plugins: [lazyRequires],
  write: false,
})

// Processes may start from dist/ while it is rebuilt (tests of other packages): the new chunks are
// written first, then main.js (renamed into place), and only then the chunks no longer used removed, so
// a start at any moment finds the chunks its main.js names.
const entry = join(dist, 'main.js')
const written = new Set()
mkdirSync(join(dist, 'chunks'), { recursive: true })
for (const file of result.outputFiles) {
  written.add(file.path)
  if (file.path !== entry) writeFileSync(file.path, file.contents)
}
const main = result.outputFiles.find((f) => f.path === entry)
if (main === undefined) throw new Error(`bundle-bin: esbuild wrote no ${entry}`)
writeFileSync(`${entry}.tmp`, main.contents)
renameSync(`${entry}.tmp`, entry)
// (A process that read the old main.js a moment ago and has not yet imported its server chunk would miss
// it; that window is the time its flags take to parse.)
for (const name of readdirSync(join(dist, 'chunks'))) {
  const path = join(dist, 'chunks', name)
  if (!written.has(path)) rmSync(path, { force: true })
}
