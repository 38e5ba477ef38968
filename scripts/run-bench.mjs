#!/usr/bin/env node
// Runs every compiled benchmark under dist/bench (files other than lib.js), one after the other.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const only = process.argv.slice(2);
const files = readdirSync('dist/bench')
  .filter((f) => f.endsWith('.js') && f !== 'lib.js')
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
let failed = 0;
for (const f of files) {
  console.log(`\n# bench/${f.replace(/\.js$/, '.ts')}`);
  const r = spawnSync(process.execPath, [`dist/bench/${f}`], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
