/** The `hakube` command's entry point (placeholder while the package is being built). */
console.error('hakube: not implemented yet')
process.exit(1)
