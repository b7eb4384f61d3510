#!/usr/bin/env node
// The administrators' command line. TypeScript is run through tsx so that no build step is needed.
require('tsx/cjs');
require('../src/cli/main.ts').main();
