import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CredmonConfigError, loadCredmonConfig } from '../../../src/credmon/config/index.js';
import { type CredDir, credmonConfigFixture, makeCredDir } from '../../helpers/credd.js';
import { tempDir } from '../../helpers/tmp.js';

describe('loadCredmonConfig over a CredD test directory', () => {
  let parent: string;
  let cleanup: () => Promise<void>;
  let dir: CredDir;
  beforeEach(async () => {
    ({ dir: parent, cleanup } = await tempDir('tw-credmon-load-'));
    dir = await makeCredDir(parent);
  });
  afterEach(async () => {
    await cleanup();
  });

  it('reads the fixture a credmon test starts from, through CONDOR_CONFIG', async () => {
    const file = await credmonConfigFixture(dir, parent, {
      LOCAL_CREDMON_PROVIDER_NAMES: 'scitokens',
      LOCAL_CREDMON_TOKEN_AUDIENCE: 'https://storage.example',
    });
    const loaded = await loadCredmonConfig({ env: { CONDOR_CONFIG: file }, overrides: {} });
    assert.equal(loaded.config.credDir, dir.path);
    assert.equal(
      loaded.config.logFile,
      join(parent, 'log', 'CredMonOAuthLog'),
      'the fixture wins over use feature : OAUTH',
    );
    assert.equal(loaded.config.trustCredentialDirectory, true);
    assert.equal(loaded.config.local[0]?.privateKeyPath, join(parent, 'scitokens-private.pem'));
    assert.deepEqual(loaded.sources, [file]);
    assert.deepEqual(loaded.warnings, []);
  });

  it('--name picks the subsystem: <NAME>.<KNOB> and <NAME>_LOG', async () => {
    const file = await credmonConfigFixture(dir, parent, {
      'MYMON.SEC_CREDENTIAL_DIRECTORY_OAUTH': join(parent, 'other'),
      MYMON_LOG: '$(LOG)/MyMonLog',
    });
    const mine = await loadCredmonConfig({ condorConfig: file, env: {}, daemonName: 'mymon' });
    assert.equal(mine.config.credDir, join(parent, 'other'));
    assert.equal(mine.config.logFile, join(parent, 'log', 'MyMonLog'));
    const plain = await loadCredmonConfig({ condorConfig: file, env: {} });
    assert.equal(plain.config.credDir, dir.path);
  });

  it('a fatal configuration error is a CredmonConfigError with exit code 99 and no stack in its message', async () => {
    const file = await credmonConfigFixture(dir, parent, { LOCAL_CREDMON_PROVIDER_NAMES: 'bad_name' });
    await assert.rejects(
      loadCredmonConfig({ condorConfig: file, env: {} }),
      (err: unknown) =>
        err instanceof CredmonConfigError &&
        err.exitCode === 99 &&
        err.code === 'CONFIG_INVALID' &&
        err.message ===
          `${file}:8: LOCAL_CREDMON_PROVIDER_NAMES: provider name "bad_name" has characters other than letters, digits and "-"` &&
        !err.message.includes('    at '),
    );
  });
});
