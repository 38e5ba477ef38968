/**
 * Child process for the cross-process part of the store contract: `node contract-worker.js JSON`, where
 * JSON names the adapter's fixture module (exporting `openStore(config, password)`), its config, and
 * the task: `count` (increment a counter kept in the record's scope under withLock) or `hold` (take the
 * lock, say so, and wait to be killed).
 */

import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { Secret } from '../../src/secret.js';
import type { CredentialStore } from '../../src/store/index.js';

interface Task {
  module: string;
  config: unknown;
  password: string;
  task: 'count' | 'hold';
  account: string;
  count?: number;
}

type OpenStore = (config: unknown, password: (account: string) => Promise<Secret>) => CredentialStore;

const task = JSON.parse(process.argv[2] ?? '{}') as Task;
const { openStore } = (await import(pathToFileURL(task.module).href)) as { openStore: OpenStore };
const store = openStore(task.config, async () => new Secret(task.password));

if (task.task === 'count') {
  for (let i = 0; i < (task.count ?? 1); i++) {
    await store.withLock(
      task.account,
      async () => {
        const record = await store.load(task.account);
        if (record === undefined) throw new Error('no record to count in');
        await yieldToLoop();
        await store.save({ ...record, scope: [String(Number(record.scope[0]) + 1)] });
      },
      { timeoutMs: 30_000 },
    );
  }
  await store.close();
  process.stdout.write(`${JSON.stringify({ done: true })}\n`);
} else {
  await store.withLock(task.account, async () => {
    process.stdout.write(`${JSON.stringify({ locked: true })}\n`);
    await new Promise(() => setInterval(() => undefined, 60_000));
  });
}
