#!/usr/bin/env node
// The `tokenwarden` executable: everything else is in program.ts, so tests can call main() in-process.
import { main, makeIO, reportError } from './program.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = reportError(err, makeIO());
  },
);
