import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeToken } from '../../src/tokens/index.js';
import { findLeaks, runCli } from '../helpers/cli.js';
import { collectSecretsIn } from '../helpers/secrets.js';
import { tempDir } from '../helpers/tmp.js';

/** A JWT, or its header and payload alone: both begin with base64url of `{"`. */
const JWT_SHAPED = /eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*/;
/**
 * An opaque value the size of oidc-provider's refresh tokens, device codes and client secrets (256 random
 * bits in base64url, 43 characters) or longer. Such runs are also the key ids, token ids and client ids
 * that `inspect` and `setup` print on purpose; those are allowed by name, from the token files.
 */
const OPAQUE_SHAPED = /(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{40,}(?![A-Za-z0-9_-])/g;

describe('demo', () => {
  let dir: string;
  let cleanup: () => Promise<void>;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  after(async () => cleanup());

  it('runs end to end on loopback and leaks no secret', async () => {
    // --dir keeps the demo's files (it makes and removes its own temp dir otherwise), so the audit can
    // read the secrets it left: password, robot secret, tokens, and the refresh token and client secret
    // in the credential record.
    const work = join(dir, 'demo');
    const run = await runCli(['demo', '--dir', work], { timeoutMs: 60_000 });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /renew: 4 renewed, 0 still fresh, 0 failed/);
    assert.match(run.stdout, /renew: 0 renewed, 4 still fresh, 0 failed/);
    assert.match(run.stdout, /TOKEN\s+ACCOUNT\s+STATE/);
    assert.match(run.stdout, /audience:\s+https:\/\/storage\.example\.org/);
    assert.match(run.stdout, /account demo loaded/);
    assert.match(
      run.stdout,
      /first: a new token \(1 refresh at the issuer\); second: the same token, from the cache/,
    );
    assert.match(run.stdout, /oidc-agent's own client got the same cached token from tokenwarden's agent/);
    // The credmon step: the local issuer minted alice's SciToken in a CredD-style directory.
    assert.match(run.stdout, /CREDMON_COMPLETE touched after its first pass/);
    assert.match(run.stdout, /scitokens\.use \(mode 400\)/);
    assert.match(run.stdout, /subject:\s+alice/);
    assert.match(run.stdout, /read:\/user\/alice/);
    assert.match(run.stdout, /SIGTERM: the credmon stopped \(exit 0\)/);

    const tokens = join(work, 'tokens');
    const secrets = await collectSecretsIn({ dir: work, tokens, state: join(work, 'state') }, []);
    assert.ok(secrets.length >= 7, `found the demo's secrets (${secrets.length})`);
    assert.deepEqual(findLeaks(secrets), [], 'a secret the demo left on disk appeared in its output');

    // The demo's issuer lives inside the demo process, so what it issued and the demo then dropped (the
    // device code, the access token of the login, the refresh tokens rotated away) cannot be listed.
    // Check the output by shape instead: no JWT, and no opaque value but the ids printed on purpose.
    const output = `${run.stdout}\n${run.stderr}`;
    assert.doesNotMatch(output, JWT_SHAPED, 'no JWT printed');
    assert.doesNotMatch(run.stderr, /\[REDACTED/, 'nothing printed needed redacting');
    const ids = new Set<string>();
    for (const f of await readdir(tokens)) {
      const { header, claims } = decodeToken(await readFile(join(tokens, f), 'utf8'));
      for (const id of [header.kid, claims.jti, claims.client_id]) if (typeof id === 'string') ids.add(id);
    }
    const minted = JSON.parse(
      await readFile(join(work, 'credmon', 'oauth_credentials', 'alice', 'scitokens.use'), 'utf8'),
    ) as { access_token: string };
    const local = decodeToken(minted.access_token);
    for (const id of [local.header.kid, local.claims.jti]) if (typeof id === 'string') ids.add(id);
    const opaque = [...output.matchAll(OPAQUE_SHAPED)].map((m) => m[0]).filter((v) => !ids.has(v));
    // Only a prefix of each, so a failure does not print the secret it found.
    assert.deepEqual(
      opaque.map((v) => `${v.slice(0, 6)}…`),
      [],
      'no refresh-token-shaped value printed',
    );
  });
});
