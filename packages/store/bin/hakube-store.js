#!/usr/bin/env node
// The installed command: npm links it when the workspace is installed, before dist/ exists, so it
// stays a small committed file that loads the compiled entry point (`npm run build` makes it).
import '../dist/main.js'
