#!/usr/bin/env node
// `direct-callback` command: runs the TypeScript entry through tsx (installed by `npm ci`), so
// nothing has to be compiled first.
'use strict';
require('tsx/cjs');
require('./main.ts')
  .runCli(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
