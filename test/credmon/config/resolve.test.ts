import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  CredmonConfigError,
  findProviderConfig,
  type LoadedCredmonConfig,
  loadCredmonConfig,
} from '../../../src/credmon/config/index.js';
import { tempDir } from '../../helpers/tmp.js';
import { stockCondorConfig } from './fixtures.js';

const DETECTED = new Map([
  ['FULL_HOSTNAME', 'ap1.example.org'],
  ['HOSTNAME', 'ap1'],
]);
const BASE = 'SEC_CREDENTIAL_DIRECTORY_OAUTH = /var/lib/condor/oauth_credentials\n';

describe('resolving the credmon configuration', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('tw-credmon-config-'));
  });
  afterEach(async () => {
    await cleanup();
  });

  async function load(
    text: string,
    env: Record<string, string> = {},
    overrides: { credDir?: string; logFile?: string } = {},
    daemonName?: string,
  ): Promise<LoadedCredmonConfig> {
    const file = join(dir, 'condor_config');
    await writeFile(file, text);
    return loadCredmonConfig({
      env: { CONDOR_CONFIG: file, ...env },
      overrides,
      detected: DETECTED,
      daemonName,
    });
  }

  async function problems(text: string, env: Record<string, string> = {}): Promise<string[]> {
    try {
      await load(text, env);
    } catch (err) {
      assert.ok(err instanceof CredmonConfigError, String(err));
      assert.equal(err.exitCode, 99);
      return err.message.split('\n').map((l) => l.trim().replace(`${dir}/condor_config`, 'CFG'));
    }
    assert.fail('no error');
  }

  it('resolves a stock configuration with the local issuer and an OAuth2 provider', async () => {
    const { condorConfig, configD } = await stockCondorConfig(dir);
    const loaded = await loadCredmonConfig({ condorConfig, env: {}, detected: DETECTED });
    const c = loaded.config;
    assert.equal(c.credDir, '/var/lib/condor/oauth_credentials');
    assert.equal(c.logFile, '/var/log/condor/CredMonOAuthLog');
    assert.equal(c.trustCredentialDirectory, true, 'use feature : OAUTH sets it');
    assert.equal(c.allowSpecialCharNames, false);
    assert.equal(c.credentialRefreshSeconds, 300);
    assert.equal(c.scanIntervalSeconds, 60);
    assert.equal(c.renewFraction, 0.5);
    assert.equal(c.webPrefix, 'https://ap1.example.org', "unset: the CredD's own default");
    assert.equal(c.oauth2ProviderNames, '*');
    assert.deepEqual(c.local, [
      {
        kind: 'local',
        name: 'scitokens',
        privateKeyPath: '/etc/condor/scitokens-private.pem',
        publicKeyPath: '/etc/condor/scitokens.pem',
        keyId: 'local',
        algorithm: 'ES256',
        issuer: 'https://ap1.example.org',
        authzTemplate: 'read:/user/{username} write:/user/{username}',
        authzGroupTemplate: undefined,
        authzGroupMapfile: undefined,
        authzGroupRequirement: undefined,
        lifetimeSeconds: 1200,
        audience: ['https://example.com', 'https://anotherserver.edu'],
        tokenVersion: 'scitoken:2.0',
        useJson: true,
      },
    ]);
    assert.deepEqual(c.oauth2, [
      {
        kind: 'oauth2',
        name: 'BOX',
        clientId: 'credmon-box',
        clientSecretFile: '/etc/condor/.secrets/box',
        authorizationUrl: 'https://account.box.com/api/oauth2/authorize',
        tokenUrl: 'https://api.box.com/oauth2/token',
        issuer: undefined,
        returnUrlSuffix: '/return/box',
        userUrl: 'https://api.box.com/2.0/users/me',
      },
    ]);
    assert.deepEqual(c.client, []);
    assert.equal(loaded.sources[0], condorConfig);
    assert.equal(loaded.param('LIBEXEC'), '/usr/libexec/condor');
    assert.equal(loaded.where('BOX_CLIENT_ID'), `${join(configD, '40-oauth-tokens.conf')}:2`);
  });

  it('reads per-provider knobs LOCAL_CREDMON_<P>_<KNOB>, then LOCAL_CREDMON_<KNOB>, then the default', async () => {
    const { config } = await load(`${BASE}
LOCAL_CREDMON_PROVIDER_NAMES = scitokens, wlcgtok  other
LOCAL_CREDMON_TOKEN_AUDIENCE = https://all.example
LOCAL_CREDMON_TOKEN_LIFETIME = 600
LOCAL_CREDMON_wlcgtok_TOKEN_LIFETIME = 300
LOCAL_CREDMON_WLCGTOK_TOKEN_VERSION = wlcg
LOCAL_CREDMON_wlcgtok_AUTHZ_TEMPLATE = storage.read:/home/{username}
LOCAL_CREDMON_other_PRIVATE_KEY = /etc/condor/other.pem
LOCAL_CREDMON_other_PRIVATE_KEY_ALGORITHM = rs256
LOCAL_CREDMON_other_KEY_ID = k2
LOCAL_CREDMON_other_ISSUER = https://issuer.example/other
LOCAL_CREDMON_other_TOKEN_USE_JSON = no
LOCAL_CREDMON_other_AUTHZ_GROUP_TEMPLATE = read:/groups/{groupname}
LOCAL_CREDMON_other_AUTHZ_GROUP_MAPFILE = /etc/condor/groups
LOCAL_CREDMON_other_AUTHZ_GROUP_REQUIREMENT = cms
`);
    const [sci, wlcg, other] = config.local;
    assert.deepEqual(
      config.local.map((p) => p.name),
      ['scitokens', 'wlcgtok', 'other'],
    );
    assert.equal(sci?.lifetimeSeconds, 600);
    assert.equal(wlcg?.lifetimeSeconds, 300);
    assert.equal(wlcg?.tokenVersion, 'wlcg', 'knob names are case-insensitive');
    assert.equal(wlcg?.authzTemplate, 'storage.read:/home/{username}');
    assert.deepEqual(wlcg?.audience, ['https://all.example']);
    assert.equal(other?.privateKeyPath, '/etc/condor/other.pem');
    assert.equal(other?.publicKeyPath, '/etc/condor/scitokens.pem');
    assert.equal(other?.algorithm, 'RS256');
    assert.equal(other?.keyId, 'k2');
    assert.equal(other?.issuer, 'https://issuer.example/other');
    assert.equal(other?.useJson, false);
    assert.equal(other?.authzGroupTemplate, 'read:/groups/{groupname}');
    assert.equal(other?.authzGroupMapfile, '/etc/condor/groups');
    assert.equal(other?.authzGroupRequirement, 'cms');
  });

  it('uses LOCAL_CREDMON_PROVIDER_NAME when the list is unset, and the default "scitokens" only when a local knob is set', async () => {
    let r = await load(`${BASE}LOCAL_CREDMON_PROVIDER_NAME = mytok\nLOCAL_CREDMON_TOKEN_VERSION = wlcg\n`);
    assert.deepEqual(
      r.config.local.map((p) => p.name),
      ['mytok'],
    );
    r = await load(`${BASE}LOCAL_CREDMON_TOKEN_AUDIENCE = https://a\n`);
    assert.deepEqual(
      r.config.local.map((p) => p.name),
      ['scitokens'],
    );
    assert.match(r.warnings.join('\n'), /local issuer "scitokens" enabled by default/);
    r = await load(BASE);
    assert.deepEqual(
      r.config.local,
      [],
      'no local issuer configured: none, and no complaint about its audience',
    );
  });

  it("finds OAuth2 providers by <P>_CLIENT_ID, limited by OAUTH2_CREDMON_PROVIDER_NAMES, never the other credmons' knobs", async () => {
    const text = `${BASE}
box_CLIENT_ID = b
gitlab_CLIENT_ID = g
gitlab_CLIENT_SECRET_FILE = /etc/condor/.secrets/gitlab
gitlab_ISSUER = https://gitlab.example
CREDMON_OAUTH.indigo_CLIENT_ID = i
LOCAL_CREDMON_CLIENT_ID = not-a-provider
CLIENT_CREDMON_CLIENT_ID = not-either
pelican_PELICAN_CLIENT_ID = pelican-only
bad_name_CLIENT_ID = skipped
EMPTY_CLIENT_ID =
`;
    let r = await load(text);
    assert.deepEqual(r.config.oauth2.map((p) => p.name).sort(), ['box', 'gitlab', 'indigo']);
    const gitlab = r.config.oauth2.find((p) => p.name === 'gitlab');
    assert.equal(gitlab?.issuer, 'https://gitlab.example');
    assert.equal(gitlab?.returnUrlSuffix, '/return/gitlab');
    assert.match(
      r.warnings.join('\n'),
      /box_CLIENT_ID: box_CLIENT_SECRET_FILE is not set: provider box is refreshed as a public client/,
    );
    r = await load(`${text}OAUTH2_CREDMON_PROVIDER_NAMES = GITLAB, other\n`);
    assert.deepEqual(
      r.config.oauth2.map((p) => p.name),
      ['gitlab'],
    );
    assert.deepEqual(r.config.oauth2ProviderNames, ['GITLAB', 'other']);
  });

  it('finds the provider of a credential name as the Python credmons do', async () => {
    let { config } = await load(`${BASE}
LOCAL_CREDMON_PROVIDER_NAMES = scitokens
LOCAL_CREDMON_TOKEN_VERSION = wlcg
CLIENT_CREDMON_PROVIDER_NAMES = robot
CLIENT_CREDMON_CLIENT_ID = r
CLIENT_CREDMON_CLIENT_SECRET_FILE = /s
BOX_CLIENT_ID = b
`);
    assert.equal(findProviderConfig(config, 'scitokens')?.kind, 'local');
    assert.equal(
      findProviderConfig(config, 'SciTokens'),
      undefined,
      'local issuers glob <name>.top: exact case',
    );
    assert.equal(findProviderConfig(config, 'robot')?.kind, 'client');
    assert.equal(findProviderConfig(config, 'box')?.name, 'BOX', 'knob names are case-insensitive');
    assert.equal(findProviderConfig(config, 'other'), undefined);
    ({ config } = await load(`${BASE}BOX_CLIENT_ID = b\nOAUTH2_CREDMON_PROVIDER_NAMES = BOX\n`));
    assert.equal(findProviderConfig(config, 'BOX')?.name, 'BOX');
    assert.equal(findProviderConfig(config, 'box'), undefined, 'the list is matched exactly, as in Python');
  });

  it('resolves client-credentials providers from CLIENT_CREDMON_[<P>_]<KNOB>', async () => {
    const { config } = await load(`${BASE}
CLIENT_CREDMON_PROVIDER_NAMES = robot
CLIENT_CREDMON_CLIENT_ID = shared-id
CLIENT_CREDMON_robot_CLIENT_SECRET_FILE = /etc/condor/.secrets/robot
CLIENT_CREDMON_robot_ISSUER = https://iam.example
CLIENT_CREDMON_AUTHZ_TEMPLATE = compute.read storage.read:/{username}
CLIENT_CREDMON_TOKEN_AUDIENCE = https://ce.example
`);
    assert.deepEqual(config.client, [
      {
        kind: 'client',
        name: 'robot',
        clientId: 'shared-id',
        clientSecretFile: '/etc/condor/.secrets/robot',
        tokenUrl: undefined,
        issuer: 'https://iam.example',
        scopes: ['compute.read', 'storage.read:/{username}'],
        audience: ['https://ce.example'],
        lifetimeSeconds: undefined,
        useJson: true,
        authzTemplate: 'compute.read storage.read:/{username}',
        authzGroupTemplate: undefined,
        authzGroupMapfile: undefined,
        tokenVersion: 'scitoken:2.0',
        tokenEndpointLifetimeSeconds: 3600,
      },
    ]);
  });

  it('takes --cred-dir and --log-file over the knobs, <NAME>_LOG for --name, and $(LOG)/<Name>Log', async () => {
    let r = await load(
      `${BASE}CREDMON_OAUTH_LOG = /var/log/condor/CredMonOAuthLog\n`,
      {},
      { credDir: '/srv/c', logFile: '/srv/log' },
    );
    assert.equal(r.config.credDir, '/srv/c');
    assert.equal(r.config.logFile, '/srv/log');
    r = await load(`${BASE}LOG = /var/log/condor\nMYMON_LOG = $(LOG)/Mine\n`, {}, {}, 'mymon');
    assert.equal(r.config.logFile, '/var/log/condor/Mine');
    r = await load(`${BASE}LOG = /var/log/condor\n`);
    assert.equal(r.config.logFile, '/var/log/condor/CredmonOauthLog', "the Python credmon's default name");
    r = await load(BASE);
    assert.equal(r.config.logFile, undefined, 'no LOG configured: standard error');
    r = await load('SEC_CREDENTIAL_DIRECTORY = /old/style\n');
    assert.equal(r.config.credDir, '/old/style', 'SEC_CREDENTIAL_DIRECTORY when _OAUTH is unset');
  });

  it("reads booleans, the web prefix and tokenwarden's own knobs", async () => {
    const { config, warnings } = await load(`${BASE}
CREDMON_ALLOW_SPECIAL_CHAR_NAMES = Yes
TRUST_CREDENTIAL_DIRECTORY = 0
SEC_CREDENTIAL_REFRESH = 120
CREDMON_SCAN_INTERVAL = 30
CREDMON_RENEW_FRACTION = .25
CREDMON_WEB_PREFIX = https://ap1.example.org/credmon/
`);
    assert.equal(config.allowSpecialCharNames, true);
    assert.equal(config.trustCredentialDirectory, false);
    assert.equal(config.credentialRefreshSeconds, 120);
    assert.equal(config.scanIntervalSeconds, 30);
    assert.equal(config.renewFraction, 0.25);
    assert.equal(config.webPrefix, 'https://ap1.example.org/credmon');
    assert.match(warnings.join('\n'), /CREDMON_WEB_PREFIX: ends with "\/"/);
  });

  it('lets _CONDOR_ variables override provider knobs', async () => {
    const { config } = await load(
      `${BASE}LOCAL_CREDMON_PROVIDER_NAMES = scitokens\nLOCAL_CREDMON_TOKEN_VERSION = wlcg\n`,
      {
        _CONDOR_LOCAL_CREDMON_TOKEN_LIFETIME: '60',
      },
    );
    assert.equal(config.local[0]?.lifetimeSeconds, 60);
  });

  it('refuses a bad provider name with exit 99, naming the knob and the file:line', async () => {
    const lines = await problems(
      `${BASE}LOCAL_CREDMON_PROVIDER_NAMES = good, bad_name, also/bad\nLOCAL_CREDMON_TOKEN_VERSION = wlcg\n`,
    );
    assert.deepEqual(lines, [
      '2 problems in the HTCondor configuration:',
      'CFG:2: LOCAL_CREDMON_PROVIDER_NAMES: provider name "bad_name" has characters other than letters, digits and "-"',
      'CFG:2: LOCAL_CREDMON_PROVIDER_NAMES: provider name "also/bad" has characters other than letters, digits and "-"',
    ]);
    // With special characters allowed, "bad_name" is a name (no handles); "/" never is.
    const allowed = await problems(
      `${BASE}CREDMON_ALLOW_SPECIAL_CHAR_NAMES = true\nCLIENT_CREDMON_PROVIDER_NAMES = bad_name also/bad\nCLIENT_CREDMON_CLIENT_ID = x\nCLIENT_CREDMON_CLIENT_SECRET_FILE = /s\n`,
    );
    assert.deepEqual(allowed, [
      'CFG:3: CLIENT_CREDMON_PROVIDER_NAMES: provider name "also/bad" has characters other than letters, digits and "-"',
    ]);
  });

  it('collects every problem before failing, each with its knob, place and remedy', async () => {
    let err: CredmonConfigError | undefined;
    try {
      await load(`
LOCAL_CREDMON_PROVIDER_NAMES = scitokens
LOCAL_CREDMON_TOKEN_LIFETIME = 20m
LOCAL_CREDMON_PRIVATE_KEY_ALGORITHM = ES384
LOCAL_CREDMON_PUBLIC_KEY = keys/scitokens.pem
LOCAL_CREDMON_AUTHZ_TEMPLATE = read:/user/{user}
LOCAL_CREDMON_AUTHZ_TEMPLATE_EXPR = strcat("read:/", Username)
LOCAL_CREDMON_AUTHZ_GROUP_REQUIREMENT = cms
LOCAL_CREDMON_TOKEN_USE_JSON = sometimes
LOCAL_CREDMON_ISSUER = not a url
CLIENT_CREDMON_PROVIDER_NAMES = robot
CREDMON_WEB_PREFIX = ftp://ap1
CREDMON_RENEW_FRACTION = 1.5
CREDMON_SCAN_INTERVAL = 0
BOX_CLIENT_ID = b
BOX_TOKEN_URL = nowhere
BOX_RETURN_URL_SUFFIX = return/box
`);
    } catch (e) {
      err = e as CredmonConfigError;
    }
    assert.ok(err instanceof CredmonConfigError);
    const got = err.problems.map(
      (p) => `${p.where?.replace(`${dir}/condor_config`, 'CFG')} ${p.knob}: ${p.message}`,
    );
    assert.deepEqual(got, [
      'undefined SEC_CREDENTIAL_DIRECTORY_OAUTH: not set: the credmon does not know its credential directory',
      'CFG:14 CREDMON_SCAN_INTERVAL: "0" is not a whole number of seconds of at least 1',
      'CFG:13 CREDMON_RENEW_FRACTION: "1.5" is not a fraction between 0 and 1',
      'CFG:12 CREDMON_WEB_PREFIX: "ftp://ap1" is not an http(s) URL',
      'CFG:4 LOCAL_CREDMON_PRIVATE_KEY_ALGORITHM: unknown algorithm "ES384"',
      'CFG:10 LOCAL_CREDMON_ISSUER: "not a url" is not a URL',
      'CFG:6 LOCAL_CREDMON_AUTHZ_TEMPLATE: the placeholder {user} cannot be filled (only {username})',
      'CFG:7 LOCAL_CREDMON_AUTHZ_TEMPLATE_EXPR: ClassAd expressions for scopes are not supported by tokenwarden',
      'CFG:8 LOCAL_CREDMON_AUTHZ_GROUP_REQUIREMENT: requires group membership but LOCAL_CREDMON_AUTHZ_GROUP_MAPFILE is not set, so nobody would get a token',
      'CFG:3 LOCAL_CREDMON_TOKEN_LIFETIME: "20m" is not a whole number of seconds of at least 1',
      'undefined LOCAL_CREDMON_TOKEN_AUDIENCE: not set, but provider scitokens makes scitoken:2.0 tokens, which must have an audience (the Python credmon writes no token at all then)',
      'CFG:5 LOCAL_CREDMON_PUBLIC_KEY: "keys/scitokens.pem" is a relative path',
      'CFG:9 LOCAL_CREDMON_TOKEN_USE_JSON: "sometimes" is not a boolean',
      'undefined CLIENT_CREDMON_robot_CLIENT_ID: not set: client-credentials provider robot needs a client id',
      'undefined CLIENT_CREDMON_robot_CLIENT_SECRET_FILE: not set: client-credentials provider robot needs a file holding its client secret',
      'CFG:17 BOX_RETURN_URL_SUFFIX: "return/box" must start with "/"',
      'CFG:16 BOX_TOKEN_URL: "nowhere" is not a URL',
    ]);
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.equal(err.exitCode, 99);
    assert.match(
      err.message,
      /^17 problems in the HTCondor configuration:\n {2}SEC_CREDENTIAL_DIRECTORY_OAUTH: not set/,
    );
    const audience = err.problems.find((p) => p.knob === 'LOCAL_CREDMON_TOKEN_AUDIENCE');
    assert.match(audience?.hint ?? '', /set LOCAL_CREDMON_TOKEN_AUDIENCE = https:\/\/your\.storage\.example/);
    assert.match(err.hint ?? '', /use feature : OAUTH/);
  });

  it('never shows a URL that may hold credentials', async () => {
    const lines = await problems(
      `${BASE}BOX_CLIENT_ID = b\nBOX_TOKEN_URL = https://u:hunter2@issuer.example/token\nBOX_ISSUER = ftp://u:hunter2@x\n`,
    );
    assert.deepEqual(lines, [
      '2 problems in the HTCondor configuration:',
      'CFG:3: BOX_TOKEN_URL: must not hold credentials (user:password@)',
      'CFG:4: BOX_ISSUER: the URL given (not shown: it may hold credentials) is not an http(s) URL',
    ]);
  });

  it('refuses relative paths given on the command line and a macro cycle in a knob it reads', async () => {
    const lines = await problems(
      `${BASE}LOCAL_CREDMON_PROVIDER_NAMES = $(A)\nA = $(B)\nB = $(LOCAL_CREDMON_PROVIDER_NAMES)\n`,
    );
    assert.deepEqual(lines, [
      'CFG:2: LOCAL_CREDMON_PROVIDER_NAMES: $(LOCAL_CREDMON_PROVIDER_NAMES) refers to itself: LOCAL_CREDMON_PROVIDER_NAMES -> A -> B -> LOCAL_CREDMON_PROVIDER_NAMES',
    ]);
    let err: CredmonConfigError | undefined;
    try {
      await load(BASE, {}, { credDir: 'rel/dir', logFile: 'rel.log' });
    } catch (e) {
      err = e as CredmonConfigError;
    }
    assert.deepEqual(
      err?.problems.map((p) => `${p.knob}: ${p.message}`),
      ['--cred-dir: "rel/dir" is a relative path', '--log-file: "rel.log" is a relative path'],
    );
  });

  it('warns, as the Python credmon, when two credmons name the same provider', async () => {
    const { warnings } = await load(
      `${BASE}LOCAL_CREDMON_PROVIDER_NAMES = shared\nLOCAL_CREDMON_TOKEN_VERSION = wlcg\nOAUTH2_CREDMON_PROVIDER_NAMES = shared other\n`,
    );
    assert.ok(
      warnings.some((w) =>
        w.endsWith(
          'OAUTH2_CREDMON_PROVIDER_NAMES: provider shared is named by both the local and the oauth2 credmon; continuing anyway',
        ),
      ),
      warnings.join('\n'),
    );
  });
});
