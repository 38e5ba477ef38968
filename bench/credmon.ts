/**
 * Credmon benchmarks (issue 9). A credential directory of USERS users, each with one local-issuer
 * credential (`scitokens.top`, as the CredD's LOCAL_STORE_CRED writes it) and one OAuth2 credential
 * whose `.use` is fresh (not due):
 *
 * - first full pass of the local provider: every local token minted (ES256) and written (atomic, 0400),
 *   beside the floor, src/files writeFileAtomic writing the same number of files of the same size with
 *   the same concurrency (what the pass cannot beat: minting is ~3% of it);
 *
 * Knobs: BENCH_CREDMON_USERS (10,000), BENCH_CREDMON_CONCURRENCY (8, the credmon's share of slots per
 * provider).
 */

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalProviderConfig } from '../src/credmon/config/types.js';
import { createLocalProvider } from '../src/credmon/providers/local.js';
import type { ProviderContext } from '../src/credmon/providers/types.js';
import { writeFileAtomic } from '../src/files/index.js';
import { NO_LOG } from '../src/log/index.js';
import { mapLimit } from '../src/renewal/index.js';
import { ms, printRows, type Row } from './lib.js';

const USERS = Number(process.env.BENCH_CREDMON_USERS ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CREDMON_CONCURRENCY ?? 8);

function localConfig(dir: string): LocalProviderConfig {
  return {
    kind: 'local',
    name: 'scitokens',
    privateKeyPath: join(dir, 'scitokens-private.pem'),
    publicKeyPath: join(dir, 'scitokens.pem'),
    keyId: 'local',
    algorithm: 'ES256',
    issuer: 'https://ap.example.org',
    authzTemplate: 'read:/user/{username} write:/user/{username}',
    authzGroupTemplate: undefined,
    authzGroupMapfile: undefined,
    authzGroupRequirement: undefined,
    lifetimeSeconds: 1200,
    audience: ['https://storage.example.org'],
    tokenVersion: 'scitoken:2.0',
    useJson: true,
  };
}

function userName(i: number): string {
  return `user${String(i).padStart(5, '0')}`;
}

/** USERS user directories with a local `.top` (the user name's bytes) and a fresh OAuth2 credential. */
async function makeCredDir(dir: string): Promise<string> {
  const credDir = join(dir, 'oauth_credentials');
  await mkdir(credDir, { mode: 0o2770 });
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const fresh = JSON.stringify({
    access_token: `eyJhbGciOiJub25lIn0.${Buffer.from(JSON.stringify({ exp, iat: exp - 3600 })).toString('base64url')}.`,
    expires_in: 3600,
    token_type: 'Bearer',
  });
  await mapLimit(
    Array.from({ length: USERS }, (_, i) => userName(i)),
    32,
    async (user) => {
      const home = join(credDir, user);
      await mkdir(home, { mode: 0o700 });
      await writeFile(join(home, 'scitokens.top'), user, { mode: 0o600 });
      await writeFile(
        join(home, 'mytoken.top'),
        JSON.stringify({ refresh_token: 'x', scopes: 'openid', audience: '' }),
        { mode: 0o600 },
      );
      await writeFile(join(home, 'mytoken.use'), fresh, { mode: 0o600 });
    },
  );
  return credDir;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tw-bench-credmon-'));
  const rows: Row[] = [];
  try {
    const credDir = await makeCredDir(dir);
    const users = Array.from({ length: USERS }, (_, i) => userName(i));

    // Local provider, first pass: mint and write every `.use`.
    const provider = createLocalProvider(localConfig(dir));
    const ctx: ProviderContext = {
      credDir,
      log: NO_LOG,
      clock: Date.now,
      fetch,
      signal: new AbortController().signal,
    };
    await provider.prepare?.(ctx);
    let sample = '';
    const t0 = performance.now();
    await mapLimit(users, CONCURRENCY, async (user) => {
      await provider.renew(
        { user, cred: { name: 'scitokens', provider: 'scitokens', handle: undefined } },
        ctx,
      );
    });
    const passMs = performance.now() - t0;
    sample = await import('node:fs/promises').then((fs) =>
      fs.readFile(join(credDir, users[0] as string, 'scitokens.use'), 'utf8'),
    );

    // The floor: the same number of atomic 0400 writes of the same size, same concurrency.
    const payload = 'x'.repeat(sample.length);
    const t1 = performance.now();
    await mapLimit(users, CONCURRENCY, async (user) => {
      await writeFileAtomic(join(credDir, user, 'floor.use'), payload, { mode: 0o400 });
    });
    const floorMs = performance.now() - t1;
    rows.push({
      bench: `local provider first pass, ${USERS} users (ES256 mint + atomic 0400 write, ${CONCURRENCY} in flight)`,
      tokenwarden: `${ms(passMs)} (${Math.round((USERS / passMs) * 1000)}/s)`,
      anchorName: `writeFileAtomic x ${USERS} (${sample.length} B, the floor)`,
      anchor: ms(floorMs),
      ratio: `${(passMs / floorMs).toFixed(2)}x`,
    });
    printRows(rows);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
