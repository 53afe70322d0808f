#!/usr/bin/env node
// `direct-callback`: the compiled entry of the package's bin (dist/src/cli/bin.js); in development
// `npm run cli --` runs the same file through tsx.
import { runCli } from './main';

void runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
